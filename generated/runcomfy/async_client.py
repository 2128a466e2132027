"""The asyncio twin of :mod:`runcomfy.client`, on ``httpx`` (``pip install "runcomfy[async]"``).

```python
async with runcomfy.AsyncClient() as client:          # token from RUNCOMFY_API_TOKEN
    result = await client.run(edit.Input(prompt="...", image_urls=["https://..."]), timeout=600)
    handle = await client.submit(edit.Input(...)); await handle.status(); await handle.result(timeout=60)
result = await edit.run_async(prompt="...", image_urls=["https://..."])   # the per-model functions
```

Same behaviour as :class:`runcomfy.Client` (deadlines, retries, errors, callbacks): every decision is
made by :mod:`runcomfy._core`; this module only sends with ``httpx.AsyncClient`` and sleeps with
``asyncio.sleep``. ``httpx`` is imported on the first call. An ``AsyncClient`` keeps one connection pool
per event loop (a pool cannot move between loops): use it inside one ``asyncio.run()``, or let
``aclose()`` / ``async with`` close it there.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from . import _core
from ._core import (
    CANCEL_GRACE,
    DOWNLOAD_TIMEOUT,
    MAX_DOWNLOAD_BYTES,
    Attempts,
    Download,
    HandleBase,
    JobStatus,
    Result,
    RetryPolicy,
    Waiter,
    logger,
    never_sent,
)
from ._http import atomic_file, configure_logging, refuse_existing
from ._polling import DurationMemory, PollSchedule
from ._types import ModelInput
from .client import DEFAULT_WAIT_TIMEOUT, _output_of, _settings, configured_base_url
from .errors import RunComfyError

if TYPE_CHECKING:
    import httpx

__all__ = ["AsyncClient", "AsyncRequestHandle", "AsyncTransport", "OnUpdate", "default_async_client"]

O = TypeVar("O")  # noqa: E741 - the Output type of a model

OnUpdate: TypeAlias = Callable[[JobStatus], Awaitable[None] | None]
"""An ``on_update`` callback of the async client: a function, or a coroutine function (awaited)."""


def _httpx() -> Any:
    try:
        import httpx
    except ImportError:
        raise ImportError('runcomfy.AsyncClient needs httpx: pip install "runcomfy[async]"') from None
    return httpx


def _never_sent(exc: BaseException) -> bool:
    """Whether an ``httpx`` error proves the request never reached the server (connection refused, name
    not resolved, connect timeout, no free connection in the pool), as opposed to one that may have."""
    import httpx

    return never_sent(
        exc,
        proof=(httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, ConnectionRefusedError),
        against=(httpx.ReadError, httpx.WriteError, httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError),
    )


POOL_SIZE = 256
"""Connections an :class:`AsyncClient` keeps open at most (httpx's default, 100 with 20 kept alive, would
reconnect constantly under ``runcomfy.amap(..., concurrency=100)``)."""
POOL_SHARDS = 16
"""The connections are spread over this many ``httpx.AsyncClient`` pools, used in turn: httpcore matches
every waiting request against every connection of its pool each time one frees up, which at 100
requests in flight cost more CPU than everything else together (measured in benchmarks/bench_batch.py)."""


class AsyncTransport:
    """Authenticated JSON calls to the API base URL over ``httpx.AsyncClient``. The token lives here and
    nowhere else. Same ``call()`` as :class:`runcomfy._http.Transport`, awaited."""

    def __init__(
        self,
        token: str,
        base_url: str,
        *,
        timeout: float,
        connect_timeout: float,
        retry: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retry = retry
        self.sleep = sleep
        self._pools: list[httpx.AsyncClient] = []
        self._turn = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        configure_logging()

    def __repr__(self) -> str:
        return f"AsyncTransport(base_url={self.base_url!r}, token=***)"

    @property
    def http(self) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` of the running event loop (made on first use in each loop), taken in
        turn from :data:`POOL_SHARDS` small pools."""
        loop = asyncio.get_running_loop()
        if not self._pools or self._loop is not loop:
            headers = _core.request_headers(self._token)
            lib = _httpx()
            size = POOL_SIZE // POOL_SHARDS
            limits = lib.Limits(max_connections=size, max_keepalive_connections=size)
            tls = lib.create_ssl_context()  # one for all the pools: loading the CA bundle takes ~25 ms
            self._pools = [
                lib.AsyncClient(headers=headers, follow_redirects=False, limits=limits, verify=tls)
                for _ in range(POOL_SHARDS)
            ]
            self._loop = loop
        self._turn = (self._turn + 1) % len(self._pools)
        http: httpx.AsyncClient = self._pools[self._turn]
        return http

    async def aclose(self) -> None:
        pools, loop, self._pools, self._loop = self._pools, self._loop, [], None
        if pools and loop is asyncio.get_running_loop():
            await asyncio.gather(*(pool.aclose() for pool in pools))

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        deadline: float | None = None,
    ) -> tuple[dict[str, Any], float | None]:
        """One API call with its retries: the JSON object answered and the server's ``Retry-After``.

        ``deadline`` (a ``time.monotonic()`` value) bounds the call and its retries as a whole; an answer
        may take :data:`~runcomfy._core.BODY_GRACE` more to finish arriving. A ``body`` JSON cannot carry
        is a :class:`~runcomfy.errors.ValidationError`, before anything is sent.
        """
        payload = _core.encode_body(body)
        headers = _core.JSON_HEADERS if payload is not None else None
        http = self.http
        httpx = _httpx()
        attempts = Attempts(
            method,
            path,
            request_id=request_id,
            deadline=deadline,
            policy=self.retry,
            timeout=self.timeout,
            connect_timeout=self.connect_timeout,
        )
        url = self.base_url + path
        while True:
            connect, read = attempts.start()
            failure: Exception | None = None
            try:
                response = await asyncio.wait_for(  # a read timeout bounds each read, this the whole answer
                    http.request(
                        method,
                        url,
                        content=payload,
                        headers=headers,
                        params=params,
                        timeout=httpx.Timeout(read, connect=connect),
                    ),
                    max(0.05, attempts.answer_deadline - time.monotonic()),
                )
            except httpx.RequestError as exc:
                failure = exc
            except asyncio.TimeoutError:
                failure = httpx.ReadTimeout("the answer was still arriving when the call's time ran out")
            if failure is not None:  # outside the except block: the error raised keeps no context holding
                try:  # the request, whose headers carry the token
                    attempts.failed(failure, never_sent=_never_sent(failure), secret=self._token)
                finally:
                    failure = None
            else:
                answer = attempts.answered(response.status_code, response.headers, response.content)
                if answer is not None:
                    return answer, attempts.retry_after
            await self.sleep(attempts.pause)


