"""``runcomfy``: the command line of the RunComfy Model API client.

::

    runcomfy models [--search TEXT] [--json]
    runcomfy describe MODEL_ID [--json]
    runcomfy run MODEL_ID [field flags] [--input FILE.json | --input -] [--out DIR] [--json] [--quiet] [--timeout S]
    runcomfy submit MODEL_ID [field flags] [--input FILE.json | --input -] [--json]
    runcomfy status ID [--json]
    runcomfy result ID [--out DIR] [--json]
    runcomfy wait ID [--out DIR] [--json] [--quiet] [--timeout S]
    runcomfy cancel ID
    runcomfy batch MODEL_ID INPUTS.jsonl --out DIR [--concurrency N] [--retry-errors] [--retry-uncertain] [--json] [-q]
    runcomfy emulator [--port 8787] [--catalog DIR]

``runcomfy run MODEL_ID --help`` lists the model's fields as flags (``image_urls`` → ``--image-urls``).
A media field given a local path sends the file inline as a ``data:`` URI.

Configuration: ``--token`` or ``$RUNCOMFY_API_TOKEN``; ``--base-url`` or ``$RUNCOMFY_BASE_URL``.

Exit codes: 0 success, 1 result asked for a job not finished yet, 2 usage or validation error,
3 API error, 4 job failed (batch: an input ended in an error), 5 job cancelled, 6 timeout, 130 interrupted
(Ctrl-C), 143 terminated (SIGTERM, handled as Ctrl-C is).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from . import _cost_cli
from ._signals import INTERRUPTS, exit_code, sigterm_raises
from .errors import (
    InvalidIdError,
    JobCancelledError,
    JobFailedError,
    RunComfyError,
    TimeoutError,
    ValidationError,
)

if TYPE_CHECKING:
    from types import ModuleType

    from .client import Client, JobStatus, Result

__all__ = ["main"]

EXIT_OK = 0
EXIT_NOT_FINISHED = 1
EXIT_USAGE = 2
EXIT_API = 3
EXIT_FAILED = 4
EXIT_CANCELLED = 5
EXIT_TIMEOUT = 6
# interrupted: 130 (Ctrl-C) or 143 (SIGTERM), from _signals.exit_code

EPILOG = """exit codes:
  0    success
  1    `result` of a job that has not finished yet
  2    usage or validation error, a malformed request id (nothing was sent)
  3    API error (authentication, not found, rate limit, server, connection, an answer refused as
       malformed or unsafe, an output that could not be downloaded or would replace a file)
  4    the job failed (batch: some input ended in an error)
  5    the job was cancelled
  6    timeout (a still-queued job is cancelled)
  130  interrupted (Ctrl-C; a queued job is cancelled)
  143  terminated (SIGTERM, handled as Ctrl-C: a queued job is cancelled, a batch stops cleanly)

configuration: --token or $RUNCOMFY_API_TOKEN, --base-url or $RUNCOMFY_BASE_URL
  (before or after COMMAND: runcomfy --token T status ID)"""


RESERVED = frozenset(
    {"input", "out", "overwrite", "download-timeout", "json", "quiet", "timeout", "token", "base-url", "help"}
)


class UsageError(Exception):
    """A mistake of the user's, reported with exit code 2."""


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    raise SystemExit(_report(message, code))


def _report(message: str, code: int) -> int:
    print(f"runcomfy: {_printable(message, lines=True)}", file=sys.stderr)
    return code


# Characters that would act on a terminal rather than show: C0 and C1 controls (ESC starts escape
# sequences, OSC sets titles...), DEL, and the bidi marks, embeddings, overrides and isolates.
_CONTROLS = r"\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{_CONTROLS}]")
_CONTROL_BUT_NEWLINE = re.compile(f"(?!\n)[{_CONTROLS}]")


def _printable(text: object, *, lines: bool = False) -> str:
    """Schema text (or a message holding some) as it may reach a terminal: runs of whitespace as one space
    (with ``lines``, newlines kept), every other control character escaped (``\\x1b``, ``\\u202e``)."""
    if lines:
        return _CONTROL_BUT_NEWLINE.sub(_escape, str(text))
    return _CONTROL.sub(_escape, " ".join(str(text).split()))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# --- argument parsers --------------------------------------------------------------------------------


