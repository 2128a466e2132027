"""The client: submit, status, result, cancel, and ``run()`` = submit + wait, for any generated model.

```python
client = runcomfy.Client()                      # token from RUNCOMFY_API_TOKEN
result = client.run(edit.Input(prompt="...", image_urls=["https://..."]), timeout=600)
handle = client.submit(edit.Input(...)); handle.status(); handle.cancel(); handle.result(timeout=60)
handle = client.get_request(request_id, model=edit)   # resume from a stored id
```

Nothing touches the network until a call is made; ``requests`` is imported then.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, TypeVar

from ._http import RetryPolicy, Transport, download, logger
from ._polling import DurationMemory, PollSchedule
from ._types import ModelInput
from .errors import JobCancelledError, JobFailedError, RunComfyError, TimeoutError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_WAIT_TIMEOUT",
    "Client",
    "JobStatus",
    "ModelInput",
    "RequestHandle",
    "Result",
    "default_client",
]

DEFAULT_BASE_URL = "https://model-api.runcomfy.net"
DEFAULT_WAIT_TIMEOUT = 900.0
"""The overall deadline of ``run()`` and ``result()`` when none is given: 15 minutes."""

SUCCEEDED = frozenset({"succeeded", "completed"})
FAILED = frozenset({"failed", "error"})
CANCELLED = frozenset({"cancelled", "canceled"})

O = TypeVar("O")  # noqa: E741 - the Output type of a model


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
        paths = []
        for key, index, url in self.files():
            suffix = Path(url.split("?", 1)[0]).suffix[:8] or ".bin"
            path = Path(directory) / f"{self.request_id}_{key}_{index}{suffix}"
            download(url, path)
            paths.append(path)
        return paths


class RequestHandle(Generic[O]):
    """A submitted job. Plain data (request id, model id): keep ``request_id`` to resume it anywhere
    with ``Client().get_request(request_id, model=...)``."""

    def __init__(self, client: Client, request_id: str, model_id: str | None, output: type[O] | None) -> None:
        self.client = client
        self.request_id = request_id
        self.model_id = model_id
        self._output = output

    def __repr__(self) -> str:
        return f"RequestHandle(request_id={self.request_id!r}, model_id={self.model_id!r})"

    def status(self) -> JobStatus:
        """``GET /status``: ``in_queue`` (with ``queue_position``), ``in_progress``, ``completed``, ..."""
        return self.client.status(self.request_id)

    def cancel(self) -> str:
        """Ask the API to cancel: ``"cancelled"`` for a queued job, else ``"not_cancellable"``."""
        return self.client.cancel(self.request_id)

    def result(
        self, *, timeout: float | None = None, on_update: Callable[[JobStatus], None] | None = None
    ) -> Result[O]:
        """Wait for the job (polling ``/result``) and return its output; see :meth:`Client.wait`."""
        return self.client.wait(self, timeout=timeout, on_update=on_update)


_default: Client | None = None
_default_lock = threading.Lock()


def default_client() -> Client:
    """The client the per-model functions use without ``client=``: made on first use from the
    environment (``RUNCOMFY_API_TOKEN``, ``RUNCOMFY_BASE_URL``)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Client()
        return _default


