"""The client's decisions, without any I/O: shared by :class:`runcomfy.Client` (``requests``) and
:class:`runcomfy.AsyncClient` (``httpx``), whose own code only sends, receives and sleeps.

- the API paths of the four queue calls;
- what an answer means (:func:`parse_answer`: the JSON object, or a typed error) and which errors
  are worth a retry (:class:`Attempts`: one call and its retries: timeouts from the deadline,
  ``Retry-After``, backoff, never a blind retry of a submit);
- whether a transport exception proves the request never left (:func:`never_sent`);
- the JSON bytes of a request body (:func:`encode_body`: a value JSON cannot carry is a
  :class:`ValidationError` before anything is sent) and what an error may say (:func:`redact`: never
  the token);
- waiting for a job (:class:`Waiter`: the next poll delay, state changes for ``on_update``, success,
  failure, cancellation, deadline, learning durations, the typed :class:`Result`);
- the data of a request handle (:class:`HandleBase`: ``to_dict``/``from_dict``, picklable).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

from ._polling import DurationMemory, PollSchedule
from .errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ErrorDetail,
    InsufficientBalanceError,
    InvalidInputError,
    JobCancelledError,
    JobFailedError,
    NotFoundError,
    RateLimitError,
    RunComfyError,
    ServerError,
    SubmitUncertainError,
    TimeoutError,
    ValidationError,
)

__all__ = [
    "BODY_GRACE",
    "CANCELLED",
    "CANCEL_GRACE",
    "DEFAULT_BASE_URL",
    "FAILED",
    "SUCCEEDED",
    "Attempts",
    "HandleBase",
    "JobStatus",
    "Result",
    "RetryPolicy",
    "Waiter",
    "api_error",
    "encode_body",
    "logger",
    "never_sent",
    "parse_answer",
    "redact",
]

DEFAULT_BASE_URL = "https://model-api.runcomfy.net"
CANCEL_GRACE = 0.5
"""Seconds the cancel of a still-queued job may take once a wait's deadline has passed."""
BODY_GRACE = 0.25
"""Seconds an answer whose status line has arrived may take past its call's deadline to finish arriving:
a complete answer (the poll that sees a job succeed) is not thrown away for a few milliseconds."""
SUCCEEDED = frozenset({"succeeded", "completed"})
FAILED = frozenset({"failed", "error"})
CANCELLED = frozenset({"cancelled", "canceled"})

O = TypeVar("O")  # noqa: E741 - the Output type of a model


logger = logging.getLogger("runcomfy")


# --- the paths of the queue calls ---------------------------------------------------------------------


def submit_path(model_id: str) -> str:
    return f"/v1/models/{model_id}"


def status_path(request_id: str) -> str:
    return f"/v1/requests/{request_id}/status"


def result_path(request_id: str) -> str:
    return f"/v1/requests/{request_id}/result"


def cancel_path(request_id: str) -> str:
    return f"/v1/requests/{request_id}/cancel"


def request_headers(token: str) -> dict[str, str]:
    """The headers of every API call (and of no download: outputs never see the token)."""
    return {"Authorization": f"Bearer {token}", "User-Agent": "runcomfy-python"}


JSON_HEADERS = {"Content-Type": "application/json"}
"""The headers of a call that carries a body (:func:`encode_body`'s bytes)."""


def encode_body(body: Mapping[str, Any] | None) -> bytes | None:
    """The JSON bytes of a request body (``None`` for none), made before anything is sent: a value JSON
    cannot carry (NaN, an infinity, an object that is not JSON data, a cycle) is a :class:`ValidationError`
    naming where it is, not a transport error after the connection was opened."""
    if body is None:
        return None
    try:
        return json.dumps(body, allow_nan=False, separators=(",", ":")).encode()
    except (TypeError, ValueError, RecursionError):
        raise ValidationError([_unsendable(body)]) from None