def _connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument("--token", help="API token (default: $RUNCOMFY_API_TOKEN)")
    group.add_argument("--base-url", help="API base URL (default: $RUNCOMFY_BASE_URL or the RunComfy API)")


def _wait_options(parser: argparse.ArgumentParser, *, wait: bool = True) -> None:
    parser.add_argument("--out", metavar="DIR", help="download the outputs into DIR and print their paths")
    download_options(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    if wait:
        parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
        parser.add_argument("--timeout", type=float, metavar="S", help="give up after S seconds (default 900)")


def download_options(parser: argparse.ArgumentParser) -> None:
    """``--overwrite`` and ``--download-timeout``: how outputs are saved (``run``, ``wait``, ``result``, ``batch``)."""
    parser.add_argument("--overwrite", action="store_true", help="replace files already in DIR (default: refuse)")
    parser.add_argument(
        "--download-timeout", type=float, metavar="S", help="give up on one output file after S seconds (default 600)"
    )


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runcomfy",
        description="Run RunComfy models from the command line.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from ._version import __version__

    parser.add_argument("--version", "-V", action="version", version=f"runcomfy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    models = sub.add_parser("models", help="list the models")
    models.add_argument("--search", metavar="TEXT", help="only models whose id or name contains TEXT")
    models.add_argument("--json", action="store_true", help="print JSON")
    describe = sub.add_parser("describe", help="show a model's input fields")
    describe.add_argument("model", metavar="MODEL_ID")
    describe.add_argument("--json", action="store_true", help="print the model's input JSON Schema")
    for name, text in (("run", "submit a job and wait for its result"), ("submit", "submit a job, print its id")):
        command = sub.add_parser(name, help=text, description=f"{text}; `runcomfy {name} MODEL_ID --help` lists fields")
        command.add_argument("model", metavar="MODEL_ID")
    status = sub.add_parser("status", help="show a job's status")
    status.add_argument("request_id", metavar="ID")
    status.add_argument("--json", action="store_true", help="print JSON")
    _connection_options(status)
    result = sub.add_parser("result", help="print (and download) a finished job's result")
    result.add_argument("request_id", metavar="ID")
    _wait_options(result, wait=False)
    _connection_options(result)
    wait = sub.add_parser("wait", help="wait for a job, then print (and download) its result")
    wait.add_argument("request_id", metavar="ID")
    _wait_options(wait)
    _connection_options(wait)
    cancel = sub.add_parser("cancel", help="cancel a queued job")
    cancel.add_argument("request_id", metavar="ID")
    _connection_options(cancel)
    from . import _batch_cli

    _connection_options(_batch_cli.add_parser(sub))
    sub.add_parser("emulator", help="run a local emulator of the API (runcomfy emulator --help)", add_help=False)
    return parser


_NOT_IN_FLAG = re.compile(r"[^\w.-]+")  # runs of what a flag does not hold (spaces, =, %, brackets, controls)


def _field_flags(properties: Mapping[str, Any]) -> dict[str, str]:
    """JSON field name → its flag (``image_urls`` → ``--image-urls``), each flag unique, in schema order.

    Characters a flag cannot hold become ``-``; a reserved option's name gets ``--field-`` (``--field-input``).
    A field whose flag is taken by an earlier one (``a-b`` and ``a_b``, or a boolean's ``--no-x``) gets its
    original spelling (``--a_b``), else the first free numbered flag (``--a-b-2``). Any field can also be
    given with ``--input``.
    """
    taken = {f"--{name}" for name in RESERVED}
    flags: dict[str, str] = {}
    for name, prop in properties.items():
        boolean = isinstance(prop, Mapping) and prop.get("type") == "boolean"
        flag = next(flag for flag in _flag_candidates(name) if not taken & _option_strings(flag, boolean=boolean))
        taken |= _option_strings(flag, boolean=boolean)
        flags[name] = flag
    return flags


def _flag_candidates(name: str) -> Iterator[str]:
    """The flags ``name`` may get, best first (the caller takes the first one still free)."""
    base = _NOT_IN_FLAG.sub("-", name.replace("_", "-")).strip("-") or "field"
    first = f"--field-{base}" if base in RESERVED else f"--{base}"
    yield first
    original = _NOT_IN_FLAG.sub("-", name).strip("-")
    if original:
        yield f"--{original}"
    for number in itertools.count(2):
        yield f"{first}-{number}"


def _option_strings(flag: str, *, boolean: bool) -> set[str]:
    """The options a field's flag adds: a boolean's ``--x`` also adds ``--no-x``."""
    return {flag, f"--no-{flag[2:]}"} if boolean else {flag}


def _scalar_type(schema: Mapping[str, Any]) -> Any:
    """Text → the field's type where it converts; otherwise the text itself, so that the model's
    ``Input`` rejects it with the same message as in Python (``expected an integer, got 'abc'``)."""
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if any(isinstance(value, int) and not isinstance(value, bool) for value in schema.get("enum") or ()):
        kinds.append("integer")

    def convert(text: str) -> Any:
        for kind, cast in (("integer", int), ("number", float)):
            if kind in kinds:
                try:
                    return cast(text)
                except ValueError:
                    pass
        return text

    return convert


_PLAIN_CHOICE = re.compile(r"[A-Za-z0-9_.:+/@-]+")


def _choices_metavar(schema: Mapping[str, Any]) -> str | None:
    """``{auto,16:9,...}`` for an enum of plain words: shown like argparse's choices, checked by the model's
    Input; ``CHOICE`` when a value holds anything else (argparse's usage line breaks on brackets, spaces...)."""
    choices = schema.get("enum")
    if not choices:
        return None
    if all(_is_plain(choice) for choice in choices):
        return "{" + ",".join(str(choice) for choice in choices) + "}"
    return "CHOICE"


def _is_plain(choice: object) -> bool:
    return isinstance(choice, (str, int, float)) and _PLAIN_CHOICE.fullmatch(str(choice)) is not None


def _choice_text(choice: object) -> str:
    """An enum value in help text: as is when plain, else as JSON (``""``, ``"a b"``)."""
    return str(choice) if _is_plain(choice) else json.dumps(choice, ensure_ascii=False)


def _metavar(schema: Mapping[str, Any]) -> str:
    if _media_kind(schema):
        return "URL|PATH"
    kind = (schema.get("items") or {}).get("type") if schema.get("type") == "array" else schema.get("type")
    return {"integer": "INT", "number": "NUM"}.get(str(kind), "TEXT")


def _field_help(schema: Mapping[str, Any], required: bool) -> str:
    parts = [str(schema.get("description") or schema.get("title") or "")]
    choices = schema.get("enum") or (schema.get("items") or {}).get("enum")
    if choices:
        parts.append(f"(choices: {', '.join(_choice_text(choice) for choice in choices)})")
    if "default" in schema:  # on a required field the API page's default is an example, never applied
        parts.append(f"({'example' if required else 'default'}: {json.dumps(schema['default'])})")
    if "minimum" in schema or "maximum" in schema:
        parts.append(f"(range: {schema.get('minimum', '')}..{schema.get('maximum', '')})")
    if required:
        parts.append("[required]")
    return _printable(" ".join(part for part in parts if part)).replace("%", "%%")  # argparse %-formats help


def _model_parser(command: str, module: ModuleType) -> tuple[argparse.ArgumentParser, dict[str, str]]:
    """The parser of ``runcomfy run|submit MODEL_ID``; also returns dest → JSON field name."""
    schema: Mapping[str, Any] = module.INPUT_SCHEMA
    parser = argparse.ArgumentParser(
        prog=f"runcomfy {command} {module.MODEL_ID}",
        description=f"{'Run' if command == 'run' else 'Submit'} {module.MODEL_ID}. Flags override --input.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--input", metavar="FILE", help="JSON object of input fields (- reads stdin)")
    if command == "run":
        _wait_options(parser)
        _cost_cli.add_estimate_flag(parser)
    else:
        parser.add_argument("--json", action="store_true", help="print the handle as JSON")
    _connection_options(parser)
    fields = parser.add_argument_group("model fields")
    required = set(schema.get("required") or ())
    properties: Mapping[str, Any] = schema.get("properties") or {}
    flags = _field_flags(properties)
    dests: dict[str, str] = {}
    for name, prop in properties.items():
        dest = f"field_{len(dests)}"
        dests[dest] = name
        text = _field_help(prop, name in required)
        kind = prop.get("type")
        if kind == "boolean":
            fields.add_argument(flags[name], dest=dest, action=argparse.BooleanOptionalAction, default=None, help=text)
        elif kind == "array":
            items = prop.get("items") or {}
            fields.add_argument(
                flags[name],
                dest=dest,
                nargs="+",
                type=_scalar_type(items),
                metavar=_choices_metavar(items) or _metavar(prop),
                help=text,
            )
        else:
            fields.add_argument(
                flags[name],
                dest=dest,
                type=_scalar_type(prop),
                metavar=_choices_metavar(prop) or _metavar(prop),
                help=text,
            )
    return parser, dests


# --- models --------------------------------------------------------------------------------------------


def _load_model(model_id: str) -> ModuleType:
    import difflib

    from .models import CATALOG, load

    if model_id not in CATALOG:
        close = difflib.get_close_matches(model_id, list(CATALOG), n=3, cutoff=0.5)
        if not close:  # e.g. only the last segments typed
            close = [known for known in CATALOG if model_id.lower() in known.lower()][:3]
        hint = f"; did you mean: {', '.join(close)}?" if close else "; `runcomfy models` lists them"
        _fail(f"unknown model {model_id!r}{hint}")
    return load(model_id)


def _cmd_models(args: argparse.Namespace) -> int:
    from .models import CATALOG

    text = (args.search or "").lower()
    rows = [
        (model_id, info)
        for model_id, info in CATALOG.items()
        if text in model_id.lower() or text in (info.display_name or "").lower()
    ]
    if args.json:
        data = [
            {
                "model_id": model_id,
                "display_name": info.display_name,
                "output_type": info.output_type,
                "required": list(info.required),
                "pricing": _cost_cli.price_json(info.pricing),
            }
            for model_id, info in rows
        ]
        print(json.dumps(data, indent=2))
        return EXIT_OK
    width = max((len(model_id) for model_id, _ in rows), default=0)
    prices = {model_id: _printable(_cost_cli.price_text(info.pricing)) for model_id, info in rows}
    price_width = max((len(price) for price in prices.values()), default=0)
    for model_id, info in rows:
        required = _printable(", ".join(info.required)) or "-"
        print(
            f"{_printable(model_id):<{width}}  {_printable(info.output_type or '-'):<5}  "
            f"{prices[model_id]:<{price_width}}  required: {required}"
        )
    return EXIT_OK


def _type_text(schema: Mapping[str, Any]) -> str:
    kind = str(schema.get("type") or "any")
    if kind == "array":
        kind = f"array of {(schema.get('items') or {}).get('type', 'any')}"
    fmt = schema.get("format") or (schema.get("items") or {}).get("format")
    return _printable(f"{kind}, {fmt}" if fmt else kind)


def _cmd_describe(args: argparse.Namespace) -> int:
    from .models import CATALOG

    module = _load_model(args.model)
    schema: Mapping[str, Any] = module.INPUT_SCHEMA
    if args.json:
        print(json.dumps(schema, indent=2))
        return EXIT_OK
    info = CATALOG[args.model]
    print(_printable(f"{args.model}: {info.display_name or ''} ({info.output_type or 'unknown output'})"))
    required = set(schema.get("required") or ())
    properties: Mapping[str, Any] = schema.get("properties") or {}
    flags = _field_flags(properties)
    for name, prop in properties.items():
        print(f"\n  {_printable(name)} ({_type_text(prop)}{', required' if name in required else ''})  {flags[name]}")
        if prop.get("description"):
            print(f"      {_printable(prop['description'])}")
        choices = prop.get("enum") or (prop.get("items") or {}).get("enum")
        if choices:
            print(f"      allowed: {', '.join(json.dumps(choice) for choice in choices)}")
        limits = [
            f"{key} {prop[key]}" for key in ("minimum", "maximum", "minItems", "maxItems", "maxLength") if key in prop
        ]
        if limits:
            print(f"      limits: {_printable(', '.join(limits))}")
        if "default" in prop:  # on a required field the API page's default is an example, never applied
            label = "example" if name in required else "default"
            print(f"      {label}: {json.dumps(prop['default'])}")
    return EXIT_OK


# --- input -----------------------------------------------------------------------------------------------


def _media_kind(schema: Mapping[str, Any]) -> str | None:
    for fmt in (schema.get("format"), (schema.get("items") or {}).get("format")):
        if isinstance(fmt, str) and fmt.endswith(("_uri", "_uris")):
            return fmt.split("_", 1)[0]
    return None


def _inline(value: object, kind: str) -> object:
    """A local path → a ``pathlib.Path``, which the model's ``Input`` sends as a ``data:`` URI (checking
    its type, the inline size limits and the model's RunComfy validations); anything else unchanged."""
    if not isinstance(value, str) or "://" in value or value.startswith("data:"):
        return value
    if not os.path.isfile(value):
        raise UsageError(f"{value!r} is neither a URL nor a readable file")
    import pathlib

    return pathlib.Path(value)


def _build_input(module: ModuleType, args: argparse.Namespace, dests: Mapping[str, str]) -> Any:
    data: dict[str, Any] = {}
    if args.input:
        try:
            if args.input == "-":
                loaded = json.load(sys.stdin)
            else:
                with open(args.input, encoding="utf-8") as file:
                    loaded = json.load(file)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read --input {args.input}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise UsageError(f"--input {args.input} must hold a JSON object")
        data.update(loaded)
    for dest, name in dests.items():
        value = getattr(args, dest)
        if value is not None:
            data[name] = value
    properties: Mapping[str, Any] = module.INPUT_SCHEMA.get("properties") or {}
    for name, value in list(data.items()):
        kind = _media_kind(properties.get(name) or {})
        if kind is not None:
            data[name] = [_inline(item, kind) for item in value] if isinstance(value, list) else _inline(value, kind)
    return module.Input.from_dict(data)


# --- the API -----------------------------------------------------------------------------------------------


def _client(args: argparse.Namespace, *, first_poll: float = 0.5) -> Client:
    from ._polling import PollSchedule
    from .client import Client

    return Client(token=_token(args), base_url=args.base_url, poll=PollSchedule(first=first_poll, learn=False))


def _token(args: argparse.Namespace) -> str:
    """``--token`` or ``$RUNCOMFY_API_TOKEN``; a usage error without either."""
    token: str | None = args.token or os.environ.get("RUNCOMFY_API_TOKEN")
    if not token:
        raise UsageError("no API token: pass --token TOKEN or set RUNCOMFY_API_TOKEN (RunComfy dashboard → API keys)")
    return token


class Progress:
    """The job's state on stderr: a live line on a terminal, a line per change otherwise, or nothing.

    On a terminal the line is a rich spinner when rich is installed (`pip install runcomfy[cli]`; imported
    only here, once waiting starts), else a plain line rewritten in place with `\\r`.
    """

    def __init__(self, request_id: str, *, quiet: bool) -> None:
        self.request_id = request_id
        self.quiet = quiet
        self.live = not quiet and sys.stderr.isatty()
        self.started = time.monotonic()
        self.state = "submitted"
        self.position: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop_spinner: Callable[[], None] | None = None

    def __enter__(self) -> Progress:
        if self.live:
            self._stop_spinner = self._start_spinner()
            if self._stop_spinner is None:
                self._thread = threading.Thread(target=self._tick, daemon=True)
                self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._stop_spinner is not None:
            self._stop_spinner()
        if self._thread is not None:
            self._thread.join()
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()

    def _start_spinner(self) -> Callable[[], None] | None:
        """Start a rich spinner on stderr showing `_line()`; return its stop function, or None without rich."""
        try:
            from rich.console import Console
            from rich.live import Live
            from rich.spinner import Spinner
            from rich.text import Text
        except ImportError:
            return None
        spinner = Spinner("dots", style="cyan")

        def render() -> Spinner:  # called on each refresh, so the elapsed time runs
            spinner.update(text=Text(self._line()))
            return spinner

        live = Live(
            console=Console(stderr=True),
            get_renderable=render,
            refresh_per_second=10,
            transient=True,  # the spinner is erased when waiting ends
            redirect_stdout=False,  # stdout carries the result: never send it to the terminal's stderr
        )
        live.start()
        return live.stop

    def _line(self) -> str:
        where = f", position {self.position}" if self.position is not None else ""
        return f"{self.request_id}: {self.state}{where}, {time.monotonic() - self.started:.1f} s"

    def _tick(self) -> None:
        while not self._stop.wait(0.2):
            sys.stderr.write(f"\r\x1b[K{self._line()}")
            sys.stderr.flush()

    def update(self, status: JobStatus) -> None:
        self.state, self.position = status.status, status.queue_position
        if not self.quiet and not self.live:
            print(self._line(), file=sys.stderr, flush=True)


def _wait(client: Client, request_id: str, model_id: str | None, args: argparse.Namespace) -> int:
    handle = client.get_request(request_id, model=model_id)
    progress = Progress(request_id, quiet=args.quiet)
    try:
        with progress:
            result = client.wait(handle, timeout=args.timeout, on_update=progress.update)
    except INTERRUPTS as interrupt:
        try:
            outcome = client.cancel(request_id)
        except (RunComfyError, *INTERRUPTS) as exc:
            outcome = f"cancel failed: {exc}"
        if outcome == "cancelled":
            print(f"runcomfy: interrupted; job {request_id} was cancelled", file=sys.stderr)
        else:
            print(
                f"runcomfy: interrupted; job {request_id} was not cancelled ({outcome}); "
                f"`runcomfy wait {request_id}` resumes",
                file=sys.stderr,
            )
        return exit_code(interrupt)
    return _print_result(result, args)


def save_options(args: argparse.Namespace) -> dict[str, Any]:
    """``Result.save``'s keywords from :func:`download_options`' flags."""
    from ._core import DOWNLOAD_TIMEOUT

    return {"overwrite": args.overwrite, "timeout": args.download_timeout or DOWNLOAD_TIMEOUT}


def _print_result(result: Result[Any], args: argparse.Namespace) -> int:
    paths: list[str] = []
    if args.out:
        try:
            os.makedirs(args.out, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create --out {args.out}: {exc.strerror or exc}") from None
        paths = [str(path) for path in result.save(args.out, **save_options(args))]
    if args.json:
        data = {
            "request_id": result.request_id,
            "status": result.status,
            "output": result.raw.get("output"),
            "paths": paths,
            "cost": result.cost,
        }
        print(json.dumps(data, indent=2))
        return EXIT_OK
    if not getattr(args, "quiet", False):
        _cost_cli.report_cost(result)
    if paths:
        print("\n".join(paths))
    else:
        urls = [_printable(url) for _, _, url in result.files()]
        print("\n".join(urls) if urls else json.dumps(result.raw.get("output"), indent=2))
    return EXIT_OK


def _cmd_model(command: str, argv: Sequence[str]) -> int:
    module = _load_model(argv[0])
    parser, dests = _model_parser(command, module)
    args = parser.parse_args(argv[1:])
    input = _build_input(module, args, dests)
    if command == "run" and args.estimate:
        return _print_estimate(module, input, args)
    client = _client(args)
    try:
        handle = client.submit(input)
    except INTERRUPTS as interrupt:
        return _report("interrupted while submitting; the job may exist", exit_code(interrupt))
    if command == "submit":
        if args.json:
            print(json.dumps({"request_id": handle.request_id, "model_id": handle.model_id}))
        else:
            print(handle.request_id)
        return EXIT_OK
    if not args.quiet:
        print(f"runcomfy: submitted {handle.request_id}", file=sys.stderr, flush=True)
    return _wait(client, handle.request_id, handle.model_id, args)


def _print_estimate(module: ModuleType, input: Any, args: argparse.Namespace) -> int:
    """``run --estimate``: the estimated cost, nothing submitted."""
    if args.json:
        print(json.dumps(_cost_cli.estimate_json(module, input), indent=2))
        return EXIT_OK
    line, why = _cost_cli.estimate_text(module, input)
    print(line)
    if why is not None:
        print(f"runcomfy: {_printable(why)}", file=sys.stderr)
    return EXIT_OK


def _cmd_status(args: argparse.Namespace) -> int:
    status = _client(args).status(args.request_id)
    if args.json:
        print(json.dumps(dict(status.raw)))
    else:
        where = f" (position {status.queue_position})" if status.queue_position is not None else ""
        print(f"{status.status}{where}")
    return EXIT_OK


def _cmd_result(args: argparse.Namespace) -> int:
    client = _client(args, first_poll=0.0)
    status = client.status(args.request_id)
    if status.status in ("in_queue", "in_progress", "queued", "running"):
        print(f"runcomfy: job {args.request_id} is {status.status}; `runcomfy wait {args.request_id}` waits for it")
        return EXIT_NOT_FINISHED
    args.quiet, args.timeout = True, 60.0
    return _wait(client, args.request_id, None, args)


def _cmd_wait(args: argparse.Namespace) -> int:
    return _wait(_client(args, first_poll=0.0), args.request_id, None, args)


def _cmd_cancel(args: argparse.Namespace) -> int:
    print(_client(args).cancel(args.request_id))
    return EXIT_OK


def _cmd_batch(args: argparse.Namespace) -> int:
    from . import _batch_cli

    return _batch_cli.run(args)


COMMANDS = {
    "models": _cmd_models,
    "describe": _cmd_describe,
    "status": _cmd_status,
    "result": _cmd_result,
    "wait": _cmd_wait,
    "cancel": _cmd_cancel,
    "batch": _cmd_batch,
}


def _dispatch(argv: list[str]) -> int:
    while argv and argv[0].split("=", 1)[0] in ("--token", "--base-url"):  # connection options before COMMAND
        option, _, value = argv.pop(0).partition("=")
        if not value:
            if not argv:
                raise UsageError(f"{option} needs a value")
            value = argv.pop(0)
        os.environ["RUNCOMFY_API_TOKEN" if option == "--token" else "RUNCOMFY_BASE_URL"] = value
    if argv and argv[0] == "emulator":
        from .testing.__main__ import main as emulator

        return emulator(argv[1:])
    if len(argv) >= 2 and argv[0] in ("run", "submit") and not argv[1].startswith("-"):
        return _cmd_model(argv[0], argv[1:])
    args = _top_parser().parse_args(argv)
    if args.command in ("run", "submit"):  # only reached with a model id that looks like a flag
        _fail(f"usage: runcomfy {args.command} MODEL_ID [flags]")
    return COMMANDS[args.command](args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    # The first matching class decides the exit code (RunComfyError, the base, last).
    exits: tuple[tuple[type[Exception], int], ...] = (
        (UsageError, EXIT_USAGE),
        (ValidationError, EXIT_USAGE),
        (InvalidIdError, EXIT_USAGE),
        (JobFailedError, EXIT_FAILED),
        (JobCancelledError, EXIT_CANCELLED),
        (TimeoutError, EXIT_TIMEOUT),
        (RunComfyError, EXIT_API),
    )
    try:
        with sigterm_raises():  # SIGTERM (docker stop, systemd, timeout) takes the Ctrl-C paths below
            return _dispatch(list(sys.argv[1:] if argv is None else argv))
    except (UsageError, RunComfyError) as exc:
        return _report(str(exc), next(code for cls, code in exits if isinstance(exc, cls)))
    except INTERRUPTS as interrupt:
        return _report("interrupted", exit_code(interrupt))
    except BrokenPipeError:  # e.g. `runcomfy models | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":  # python -m runcomfy.cli: run the imported module, so its classes are the only ones
    from runcomfy.cli import main as _main

    sys.exit(_main())