class Client:
    """A connection to the RunComfy Model API.

    ``token`` defaults to ``$RUNCOMFY_API_TOKEN``, ``base_url`` to ``$RUNCOMFY_BASE_URL`` or
    ``https://model-api.runcomfy.net``. ``timeout`` bounds each HTTP call (reading; ``connect_timeout``
    opening the connection); ``max_retries`` and ``retry`` set the retries; ``wait_timeout`` is the
    default overall deadline of ``run()``/``result()``; ``poll`` the polling schedule.
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        max_retries: int = 3,
        retry: RetryPolicy | None = None,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
        poll: PollSchedule | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        token = token if token is not None else os.environ.get("RUNCOMFY_API_TOKEN")
        if not token:
            raise RunComfyError(
                "no API token: pass Client(token=...) or set RUNCOMFY_API_TOKEN (RunComfy dashboard → API keys)"
            )
        base_url = base_url or os.environ.get("RUNCOMFY_BASE_URL") or DEFAULT_BASE_URL
        policy = retry or RetryPolicy(max_retries=max_retries)
        self._transport = Transport(
            token, base_url, timeout=timeout, connect_timeout=connect_timeout, retry=policy, sleep=sleep
        )
        self.wait_timeout = wait_timeout
        self.poll = poll or PollSchedule()
        self.durations = DurationMemory()
        self._sleep = sleep

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, token=***)"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections (a later call opens new ones)."""
        self._transport.close()

    # --- the four endpoints -----------------------------------------------------------------------

    def submit(self, input: ModelInput[O]) -> RequestHandle[O]:
        """``POST /v1/models/{model_id}`` with the input's JSON body; returns at once."""
        model_id = type(input)._model_id
        body, _ = self._transport.call("POST", f"/v1/models/{model_id}", body=input.to_dict())
        request_id = body.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            from .errors import ServerError

            raise ServerError("the submit answer has no request_id", body=body)
        logger.info("submitted %s as %s", model_id, request_id)
        return RequestHandle(self, request_id, model_id, type(input)._output)

    def status(self, request_id: str) -> JobStatus:
        body, _ = self._transport.call("GET", f"/v1/requests/{request_id}/status", request_id=request_id)
        return _status(request_id, body, 0.0)

    def cancel(self, request_id: str) -> str:
        body, _ = self._transport.call("POST", f"/v1/requests/{request_id}/cancel", request_id=request_id)
        return str(body.get("outcome") or body.get("status") or "unknown")

    def get_request(self, request_id: str, *, model: ModuleType | str | None = None) -> RequestHandle[Any]:
        """A handle on an existing job, e.g. in another process. ``model`` (a generated module or a model
        id) types its output; without it, results come back as plain dicts."""
        if isinstance(model, str):
            from .models import load

            model = load(model)
        output = getattr(model, "Output", None) if model is not None else None
        return RequestHandle(self, request_id, getattr(model, "MODEL_ID", None), output)

    # --- waiting ----------------------------------------------------------------------------------

    def run(
        self,
        input: ModelInput[O],
        *,
        timeout: float | None = None,
        on_update: Callable[[JobStatus], None] | None = None,
    ) -> Result[O]:
        """Submit and wait: the job's typed result, or a typed error (see :meth:`wait`)."""
        started = time.monotonic()
        handle = self.submit(input)
        return self.wait(handle, timeout=timeout, on_update=on_update, started=started)

    def wait(
        self,
        handle: RequestHandle[O],
        *,
        timeout: float | None = None,
        on_update: Callable[[JobStatus], None] | None = None,
        started: float | None = None,
    ) -> Result[O]:
        """Poll ``/result`` until the job ends, then return its :class:`Result`.

        Raises :class:`JobFailedError`, :class:`JobCancelledError`, or, when ``timeout`` seconds
        (default ``wait_timeout``) pass first, :class:`runcomfy.TimeoutError`, after cancelling the job if
        it is still queued. ``on_update`` gets a :class:`JobStatus` at each change of state or position.
        """
        limit = self.wait_timeout if timeout is None else timeout
        begin = time.monotonic() if started is None else started
        deadline = begin + limit
        request_id = handle.request_id
        expected = self.durations.expected(handle.model_id) if handle.model_id else None
        polls, changed_at, hint = 0, begin, 0.0
        last: JobStatus | None = None
        while True:
            now = time.monotonic()
            delay = self.poll.next_delay(polls=polls, in_state=now - changed_at, elapsed=now - begin, expected=expected)
            delay = min(max(delay, hint), max(0.0, deadline - now))  # the server's Retry-After wins
            if delay > 0:
                self._sleep(delay)
            body, retry_after = self._transport.call(
                "GET", f"/v1/requests/{request_id}/result", request_id=request_id, deadline=deadline
            )
            polls, hint = polls + 1, retry_after or 0.0
            current = _status(request_id, body, time.monotonic() - begin)
            if last is None or (current.status, current.queue_position) != (last.status, last.queue_position):
                if last is None or current.status != last.status:
                    changed_at = time.monotonic()
                logger.debug("%s: %s (position %s)", request_id, current.status, current.queue_position)
                if on_update is not None:
                    on_update(current)
            last = current
            if current.status in SUCCEEDED:
                if handle.model_id:  # the server's own timing when it gives one: ours includes our delay
                    took = _server_duration(body)
                    self.durations.record(handle.model_id, took if took is not None else time.monotonic() - begin)
                return self._result(handle, body)
            if current.status in FAILED:
                raise JobFailedError(request_id, body.get("error"), body)
            if current.status in CANCELLED:
                raise JobCancelledError(request_id)
            if time.monotonic() >= deadline:
                self._expire(handle, last, limit)

    def _expire(self, handle: RequestHandle[Any], last: JobStatus | None, limit: float) -> None:
        status = last.status if last else None
        cancelled = False
        if status in (None, "in_queue"):
            try:
                cancelled = self.cancel(handle.request_id) == "cancelled"
            except RunComfyError as exc:  # the deadline error below matters more
                logger.info("cancel of %s after the deadline failed: %s", handle.request_id, exc)
        raise TimeoutError(handle.request_id, limit, status=status, cancelled=cancelled)

    @staticmethod
    def _result(handle: RequestHandle[O], body: Mapping[str, Any]) -> Result[O]:
        output_type = handle._output
        raw_output = body.get("output")
        output: Any = output_type.from_dict(raw_output) if output_type is not None else raw_output  # type: ignore[attr-defined]
        return Result(
            request_id=handle.request_id,
            model_id=handle.model_id,
            output=output,
            status=str(body.get("status")),
            created_at=body.get("created_at"),
            finished_at=body.get("finished_at"),
            raw=dict(body),
        )


def _status(request_id: str, body: Mapping[str, Any], elapsed: float) -> JobStatus:
    position = body.get("queue_position")
    return JobStatus(
        request_id=str(body.get("request_id") or request_id),
        status=str(body.get("status") or "unknown").lower(),
        queue_position=position if isinstance(position, int) and not isinstance(position, bool) else None,
        elapsed=elapsed,
        raw=body,
    )


def _server_duration(body: Mapping[str, Any]) -> float | None:
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