class AsyncRequestHandle(HandleBase[O]):
    """A submitted job, for asyncio: ``await handle.status()``, ``await handle.cancel()``,
    ``await handle.result()``. Plain data like :class:`runcomfy.RequestHandle` (``to_dict()``,
    ``from_dict()``, picklable without its client), bound to its base URL in the same way."""

    def __init__(
        self,
        client: AsyncClient | None,
        request_id: str,
        model_id: str | None,
        output: type[O] | None,
        *,
        base_url: str | None = None,
    ) -> None:
        super().__init__(client, request_id, model_id, output, base_url=base_url)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, client: AsyncClient | None = None) -> AsyncRequestHandle[Any]:
        """A handle from :meth:`to_dict`'s data (unpickling comes here too), on ``client``, default: the
        default async client; refused for another base URL, as :meth:`runcomfy.RequestHandle.from_dict`."""
        request_id, model_id, base_url = _core.handle_fields(data)
        if client is None:
            configured = configured_base_url(_default)
            base_url = base_url or configured
            _core.check_handle_client(base_url, configured)
        return cls(client, request_id, model_id, None, base_url=base_url)

    @property
    def client(self) -> AsyncClient:
        """The client this handle calls through (for a restored handle: the default async client, which
        must serve its base URL)."""
        if self._client is None:
            self._bind(default_async_client())
        client: AsyncClient = self._client
        return client

    @client.setter
    def client(self, client: AsyncClient) -> None:
        self._bind(client)

    async def status(self) -> JobStatus:
        """``GET /status``: ``in_queue`` (with ``queue_position``), ``in_progress``, ``completed``, ..."""
        return await self.client.status(self.request_id)

    async def cancel(self) -> str:
        """Ask the API to cancel: ``"cancelled"`` for a queued job, else ``"not_cancellable"``."""
        return await self.client.cancel(self.request_id)

    async def result(self, *, timeout: float | None = None, on_update: OnUpdate | None = None) -> Result[O]:
        """Wait for the job (polling ``/result``) and return its output; see :meth:`AsyncClient.wait`."""
        return await self.client.wait(self, timeout=timeout, on_update=on_update)


_default: AsyncClient | None = None
_default_lock = threading.Lock()


