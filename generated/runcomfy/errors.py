"""The exceptions of the ``runcomfy`` package, all under :class:`RunComfyError`."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "AuthenticationError",
    "BadAnswerError",
    "DownloadError",
    "ErrorDetail",
    "ForeignHandleError",
    "InsufficientBalanceError",
    "InvalidIdError",
    "InvalidInputError",
    "JobCancelledError",
    "JobFailedError",
    "NotFoundError",
    "OutputExistsError",
    "RateLimitError",
    "RunComfyError",
    "ServerError",
    "SubmitUncertainError",
    "TimeoutError",
    "ValidationError",
]

_MAX_VALUE_REPR = 80
UNKNOWN_FIELD = "unknown field"


class RunComfyError(Exception):
    """Base class of every error this package raises on purpose. Errors pickle whole (their message and
    attributes), so they cross processes: a process pool, a Dask or Ray worker."""

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_error, (type(self), self.args, self.__dict__))


def _rebuild_error(cls: type[RunComfyError], args: tuple[object, ...], state: dict[str, object]) -> RunComfyError:
    """An error as pickled, without calling its ``__init__`` (whose arguments are not its ``args``)."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class ErrorDetail:
    """One problem found while validating: where, what was given, and what was expected.

    ``path`` is a tuple of JSON keys and list indexes from the root of the input (``("image_urls", 2)``);
    ``value`` is the offending value itself; ``expected`` says in words what would have been valid.
    """

    __slots__ = ("_choices", "_expected", "path", "value")

    def __init__(
        self, path: Sequence[str | int], value: object, expected: str = "", *, choices: Sequence[object] = ()
    ) -> None:
        self.path: tuple[str | int, ...] = tuple(path)
        self.value = value
        self._expected = expected
        self._choices = choices  # for "one of ...": the text (with its "did you mean") is made when read

    @property
    def expected(self) -> str:
        if not self._expected and self._choices:
            self._expected = choices_text(self._choices, self.value)
        return self._expected

    @property
    def location(self) -> str:
        """The path as text: ``image_urls[2]``, ``loras[0].scale``, or ``<input>`` for the root."""
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        return text or "<input>"

    def prefixed(self, prefix: Sequence[str | int]) -> ErrorDetail:
        """The same detail, located below ``prefix``."""
        return ErrorDetail((*prefix, *self.path), self.value, self._expected, choices=self._choices)

    def __str__(self) -> str:
        if self.expected.startswith(UNKNOWN_FIELD):
            return f"{self.location}: {self.expected}"
        if self.value is MISSING:
            return f"{self.location}: missing, expected {self.expected}"
        return f"{self.location}: expected {self.expected}, got {describe_value(self.value)}"

    def __repr__(self) -> str:
        return f"ErrorDetail(path={self.path!r}, value={self.value!r}, expected={self.expected!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ErrorDetail):
            return NotImplemented
        return (self.path, self.expected) == (other.path, other.expected) and (
            self.value is other.value or self.value == other.value
        )

    __hash__ = None  # type: ignore[assignment]


class _Missing:
    """The value of an :class:`ErrorDetail` for a required field that was not given."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "nothing"


MISSING = _Missing()


def describe_value(value: object) -> str:
    """A short, safe rendering of a value for an error message (long values are cut)."""
    if value is MISSING:
        return "nothing"
    text = repr(value)
    if len(text) > _MAX_VALUE_REPR:
        text = text[: _MAX_VALUE_REPR - 15] + "..." + text[-12:]
    return f"{text} ({type(value).__name__})" if isinstance(value, (bool, float)) else text


def choices_text(values: Sequence[object], value: object) -> str:
    """``one of 'a', 'b', ...`` with a "did you mean" for a near miss."""
    shown = ", ".join(repr(v) if not isinstance(v, bool) else str(v).lower() for v in values[:12])
    if len(values) > 12:
        shown += f", ... ({len(values) - 12} more)"
    text = f"one of {shown}" if len(values) > 1 else shown
    hint = suggest(value, [v for v in values if isinstance(v, str)])
    return text + (f" (did you mean {hint!r}?)" if hint else "")


def suggest(value: object, candidates: Sequence[str]) -> str | None:
    """The candidate closest to ``value``, if one is close (same letters in another case, or difflib)."""
    if not isinstance(value, str) or not candidates:
        return None
    import difflib  # only on the error path

    lowered = {candidate.lower(): candidate for candidate in candidates}
    if value.lower() in lowered:
        return lowered[value.lower()]
    close = difflib.get_close_matches(value, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


class ValidationError(RunComfyError, ValueError):
    """An input did not match its model's schema. Raised before any network call.

    ``errors`` holds every problem found in one construction (not just the first), each an
    :class:`ErrorDetail` with ``path``, ``value`` and ``expected``.
    """

    def __init__(self, errors: Iterable[ErrorDetail], *, model: str | None = None) -> None:
        self.errors: list[ErrorDetail] = list(errors)
        self.model = model
        count = len(self.errors)
        super().__init__(f"{count} validation error{'s' if count != 1 else ''}" + (f" for {model}" if model else ""))

    def __str__(self) -> str:
        """Every error, one a line (made when read: raising and catching stays cheap)."""
        return "\n  ".join([f"{self.args[0]}:", *(str(error) for error in self.errors)])

    def prefixed(self, prefix: Sequence[str | int]) -> list[ErrorDetail]:
        """The errors, located below ``prefix`` (used when a nested object is validated)."""
        return [error.prefixed(prefix) for error in self.errors]


# --- errors of the HTTP API and of jobs ------------------------------------------------------------


class APIError(RunComfyError):
    """The API answered with an error (an HTTP error status, or HTTP 200 carrying an error body).

    ``status_code`` is the HTTP status, ``error_code`` RunComfy's numeric code when the body has one,
    ``request_id`` the job's id when the call concerned a job, ``body`` the parsed answer (or its text).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_code: int | None = None,
        request_id: str | None = None,
        body: object = None,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.error_code = error_code
        self.request_id = request_id
        self.body = body
        self.retry_after = retry_after
        details = [f"HTTP {status_code}" if status_code is not None else None]
        details += [f"error_code {error_code}" if error_code is not None else None]
        details += [f"request {request_id}" if request_id else None]
        shown = ", ".join(d for d in details if d)
        super().__init__(f"{message} ({shown})" if shown else message)


