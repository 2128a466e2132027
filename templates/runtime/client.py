"""The client: submit, status, result, cancel, and ``run()`` = submit + wait, for any generated model.

```python
client = runcomfy.Client()                      # token from RUNCOMFY_API_TOKEN
result = client.run(edit.Input(prompt="...", image_urls=["https://..."]), timeout=600)
handle = client.submit(edit.Input(...)); handle.status(); handle.cancel(); handle.result(timeout=60)
handle = client.get_request(request_id, model=edit)   # resume from a stored id
```

Nothing touches the network until a call is made; ``requests`` is imported then. The decisions (what
an answer means, retries, the polling loop's states) live in :mod:`runcomfy._core`, shared with
:class:`runcomfy.AsyncClient`; this module does the sending and the sleeping.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from . import _core
from ._core import CANCEL_GRACE, DEFAULT_BASE_URL, HandleBase, JobStatus, Result, RetryPolicy, Waiter, logger
from ._http import Transport
from ._polling import DurationMemory, PollSchedule
from ._types import ModelInput
from .errors import RunComfyError

if TYPE_CHECKING:
    from .async_client import AsyncClient

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

DEFAULT_WAIT_TIMEOUT = 900.0
"""The overall deadline of ``run()`` and ``result()`` when none is given: 15 minutes."""

O = TypeVar("O")  # noqa: E741 - the Output type of a model


class RequestHandle(HandleBase[O]):
    """A submitted job. Plain data (``request_id``, ``model_id``, ``base_url``): keep ``request_id`` to
    resume it anywhere with ``Client().get_request(request_id, model=...)``, or store ``to_dict()`` and
    ``RequestHandle.from_dict(data)`` later; handles pickle (without their client). A restored handle
    calls only through a client of its own base URL (:class:`~runcomfy.errors.ForeignHandleError` else)."""

    def __init__(
        self,
        client: Client | None,
        request_id: str,
        model_id: str | None,
        output: type[O] | None,
        *,
        base_url: str | None = None,
    ) -> None:
        super().__init__(client, request_id, model_id, output, base_url=base_url)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, client: Client | None = None) -> RequestHandle[Any]:
        """A handle from :meth:`to_dict`'s data (unpickling comes here too), on ``client``, default: the
        default client (``RUNCOMFY_API_TOKEN``, ``RUNCOMFY_BASE_URL``). A ``base_url`` in ``data`` other than
        that client's is refused (:class:`~runcomfy.errors.ForeignHandleError`): the token never follows data
        to another host unless a client of that host is passed explicitly."""
        request_id, model_id, base_url = _core.handle_fields(data)
        if client is None:
            configured = configured_base_url(_default)
            base_url = base_url or configured
            _core.check_handle_client(base_url, configured)
        return cls(client, request_id, model_id, None, base_url=base_url)

    @property
    def client(self) -> Client:
        """The client this handle calls through (for a restored handle: the default client, which must
        serve its base URL)."""
        if self._client is None:
            self._bind(default_client())
        client: Client = self._client
        return client

    @client.setter
    def client(self, client: Client) -> None:
        self._bind(client)

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


def configured_base_url(default: Client | AsyncClient | None) -> str:
    """The base URL of the default client ``default`` (sync or async), or, before it is made, the one it
    will have: ``$RUNCOMFY_BASE_URL`` or the RunComfy API."""
    if default is not None:
        return default.base_url
    return (os.environ.get("RUNCOMFY_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def _settings(
    token: str | None, base_url: str | None, max_retries: int, retry: RetryPolicy | None
) -> tuple[str, str, RetryPolicy]:
    """The token, base URL and retry policy of a client (sync or async), from its arguments and the environment."""
    token = _clean_token(token if token is not None else os.environ.get("RUNCOMFY_API_TOKEN"))
    base_url = base_url or os.environ.get("RUNCOMFY_BASE_URL") or DEFAULT_BASE_URL
    return token, base_url, retry or RetryPolicy(max_retries=max_retries)


def _clean_token(token: object) -> str:
    """The token without the whitespace around it (a CRLF ``.env`` file, ``open(...).read()``); one that is
    missing, or has whitespace, control or non-ASCII characters inside it, is refused, with a message that
    does not show it: it goes into a header, where such a character would put it into an HTTP library's
    error message instead."""
    if token is not None and not isinstance(token, str):
        raise RunComfyError(f"the API token must be a str, not {type(token).__name__}")
    token = (token or "").strip()
    if not token:
        raise RunComfyError(
            "no API token: pass Client(token=...) or set RUNCOMFY_API_TOKEN (RunComfy dashboard → API keys)"
        )
    if not (token.isascii() and token.isprintable()) or " " in token:
        raise RunComfyError(
            f"the API token ({len(token)} characters, not shown) has whitespace, control or non-ASCII "
            "characters inside it: check Client(token=...) or RUNCOMFY_API_TOKEN"
        )
    return token


def _output_of(model: ModuleType | str | None) -> tuple[str | None, Any]:
    """``(model_id, Output class)`` of a generated module or a model id, for ``get_request``."""
    if isinstance(model, str):
        from .models import load

        model = load(model)
    if model is None:
        return None, None
    return getattr(model, "MODEL_ID", None), getattr(model, "Output", None)


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
        token, base_url, policy = _settings(token, base_url, max_retries, retry)
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
        return self._submit(input, None)

    def _submit(self, input: ModelInput[O], deadline: float | None) -> RequestHandle[O]:
        model_id = type(input)._model_id
        body, _ = self._transport.call("POST", _core.submit_path(model_id), body=input.to_dict(), deadline=deadline)
        request_id = _core.submitted_id(body)
        logger.info("submitted %s as %s", model_id, request_id)
        return RequestHandle(self, request_id, model_id, type(input)._output)

    def status(self, request_id: str) -> JobStatus:
        body, _ = self._transport.call("GET", _core.status_path(request_id), request_id=request_id)
        return _core.job_status(request_id, body)

    def cancel(self, request_id: str) -> str:
        body, _ = self._transport.call("POST", _core.cancel_path(request_id), request_id=request_id)
        return _core.cancel_outcome(body)

    def get_request(self, request_id: str, *, model: ModuleType | str | None = None) -> RequestHandle[Any]:
        """A handle on an existing job, e.g. in another process. ``model`` (a generated module or a model
        id) types its output; without it, results come back as plain dicts."""
        model_id, output = _output_of(model)
        return RequestHandle(self, request_id, model_id, output)

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
        limit = self.wait_timeout if timeout is None else timeout
        handle = self._submit(input, started + limit)  # the deadline bounds the submit too
        return self.wait(handle, timeout=timeout, on_update=on_update, started=started)

    def wait(
        self,
        handle: HandleBase[O],
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
        waiter = Waiter(
            handle,
            limit=self.wait_timeout if timeout is None else timeout,
            begin=time.monotonic() if started is None else started,
            poll=self.poll,
            durations=self.durations,
        )
        while True:
            delay = waiter.delay()
            if delay > 0:
                self._sleep(delay)
            try:
                body, retry_after = self._transport.call(
                    "GET", waiter.path, request_id=waiter.request_id, deadline=waiter.deadline
                )
            except RunComfyError as error:
                waiter.poll_failed(error)  # raised again unless the deadline has passed: then that is the error
            else:
                update = waiter.observe(body, retry_after)
                if update is not None and on_update is not None:
                    on_update(update)
                result = waiter.finish()
                if result is not None:
                    return result
            if waiter.expired():
                raise waiter.timeout(cancelled=waiter.should_cancel and self._cancel_after_deadline(waiter.request_id))

    def _cancel_after_deadline(self, request_id: str) -> bool:
        try:
            deadline = time.monotonic() + CANCEL_GRACE
            body, _ = self._transport.call(
                "POST", _core.cancel_path(request_id), request_id=request_id, deadline=deadline
            )
            return _core.cancel_outcome(body) == "cancelled"
        except RunComfyError as exc:  # the deadline error matters more
            logger.info("cancel of %s after the deadline failed: %s", request_id, exc)
            return False