def default_async_client() -> AsyncClient:
    """The client the per-model ``*_async`` functions use without ``client=``: made on first use from the
    environment (``RUNCOMFY_API_TOKEN``, ``RUNCOMFY_BASE_URL``)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = AsyncClient()
        return _default


class AsyncClient:
    """A connection to the RunComfy Model API for asyncio, on ``httpx``: the arguments of
    :class:`runcomfy.Client`, and the same behaviour; ``sleep`` is awaited (default ``asyncio.sleep``)."""

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
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        token, base_url, policy = _settings(token, base_url, max_retries, retry)
        self._transport = AsyncTransport(
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
        return f"AsyncClient(base_url={self.base_url!r}, token=***)"

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections (a later call opens new ones)."""
        await self._transport.aclose()

    # --- the four endpoints -----------------------------------------------------------------------

    async def submit(self, input: ModelInput[O]) -> AsyncRequestHandle[O]:
        """``POST /v1/models/{model_id}`` with the input's JSON body; returns once the job is queued."""
        return await self._submit(input, None)

    async def _submit(self, input: ModelInput[O], deadline: float | None) -> AsyncRequestHandle[O]:
        model_id = type(input)._model_id
        body, _ = await self._transport.call(
            "POST", _core.submit_path(model_id), body=input.to_dict(), deadline=deadline
        )
        request_id = _core.submitted_id(body)
        logger.info("submitted %s as %s", model_id, request_id)
        return AsyncRequestHandle(self, request_id, model_id, type(input)._output)

    async def status(self, request_id: str) -> JobStatus:
        body, _ = await self._transport.call("GET", _core.status_path(request_id), request_id=request_id)
        return _core.job_status(request_id, body)

    async def cancel(self, request_id: str) -> str:
        body, _ = await self._transport.call("POST", _core.cancel_path(request_id), request_id=request_id)
        return _core.cancel_outcome(body)

    def get_request(self, request_id: str, *, model: ModuleType | str | None = None) -> AsyncRequestHandle[Any]:
        """A handle on an existing job. ``model`` (a generated module or a model id) types its output;
        without it, results come back as plain dicts. (No call is made: not a coroutine.)"""
        model_id, output = _output_of(model)
        return AsyncRequestHandle(self, request_id, model_id, output)

    # --- waiting ----------------------------------------------------------------------------------

    async def run(
        self, input: ModelInput[O], *, timeout: float | None = None, on_update: OnUpdate | None = None
    ) -> Result[O]:
        """Submit and wait: the job's typed result, or a typed error (see :meth:`wait`)."""
        started = time.monotonic()
        limit = self.wait_timeout if timeout is None else timeout
        handle = await self._submit(input, started + limit)  # the deadline bounds the submit too
        return await self.wait(handle, timeout=timeout, on_update=on_update, started=started)

    async def wait(
        self,
        handle: HandleBase[O],
        *,
        timeout: float | None = None,
        on_update: OnUpdate | None = None,
        started: float | None = None,
    ) -> Result[O]:
        """Poll ``/result`` until the job ends, then return its :class:`Result`; as :meth:`runcomfy.Client.wait`.

        ``on_update`` may be a function or a coroutine function (its result is awaited).
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
                await self._sleep(delay)
            try:
                body, retry_after = await self._transport.call(
                    "GET", waiter.path, request_id=waiter.request_id, deadline=waiter.deadline
                )
            except RunComfyError as error:
                waiter.poll_failed(error)  # raised again unless the deadline has passed: then that is the error
            else:
                update = waiter.observe(body, retry_after)
                if update is not None and on_update is not None:
                    called = on_update(update)
                    if inspect.isawaitable(called):
                        await called
                result = waiter.finish()
                if result is not None:
                    return result
            if waiter.expired():
                cancelled = waiter.should_cancel and await self._cancel_after_deadline(waiter.request_id)
                raise waiter.timeout(cancelled=cancelled)

    async def _cancel_after_deadline(self, request_id: str) -> bool:
        try:
            deadline = time.monotonic() + CANCEL_GRACE
            body, _ = await self._transport.call(
                "POST", _core.cancel_path(request_id), request_id=request_id, deadline=deadline
            )
            return _core.cancel_outcome(body) == "cancelled"
        except RunComfyError as exc:  # the deadline error matters more
            logger.info("cancel of %s after the deadline failed: %s", request_id, exc)
            return False


async def download(
    http: httpx.AsyncClient,
    url: str,
    target: os.PathLike[str] | str,
    *,
    timeout: float = DOWNLOAD_TIMEOUT,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    overwrite: bool = False,
) -> None:
    """Stream ``url`` to ``target`` atomically through ``http``, a client that holds no credentials (the
    outputs' URLs must not see the API token) and follows no redirect by itself; bounded as
    :func:`runcomfy._http.download` (the same :class:`runcomfy._core.Download` decisions)."""
    httpx = _httpx()
    plan = Download(url, timeout=timeout, max_bytes=max_bytes)
    if not overwrite:
        refuse_existing(target)  # before fetching anything (placing checks again, atomically)
    failure: str | None = None
    try:  # the deadline bounds the whole download, a trickling body included
        await asyncio.wait_for(_fetch(http, plan, target, overwrite), max(0.01, plan.remaining()))
        return
    except asyncio.TimeoutError:
        failure = "timed out"
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:  # (InvalidURL: httpx parses a
        # redirect's Location even when it follows none.) Not raised from here: no context holding the request
        failure = f"{type(exc).__name__}: {exc}"
    raise plan.failed(failure)


async def _fetch(http: httpx.AsyncClient, plan: Download, target: os.PathLike[str] | str, overwrite: bool) -> None:
    while True:
        async with http.stream("GET", plan.url, follow_redirects=False) as response:
            if plan.redirected(response.status_code, response.headers):
                continue
            start = await _first_bytes(response) if response.status_code >= 400 else b""
            plan.accept(response.status_code, response.headers, start)
            with atomic_file(target, overwrite=overwrite) as out:
                async for chunk in response.aiter_bytes():  # as it arrives, decoded
                    plan.take(len(chunk))
                    out.write(chunk)
            return


async def _first_bytes(response: httpx.Response, size: int = 500) -> bytes:
    """The first bytes of an answer's body (for an error message), without reading it all."""
    async for chunk in response.aiter_raw():
        return chunk[:size]
    return b""