def _unsendable(body: object) -> ErrorDetail:
    """Where the first value JSON cannot carry is in ``body``, and why."""
    pending: list[tuple[tuple[str | int, ...], object, frozenset[int]]] = [((), body, frozenset())]
    while pending:
        path, value, parents = pending.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return ErrorDetail(path, value, "a finite number (JSON has no NaN or infinity)")
        if value is None or isinstance(value, (str, int, float)):
            continue
        if id(value) in parents:
            return ErrorDetail(path, "<cycle>", "JSON data (this value contains itself)")
        inside = parents | {id(value)}
        if isinstance(value, Mapping):
            for key, item in reversed(list(value.items())):
                if not (key is None or isinstance(key, (str, int, float))):
                    return ErrorDetail((*path, str(key)), key, "a string key")
                pending.append(((*path, key if isinstance(key, str) else str(key)), item, inside))
        elif isinstance(value, (list, tuple)):
            pending += [((*path, index), item, inside) for index, item in reversed(list(enumerate(value)))]
        else:
            return ErrorDetail(path, value, "JSON data (a string, number, boolean, null, array or object)")
    return ErrorDetail((), body, "JSON data that can be sent")  # pragma: no cover - json.dumps agreed with us


_BEARER = re.compile(r"(?i)\bbearer\b[^'\"\n]*")


def redact(text: str, secret: str | None) -> str:
    """``text`` (an HTTP library's error message) without ``secret`` (as is, or escaped as in a repr) and
    without any ``Bearer ...`` value: what it says may go into an exception, a log, a journal. (A secret
    under 8 characters is cut only as a ``Bearer`` value: cutting it everywhere would garble the text.)"""
    if secret and len(secret) >= 8:
        for form in {secret, repr(secret)[1:-1], repr(secret.encode("utf-8", "replace"))[2:-1]}:
            text = text.replace(form, "***")
    return _BEARER.sub("Bearer ***", text)


def submitted_id(body: Mapping[str, Any]) -> str:
    """The ``request_id`` of a submit answer (a :class:`ServerError` when it has none)."""
    request_id = body.get("request_id")
    if not isinstance(request_id, str) or not request_id:
        raise ServerError("the submit answer has no request_id", body=body)
    return request_id


def cancel_outcome(body: Mapping[str, Any]) -> str:
    return str(body.get("outcome") or body.get("status") or "unknown")


# --- jobs and results ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class JobStatus:
    """One observation of a job: its ``status`` (as the API words it), queue position, and time.

    ``elapsed`` is seconds since this client submitted (or started waiting for) the job.
    """

    request_id: str
    status: str
    queue_position: int | None = None
    elapsed: float = 0.0
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    @property
    def done(self) -> bool:
        return self.status in SUCCEEDED or self.status in FAILED or self.status in CANCELLED


def job_status(request_id: str, body: Mapping[str, Any], elapsed: float = 0.0) -> JobStatus:
    position = body.get("queue_position")
    return JobStatus(
        request_id=str(body.get("request_id") or request_id),
        status=str(body.get("status") or "unknown").lower(),
        queue_position=position if isinstance(position, int) and not isinstance(position, bool) else None,
        elapsed=elapsed,
        raw=body,
    )


@dataclasses.dataclass
class Result(Generic[O]):
    """A finished, successful job: its typed ``output`` and the API's answer."""

    request_id: str
    model_id: str | None
    output: O
    status: str = "succeeded"
    created_at: str | None = None
    finished_at: str | None = None
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    def files(self) -> list[tuple[str, int, str]]:
        """``(output key, index, url)`` for every output file."""
        found: list[tuple[str, int, str]] = []
        output = self.raw.get("output")
        for key, value in output.items() if isinstance(output, Mapping) else ():
            urls = value if isinstance(value, list) else [value]
            found += [(key, n, url) for n, url in enumerate(urls) if isinstance(url, str) and "://" in url]
        return found

    def save(self, directory: str | os.PathLike[str] = ".") -> list[Path]:
        """Download every output file into ``directory`` as ``<request_id>_<key>_<n>.<ext>``; returns
        the paths. Downloads are streamed, written atomically, and never carry the API token."""
        from ._http import download

        targets = self.targets(directory)
        for url, path in targets:
            download(url, path)
        return [path for _, path in targets]

    def targets(self, directory: str | os.PathLike[str] = ".") -> list[tuple[str, Path]]:
        """``(url, path)`` for every output file: where :meth:`save` puts it."""
        found = []
        for key, index, url in self.files():
            suffix = Path(url.split("?", 1)[0]).suffix[:8] or ".bin"
            found.append((url, Path(directory) / f"{self.request_id}_{key}_{index}{suffix}"))
        return found