class AuthenticationError(APIError):
    """Missing, expired or revoked token, inactive account, or a resource of another user
    (HTTP 401/403, error codes 400004 and 403001)."""


class InsufficientBalanceError(APIError):
    """No balance left on the account (HTTP 402, error code 400002)."""


class NotFoundError(APIError):
    """Unknown model id or request id, or a request that expired (HTTP 404, error codes 400001, 404001)."""


class InvalidInputError(APIError):
    """The server rejected the input (HTTP 400/422). ``ValidationError`` catches most of these before
    any call; this one carries the server's own ``detail``."""


class RateLimitError(APIError):
    """Too many requests (HTTP 429), after the retries allowed. ``retry_after`` is the server's hint."""


class ServerError(APIError):
    """The API failed (HTTP 5xx, or an answer that is not the JSON it should be), after the retries."""


class BadAnswerError(ServerError):
    """The API answered with something this client refuses to act on: a request id that is not an id,
    JSON nested too deeply, an output "URL" that is not an ``http(s)`` URL. ``value`` is the offending
    value (the message shows it cut short). Nothing was written or requested with it."""

    def __init__(self, message: str, *, value: object = None, **fields: Any) -> None:
        self.value = value
        super().__init__(message, **fields)


class APIConnectionError(RunComfyError):
    """The API could not be reached, or the connection broke, after the retries allowed."""

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        self.request_id = request_id
        super().__init__(message)


class SubmitUncertainError(APIConnectionError):
    """A submit failed in a way that does not prove the server never received it: the job may exist
    (and be billed). It is not retried automatically; check your RunComfy dashboard before resubmitting."""


class InvalidIdError(RunComfyError, ValueError):
    """A request id or model id given to the client is not one the API issues (request ids: 1 to 128
    letters, digits, ``-``, ``_``; model ids: 2 to 5 segments of letters, digits, ``-``, ``.``, ``_``).
    Raised before any call; ``value`` is the id given."""

    def __init__(self, message: str, *, value: object) -> None:
        self.value = value
        super().__init__(message)


class ForeignHandleError(RunComfyError, ValueError):
    """A restored request handle names another API base URL than the client it would call through: the
    token is sent only to a base URL the caller configured. Pass ``client=`` for that URL explicitly (or
    set ``RUNCOMFY_BASE_URL``)."""

    def __init__(self, message: str, *, base_url: str, client_base_url: str) -> None:
        self.base_url = base_url
        self.client_base_url = client_base_url
        super().__init__(message)


class DownloadError(RunComfyError):
    """An output file was not downloaded: it was larger than allowed, took longer than allowed, was
    redirected to a refused URL, or the connection failed. No file was left behind. ``url`` is the
    output's URL without its query (which may hold a signature)."""

    def __init__(self, message: str, *, url: str) -> None:
        self.url = url
        super().__init__(message)


class OutputExistsError(RunComfyError, FileExistsError):
    """A file already exists where an output would be saved; it was left untouched. Pass
    ``overwrite=True`` (``--overwrite``) to replace it."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"{path} already exists; it was not overwritten (pass overwrite=True to replace it)")


class JobFailedError(RunComfyError):
    """The job ended ``failed``. ``error`` is the API's error value, whatever its shape."""

    def __init__(self, request_id: str, error: object, body: Mapping[str, Any] | None = None) -> None:
        self.request_id = request_id
        self.error = error
        self.body = body
        super().__init__(f"job {request_id} failed: {_error_text(error)}")


class JobCancelledError(RunComfyError):
    """The job ended ``cancelled`` (by this client or elsewhere)."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        super().__init__(f"job {request_id} was cancelled")


class TimeoutError(RunComfyError, builtins.TimeoutError):
    """The overall deadline of ``run()`` / ``result()`` passed. ``cancelled`` says whether the job,
    still queued, was cancelled; a job already running is left to finish and can be resumed by id."""

    def __init__(self, request_id: str | None, waited: float, *, status: str | None = None, cancelled: bool = False):
        self.request_id = request_id
        self.waited = waited
        self.status = status
        self.cancelled = cancelled
        state = f", last status {status}" if status else ""
        outcome = "; the queued job was cancelled" if cancelled else ""
        super().__init__(f"job {request_id} not finished after {waited:.1f} s{state}{outcome}")


def _error_text(error: object) -> str:
    if isinstance(error, Mapping):
        for key in ("message", "error_message", "detail", "error"):
            if isinstance(error.get(key), str):
                return str(error[key])
    return describe_value(error) if error is not None else "no error detail"
