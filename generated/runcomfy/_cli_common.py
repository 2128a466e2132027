"""What ``runcomfy``'s commands share (``cli`` and ``_batch_cli`` both import it; it imports neither).

- the exit codes (sysexits, as RunComfy's own CLI) and :func:`exit_code_of`, mapping every error onto them;
- the CLI's own errors (:class:`UsageError` and its siblings, each with its exit code);
- :class:`Parser`: argparse without abbreviations, whose mistakes are usage errors with a "did you mean";
- :func:`find_token` and :func:`find_base_url`: the token and API base URL from flags, environment, token file;
- :func:`load_model`, :func:`printable`, and the download flags.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from .errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadAnswerError,
    DownloadError,
    InvalidIdError,
    JobCancelledError,
    JobFailedError,
    OutputExistsError,
    RateLimitError,
    ServerError,
    SubmitUncertainError,
    TimeoutError,
    ValidationError,
)

if TYPE_CHECKING:
    from types import ModuleType

__all__ = [
    "EX_DATAERR",
    "EX_FAILED",
    "EX_IOERR",
    "EX_NOINPUT",
    "EX_NOPERM",
    "EX_OK",
    "EX_TEMPFAIL",
    "EX_UNAVAILABLE",
    "EX_USAGE",
    "CLIError",
    "DataError",
    "NoInputError",
    "NoTokenError",
    "Parser",
    "SaveError",
    "UnavailableError",
    "UsageError",
    "exit_code_of",
    "find_base_url",
    "find_token",
    "load_model",
    "printable",
]

# --- exit codes -------------------------------------------------------------------------------------------

EX_OK = 0
EX_FAILED = 1  # the job failed or was cancelled; a submit whose fate is unknown; anything unclassified
EX_USAGE = 64  # bad command line (unknown flag or command, missing or malformed argument)
EX_DATAERR = 65  # bad input data (JSON, schema), or the API refused the request (4xx: not found, balance...)
EX_NOINPUT = 66  # a local input file does not exist or cannot be read
EX_UNAVAILABLE = 69  # the API failed (5xx, unreachable, a malformed answer); httpx missing for `batch`
EX_IOERR = 74  # the job succeeded but its outputs were not saved (refused host, download failed, disk)
EX_TEMPFAIL = 75  # retryable: the wait timed out, rate limited (429), request timeout (408)
EX_NOPERM = 77  # no token, or the API refused the token (401/403)
# interrupted: 130 (Ctrl-C) or 143 (SIGTERM), from _signals.exit_code

EXIT_CODES_HELP = """exit codes (sysexits, as RunComfy's own CLI):
  0    success (also `result` of a job not finished yet: its record says so)
  1    the job failed or was cancelled; a submit that may or may not have made a job
  64   usage: unknown command or flag, bad or missing argument (nothing was sent)
  65   bad input data: malformed JSON, input not matching the model's schema, unknown model
       (nothing was sent), or the API refused the request (HTTP 4xx: not found, no balance...)
  66   a local input file (--input-file, a media file, the batch inputs) does not exist
  69   the API failed or could not be reached (HTTP 5xx, connection, a malformed answer)
  74   the job succeeded but its outputs were not saved (host refused, download failed)
  75   retryable: --timeout passed (a still-queued job is cancelled), rate limited (429)
  77   no API token, or the API refused it (401/403)
  130  interrupted (Ctrl-C; a queued job is cancelled)
  143  terminated (SIGTERM, handled as Ctrl-C)"""


class CLIError(Exception):
    """A mistake or refusal of the command line itself, reported with its :attr:`code` (no traceback)."""

    code = EX_FAILED


class UsageError(CLIError):
    """A bad command line: exit 64."""

    code = EX_USAGE


class DataError(CLIError):
    """Bad input data (malformed JSON, not an object, an unknown model): exit 65."""

    code = EX_DATAERR


class NoInputError(CLIError):
    """A local input file that does not exist or cannot be read: exit 66."""

    code = EX_NOINPUT


class UnavailableError(CLIError):
    """Something the command needs is missing (``httpx`` for ``batch``): exit 69."""

    code = EX_UNAVAILABLE


class SaveError(CLIError):
    """The outputs of a job that succeeded were not saved (a refused host, a folder not made): exit 74."""

    code = EX_IOERR


class NoTokenError(CLIError):
    """No API token anywhere, or one that cannot be sent: exit 77."""

    code = EX_NOPERM


def exit_code_of(error: BaseException) -> int:
    """The exit code of an error the command reports (the first rule that matches)."""
    if isinstance(error, CLIError):
        return error.code
    rules: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], int], ...] = (
        ((ValidationError, InvalidIdError), EX_DATAERR),  # refused before any call
        ((JobFailedError, JobCancelledError, SubmitUncertainError), EX_FAILED),
        ((TimeoutError, RateLimitError), EX_TEMPFAIL),
        (AuthenticationError, EX_NOPERM),
        ((DownloadError, OutputExistsError), EX_IOERR),
        ((ServerError, BadAnswerError, APIConnectionError), EX_UNAVAILABLE),
    )
    for kinds, code in rules:
        if isinstance(error, kinds):
            return code
    if isinstance(error, APIError):  # by HTTP status, as RunComfy's CLI
        status = error.status_code or 0
        if status in (401, 403):
            return EX_NOPERM
        if status in (408, 429):
            return EX_TEMPFAIL
        if status >= 500:
            return EX_UNAVAILABLE
        return EX_DATAERR if status >= 400 else EX_FAILED
    return EX_FAILED


# --- text for a terminal -------------------------------------------------------------------------------

# Characters that would act on a terminal rather than show: C0 and C1 controls (ESC starts escape
# sequences, OSC sets titles...), DEL, and the bidi marks, embeddings, overrides and isolates.
CONTROLS = r"\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{CONTROLS}]")
_CONTROL_BUT_NEWLINE = re.compile(f"(?!\n)[{CONTROLS}]")


def printable(text: object, *, lines: bool = False) -> str:
    """Text from a schema or the server as it may reach a terminal: runs of whitespace as one space (with
    ``lines``, newlines kept), every other control character escaped (``\\x1b``, ``\\u202e``)."""
    if lines:
        return _CONTROL_BUT_NEWLINE.sub(_escape, str(text))
    return _CONTROL.sub(_escape, " ".join(str(text).split()))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# --- the parser ------------------------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    """``argparse`` as the CLI needs it: no abbreviated options (``--num`` is not ``--num-images``), and
    every mistake a :class:`UsageError` (exit 64) naming the closest option or command."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.hint: str | None = None  # said after an unknown argument's message
        self.set_defaults(_parser=self)  # which (sub)parser parsed: its options are the suggestions

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            parser = getattr(parsed, "_parser", self)
            raise UsageError(parser.unknown_message(extras))
        return parsed

    def unknown_message(self, extras: Sequence[str]) -> str:
        """The message for arguments nobody took: each unknown option with its "did you mean"."""
        options = sorted(self._option_string_actions)
        notes = []
        for extra in extras:
            if not extra.startswith("-") or extra == "-":
                continue
            name = extra.split("=", 1)[0]
            close = suggestions(name, options)
            if close:
                notes.append(f"{name}: did you mean {' or '.join(close)}?")
        text = f"unrecognized arguments: {' '.join(extras)}"
        notes += [self.hint] if self.hint else []
        return "\n".join([text, *notes]) + f"\n(`{self.prog} --help` lists the options)"

    def error(self, message: str) -> NoReturn:
        choice = re.search(r"invalid choice: '([^']*)'", message)
        commands = self._commands()
        if choice and commands:
            close = suggestions(choice.group(1), commands)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise UsageError(f"unknown command {choice.group(1)!r}{hint} (commands: {', '.join(commands)})")
        raise UsageError(f"{message} (`{self.prog} --help`)")

    def _commands(self) -> list[str]:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return [name for name in action.choices if not name.startswith("_")]
        return []


def suggestions(word: str, candidates: Iterable[str]) -> list[str]:
    """Candidates ``word`` is a prefix of (an abbreviation), else the close ones (a typo), best first."""
    candidates = list(candidates)
    longer = [candidate for candidate in candidates if candidate.startswith(word) and candidate != word]
    if longer and len(word) > 2:
        return longer[:3]
    import difflib  # only on the error path

    return difflib.get_close_matches(word, candidates, n=3, cutoff=0.75)


# --- the model catalog ------------------------------------------------------------------------------------


def close_models(model_id: str) -> list[str]:
    """The catalog's model ids close to ``model_id`` (a typo, or only the last segments typed)."""
    import difflib

    from .models import CATALOG

    close = difflib.get_close_matches(model_id, list(CATALOG), n=3, cutoff=0.5)
    return close or [known for known in CATALOG if model_id.lower() in known.lower()][:3]


def load_model(model_id: str) -> ModuleType:
    """The generated module of a model of the catalog; :class:`DataError` (did you mean...) otherwise."""
    from .models import CATALOG, load

    if model_id not in CATALOG:
        close = close_models(model_id)
        hint = f"; did you mean: {', '.join(close)}?" if close else "; `runcomfy models` lists them"
        raise DataError(f"unknown model {model_id!r}{hint}")
    return load(model_id)


# --- token and base URL --------------------------------------------------------------------------------------

TOKEN_VARIABLES = ("RUNCOMFY_API_TOKEN", "RUNCOMFY_TOKEN")
"""Where the token is looked for after ``--token``, in this order (RunComfy's ComfyUI nodes' order)."""
TOKEN_FILE = "token.json"
MAX_TOKEN_FILE = 64 * 1024
NO_TOKEN = (
    "no API token: pass --token TOKEN, set RUNCOMFY_API_TOKEN (or RUNCOMFY_TOKEN), or sign in with "
    "RunComfy's own CLI (`runcomfy login` there writes {path}); tokens: RunComfy dashboard → API keys"
)


def config_dir() -> str:
    """RunComfy's CLI's config directory: ``$RUNCOMFY_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/runcomfy``,
    else ``~/.config/runcomfy`` (the same on every system)."""
    custom = os.environ.get("RUNCOMFY_CONFIG_DIR", "")
    if custom:
        return custom
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    return os.path.join(xdg, "runcomfy") if xdg else os.path.join(os.path.expanduser("~"), ".config", "runcomfy")


def token_file() -> str:
    """The token file ``runcomfy login`` (RunComfy's CLI) writes: ``<config dir>/token.json``."""
    return os.path.join(config_dir(), TOKEN_FILE)


def find_token(flag: str | None) -> tuple[str, str]:
    """``(token, where it came from)``: ``--token``, then ``$RUNCOMFY_API_TOKEN``, then ``$RUNCOMFY_TOKEN``
    (empty or blank values count as unset), then the token file's ``access_token``. :class:`NoTokenError`
    when none is found, or the one found cannot be sent (whitespace, control characters inside)."""
    found: tuple[str, str] | None = None
    if flag is not None and flag.strip():
        found = (flag.strip(), "--token")
    for name in TOKEN_VARIABLES:
        value = os.environ.get(name, "")
        if found is None and value.strip():
            found = (value.strip(), f"${name}")
    if found is None:
        found = _token_from_file(token_file())
    if found is None:
        raise NoTokenError(NO_TOKEN.format(path=token_file()))
    token, source = found
    if not (token.isascii() and token.isprintable()) or " " in token:
        raise NoTokenError(
            f"the API token from {source} ({len(token)} characters, not shown) has whitespace, control or "
            "non-ASCII characters inside it"
        )
    return token, source


def _token_from_file(path: str) -> tuple[str, str] | None:
    """The ``access_token`` of RunComfy's CLI's token file (JSON: ``access_token``, ``refresh_token``,
    ``expires_at``, ``user_email``), or ``None`` when there is no such file."""
    import json

    try:
        with open(path, "rb") as file:
            data = file.read(MAX_TOKEN_FILE + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise NoTokenError(f"cannot read the token file {path}: {exc.strerror or exc}") from None
    try:
        if len(data) > MAX_TOKEN_FILE:
            raise ValueError(f"over {MAX_TOKEN_FILE} bytes")
        token = json.loads(data).get("access_token")
    except (ValueError, AttributeError) as exc:
        raise NoTokenError(f"the token file {path} is not the JSON object `runcomfy login` writes: {exc}") from None
    if not isinstance(token, str) or not token.strip():
        raise NoTokenError(f"the token file {path} has no access_token")
    return token.strip(), path


MODEL_API_SUFFIX = "/v1"


def find_base_url(flag: str | None) -> str | None:
    """The API base URL: ``--base-url``, then ``$RUNCOMFY_BASE_URL``, then ``$RUNCOMFY_MODEL_API_BASE``
    (RunComfy's CLI's, which ends in ``/v1``: stripped, since this client adds ``/v1`` itself); ``None``
    for the default. :class:`UsageError` for a ``RUNCOMFY_MODEL_API_BASE`` not ending in ``/v1``."""
    for value in (flag, os.environ.get("RUNCOMFY_BASE_URL")):
        if value and value.strip():
            return value.strip()
    official = os.environ.get("RUNCOMFY_MODEL_API_BASE", "").strip().rstrip("/")
    if not official:
        return None
    if not official.endswith(MODEL_API_SUFFIX):
        raise UsageError(
            f"RUNCOMFY_MODEL_API_BASE={official!r} does not end in /v1 (e.g. https://model-api.runcomfy.net/v1); "
            "set RUNCOMFY_BASE_URL to the URL without /v1 instead"
        )
    return official[: -len(MODEL_API_SUFFIX)]


# --- download flags ----------------------------------------------------------------------------------------


def download_options(parser: argparse._ActionsContainer, *, clash: str) -> None:
    """``--overwrite`` and ``--download-timeout``: how outputs are saved (``run``, ``wait``, ``result``,
    ``batch``); ``clash`` says what happens to a file of the same name without ``--overwrite``."""
    parser.add_argument("--overwrite", action="store_true", help=f"replace files of the same name (default: {clash})")
    parser.add_argument(
        "--download-timeout", type=float, metavar="S", help="give up on one output file after S seconds (default 600)"
    )


def save_options(args: argparse.Namespace) -> dict[str, Any]:
    """``Result.save``'s keywords from :func:`download_options`' flags."""
    from ._core import DOWNLOAD_TIMEOUT

    return {"overwrite": args.overwrite, "timeout": args.download_timeout or DOWNLOAD_TIMEOUT}


def warn(message: str) -> None:
    """A note on stderr (``runcomfy: ...``)."""
    print(f"runcomfy: {printable(message, lines=True)}", file=sys.stderr, flush=True)