def make_result(request_id: str, model_id: str | None, output_type: Any, body: Mapping[str, Any]) -> Result[Any]:
    raw_output = body.get("output")
    return Result(
        request_id=request_id,
        model_id=model_id,
        output=output_type.from_dict(raw_output) if output_type is not None else raw_output,
        status=str(body.get("status")),
        created_at=body.get("created_at"),
        finished_at=body.get("finished_at"),
        raw=dict(body),
    )


def server_duration(body: Mapping[str, Any]) -> float | None:
    """``finished_at`` − ``created_at`` of a result, in seconds, when both are ISO-8601 timestamps."""
    from datetime import datetime

    try:
        created, finished = (
            datetime.fromisoformat(str(body[key]).replace("Z", "+00:00")) for key in ("created_at", "finished_at")
        )
        seconds = (finished - created).total_seconds()
    except (KeyError, TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


def learned_duration(body: Mapping[str, Any], observed: float) -> float:
    """How long a finished job took, to learn from: the server's own timing (:func:`server_duration`,
    which leaves out our polling delay) when it agrees with ``observed``, the seconds this client saw
    between submitting (or starting to wait) and the answer; else ``observed``. The job ran inside what
    we observed, so a server duration longer than that (with 10% and 1 s for rounding) is a skewed or
    wrong timestamp, and is ignored."""
    took = server_duration(body)
    if took is None or took > observed * 1.1 + 1.0:
        return observed
    return took


# --- request handles as data ---------------------------------------------------------------------------


def handle_fields(data: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    """``(request_id, model_id, base_url)`` of a handle's ``to_dict()`` data."""
    model_id, base_url = data.get("model_id"), data.get("base_url")
    return (
        str(data["request_id"]),
        None if model_id is None else str(model_id),
        None if base_url is None else str(base_url),
    )


def _restore_handle(cls: Any, data: dict[str, Any]) -> Any:
    return cls.from_dict(data)


class HandleBase(Generic[O]):
    """What a submitted job is: its ``request_id``, ``model_id`` and the API ``base_url``, plain data.

    ``to_dict()``/``from_dict()`` store and restore it (JSON-ready); pickling keeps the data, not the
    client: a restored handle uses the client given to ``from_dict`` (or set as ``handle.client``),
    else the default client of that base URL, made from the environment on first use.
    """

    def __init__(
        self, client: Any, request_id: str, model_id: str | None, output: type[O] | None, *, base_url: str | None = None
    ) -> None:
        self._client = client
        self.request_id = request_id
        self.model_id = model_id
        self.base_url: str = (base_url or (client.base_url if client is not None else DEFAULT_BASE_URL)).rstrip("/")
        self._output = output

    @property
    def output_type(self) -> type[O] | None:
        """The model's ``Output`` class (found from ``model_id`` for a restored handle), or ``None``."""
        if self._output is None and self.model_id:
            from .models import MODELS, load

            if self.model_id in MODELS:
                self._output = getattr(load(self.model_id), "Output", None)
        return self._output

    def to_dict(self) -> dict[str, Any]:
        """``{"request_id", "model_id", "base_url"}``: the handle as JSON-ready data."""
        return {"request_id": self.request_id, "model_id": self.model_id, "base_url": self.base_url}

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore_handle, (type(self), self.to_dict()))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HandleBase):
            return NotImplemented
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.request_id, self.base_url))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(request_id={self.request_id!r}, model_id={self.model_id!r})"


# --- answers → JSON or typed errors ------------------------------------------------------------------


def _message(body: object) -> str:
    if isinstance(body, Mapping):
        for key in ("error_message", "message", "error", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, list) and value:
                return "; ".join(
                    str(item.get("msg", item)) if isinstance(item, Mapping) else str(item) for item in value
                )
    if isinstance(body, str) and body.strip():  # a text answer (a proxy's or a crashed server's page)
        return " ".join(body.split())[:500]
    return "the API answered with an error"


def error_code_of(body: object) -> int | None:
    if isinstance(body, Mapping):
        code = body.get("error_code")
        if isinstance(code, int) and not isinstance(code, bool):
            return code
        if isinstance(code, str) and code.isdigit():
            return int(code)
    return None


def api_error(status: int, body: object, *, request_id: str | None, retry_after: float | None = None) -> APIError:
    """The typed error for an answer: by RunComfy's ``error_code`` first, then by HTTP status."""
    code = error_code_of(body)
    cls: type[APIError]
    if code in (400004, 403001) or status in (401, 403):
        cls = AuthenticationError
    elif code == 400002 or status == 402:
        cls = InsufficientBalanceError
    elif code in (400001, 404001) or status == 404:
        cls = NotFoundError
    elif status == 429:
        cls = RateLimitError
    elif status >= 500:
        cls = ServerError
    elif status in (400, 422) or code == 422:
        cls = InvalidInputError
    else:
        cls = APIError
    return cls(
        _message(body), status_code=status, error_code=code, request_id=request_id, body=body, retry_after=retry_after
    )


def retry_after_of(headers: Mapping[str, str]) -> float | None:
    """The ``Retry-After`` header in seconds (delta-seconds or an HTTP date), or ``None``."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def parse_answer(
    status: int, content: bytes, *, request_id: str | None, retry_after: float | None = None
) -> dict[str, Any] | APIError:
    """An HTTP answer's meaning: its JSON object, or the typed error it stands for (an error status, an
    answer that is not a JSON object, or HTTP 200 carrying an ``error_code``)."""
    try:
        body: Any = json.loads(content)
    except ValueError:  # not JSON (or not text)
        body = content[:4000].decode("utf-8", "replace")[:2000]
        if status < 400:
            return ServerError(
                "the API answered with something that is not JSON", status_code=status, request_id=request_id, body=body
            )
    if status >= 400:
        return api_error(status, body, request_id=request_id, retry_after=retry_after)
    if not isinstance(body, dict):
        return ServerError(
            "the API answered with JSON that is not an object", status_code=status, request_id=request_id, body=body
        )
    code = error_code_of(body)
    if code not in (None, 0):  # HTTP 200 carrying an error body
        return api_error(
            429 if code == 429 else 400, body, request_id=request_id or body.get("request_id"), retry_after=retry_after
        )
    return body


def never_sent(
    exc: BaseException, proof: tuple[type[BaseException], ...], against: tuple[type[BaseException], ...]
) -> bool:
    """Whether a transport exception proves the request never reached the server: one of ``proof``
    (connection refused, name not resolved, connect timeout) is found in it or its causes before any of
    ``against`` (a connection that broke or timed out after sending). Each HTTP library names its own."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, proof):
            return True
        if isinstance(current, against):
            return False
        pending += [getattr(current, "reason", None), current.__cause__, current.__context__]
        pending += [arg for arg in current.args if isinstance(arg, BaseException)]
    return False


# --- one call and its retries ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How failed calls are retried: ``max_retries`` more attempts, exponential backoff from
    ``backoff`` seconds up to ``max_backoff``, with full jitter; a server's ``Retry-After`` is honoured
    up to ``max_retry_after`` seconds."""

    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        import random

        ceiling = min(self.max_backoff, self.backoff * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)


class Attempts:
    """One API call and its retries, as decisions. A transport drives it::

        attempts = Attempts(method, path, ...)
        while True:
            connect, read = attempts.start()              # the timeouts of this attempt
            try: <send, with those timeouts>
            except <transport error> as exc:
                attempts.failed(exc, never_sent=...)       # raises, or sets attempts.pause
            else:
                body = attempts.answered(status, headers, content)
                if body is not None:
                    return body, attempts.retry_after
            <sleep attempts.pause>

    GETs and cancels are retried on connection errors, timeouts, 429 and 5xx. A submit (a POST without
    a ``request_id``) is retried only when the server refused it (429, 503) or the request provably never
    left; any other failure after sending (a broken connection, a timeout, another 5xx, a garbled 200)
    raises :class:`SubmitUncertainError`. ``deadline`` (a ``time.monotonic()``
    value) bounds the attempts, their timeouts and the pauses between them; without one, the call and its
    retries get ``timeout`` seconds in all (so no call outlives its budget, even against a server that
    never answers).
    """

    __slots__ = (
        "attempt",
        "connect_timeout",
        "deadline",
        "method",
        "path",
        "pause",
        "policy",
        "request_id",
        "retry_after",
        "started",
        "submit",
        "timeout",
    )

    def __init__(
        self,
        method: str,
        path: str,
        *,
        request_id: str | None,
        deadline: float | None,
        policy: RetryPolicy,
        timeout: float,
        connect_timeout: float,
    ) -> None:
        self.method = method
        self.path = path
        self.request_id = request_id
        self.deadline = time.monotonic() + timeout if deadline is None else deadline
        self.policy = policy
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.submit = method == "POST" and request_id is None
        self.attempt = 0
        self.pause = 0.0
        self.retry_after: float | None = None
        self.started = 0.0

    def start(self) -> tuple[float, float]:
        """Begin an attempt: its ``(connect, read)`` timeouts, cut to what is left of the deadline."""
        self.started = now = time.monotonic()
        read = max(0.05, min(self.timeout, self.deadline - now))
        return (min(self.connect_timeout, read), read)

    def answered(self, status: int, headers: Mapping[str, str], content: bytes) -> dict[str, Any] | None:
        """The answer's JSON object; or ``None``: retry after ``pause``; or raises its typed error."""
        logger.debug("%s %s -> %s in %.3fs", self.method, self.path, status, time.monotonic() - self.started)
        self.retry_after = retry_after_of(headers)
        parsed = parse_answer(status, content, request_id=self.request_id, retry_after=self.retry_after)
        if not isinstance(parsed, Exception):
            return parsed
        if self.submit and 200 <= status < 300 and error_code_of(getattr(parsed, "body", None)) is None:
            raise SubmitUncertainError(  # a success status with a garbled body: the job most likely exists
                f"submit to {self.path} answered HTTP {status} with a body that is not a submit answer: "
                "the job may exist, so it was not retried"
            )
        refused = isinstance(parsed, RateLimitError) or status == 503  # the server says it did not take it
        if self.submit and isinstance(parsed, ServerError) and not refused:
            raise SubmitUncertainError(  # a gateway's 502/504, or a 500, may come after the job was made
                f"submit to {self.path} failed: {parsed}; the job may exist, so it was not retried"
            ) from parsed  # the server's error (its body) as the cause
        if not isinstance(parsed, (RateLimitError, ServerError)) or (self.submit and not refused):
            raise parsed
        self._again(parsed)
        return None

    @property
    def answer_deadline(self) -> float:
        """Until when an answer whose status line has arrived may finish arriving (:data:`BODY_GRACE`
        past the deadline): a complete answer is used, not thrown away at the deadline."""
        return self.deadline + BODY_GRACE

    def failed(self, exc: BaseException, *, never_sent: bool, secret: str) -> None:
        """A transport exception (``never_sent``: it proves the request never left): raises the error
        to report, or sets ``pause`` before the next attempt. The exception's text is the HTTP
        library's: ``secret`` (the token) and any ``Bearer ...`` value are cut out of it (:func:`redact`)."""
        self.retry_after = None
        name = type(exc).__name__
        logger.info("%s %s failed after %.3fs: %s", self.method, self.path, time.monotonic() - self.started, name)
        if self.submit and not never_sent:
            raise SubmitUncertainError(
                f"submit to {self.path} failed after the request may have reached the server "
                f"({name}): the job may exist, so it was not retried"
            ) from None
        text = redact(f"{self.method} {self.path} failed: {name}: {exc}", secret)
        self._again(APIConnectionError(text, request_id=self.request_id))

    def _again(self, error: Exception) -> None:
        if self.attempt >= self.policy.max_retries:
            raise error from None
        pause = self.policy.delay(self.attempt, self.retry_after)
        if time.monotonic() + pause >= self.deadline:
            raise error from None
        self.attempt += 1
        self.pause = pause
        logger.info("retrying %s %s in %.2fs (attempt %d)", self.method, self.path, pause, self.attempt + 1)


# --- waiting for a job -----------------------------------------------------------------------------


class Waiter(Generic[O]):
    """Waiting for one job, as decisions. A client drives it::

        waiter = Waiter(handle, limit=..., begin=..., poll=..., durations=...)
        while True:
            <sleep waiter.delay()>
            try: body, retry_after = <GET waiter.path, bounded by waiter.deadline>
            except RunComfyError as error: waiter.poll_failed(error)   # re-raised unless past the deadline
            else: ...observe, finish...
            update = waiter.observe(body, retry_after)   # a JobStatus when state or position changed
            <call on_update(update) when not None>
            result = waiter.finish()                     # the Result, or raises a job error, or None
            if result is not None: return result
            if waiter.expired():
                <cancel the job if waiter.should_cancel>
                raise waiter.timeout(cancelled)

    The sync and the async clients differ only in how they sleep, call and await.
    """

    def __init__(
        self, handle: HandleBase[O], *, limit: float, begin: float, poll: PollSchedule, durations: DurationMemory
    ) -> None:
        self.request_id = handle.request_id
        self.model_id = handle.model_id
        self.output_type = handle.output_type
        self.limit = limit
        self.begin = begin
        self.deadline = begin + limit
        self.path = result_path(handle.request_id)
        self.poll = poll
        self.durations = durations
        self.expected = durations.expected(handle.model_id) if handle.model_id else None
        self.polls = 0
        self.changed_at = begin
        self.hint = 0.0
        self.last: JobStatus | None = None
        self.body: Mapping[str, Any] = {}

    def delay(self) -> float:
        """Seconds to wait before the next poll: the schedule's, or the server's ``Retry-After`` when
        longer, never past the deadline."""
        now = time.monotonic()
        delay = self.poll.next_delay(
            polls=self.polls, in_state=now - self.changed_at, elapsed=now - self.begin, expected=self.expected
        )
        return min(max(delay, self.hint), max(0.0, self.deadline - now))

    def observe(self, body: Mapping[str, Any], retry_after: float | None) -> JobStatus | None:
        """Take in one ``/result`` answer; the new :class:`JobStatus` when the state or position changed."""
        now = time.monotonic()
        self.polls, self.hint, self.body = self.polls + 1, retry_after or 0.0, body
        current, last = job_status(self.request_id, body, now - self.begin), self.last
        self.last = current
        if last is not None and (current.status, current.queue_position) == (last.status, last.queue_position):
            return None
        if last is None or current.status != last.status:
            self.changed_at = now
        logger.debug("%s: %s (position %s)", self.request_id, current.status, current.queue_position)
        return current

    def finish(self) -> Result[O] | None:
        """After :meth:`observe`: the :class:`Result` of a job that succeeded (its duration learned),
        :class:`JobFailedError` / :class:`JobCancelledError` raised for one that did not, else ``None``."""
        status = self.last.status if self.last is not None else None
        body = self.body
        if status in SUCCEEDED:
            if self.model_id:
                self.durations.record(self.model_id, learned_duration(body, time.monotonic() - self.begin))
            result: Result[O] = make_result(self.request_id, self.model_id, self.output_type, body)
            return result
        if status in FAILED:
            raise JobFailedError(self.request_id, body.get("error"), body)
        if status in CANCELLED:
            raise JobCancelledError(self.request_id)
        return None

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def poll_failed(self, error: RunComfyError) -> None:
        """A poll that failed (its retries spent): past the deadline it is the deadline that matters, so
        return and let the caller raise :meth:`timeout` (after a cancel); before it, raise ``error``."""
        if not self.expired() or not isinstance(error, (APIConnectionError, ServerError, RateLimitError)):
            raise error

    @property
    def should_cancel(self) -> bool:
        """At the deadline: cancel the job only while it is (as far as we know) still queued."""
        return self.last is None or self.last.status == "in_queue"

    def timeout(self, cancelled: bool) -> TimeoutError:
        status = self.last.status if self.last is not None else None
        return TimeoutError(self.request_id, self.limit, status=status, cancelled=cancelled)
