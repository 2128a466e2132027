"""Many jobs at once: :func:`amap` (asyncio) and :func:`map` (plain iteration), with bounded concurrency.

```python
import runcomfy
from runcomfy.models.google.nano_banana_2 import edit

inputs = [{"prompt": f"a cat, take {n}", "image_urls": [url]} for n in range(1000)]
for item in runcomfy.map(edit, inputs, concurrency=100, journal="out/journal.jsonl"):
    if item.ok:
        item.result.save("out")
    else:
        print(item.index, item.error)
```

Every input ends as exactly one :class:`BatchItem`, in the order jobs finish: a result, or an error (a
``ValidationError`` before any call, or the typed error the job ended with). What is safe is retried:
every API call already retries inside the client; on top of that a submit refused with 429 or that
provably never reached the server is tried again, and a wait that failed on the network is resumed (the
job exists: it is never submitted again). A submit that may have reached the server
(:class:`~runcomfy.errors.SubmitUncertainError`) is reported, not repeated: without an idempotency key a
second submit could start, and bill, a second job.

With ``journal``, each submit is recorded (with its request id, before the job is waited for) in a JSON
Lines file, and each outcome after it. Run the same inputs again with the same journal after an
interruption, and jobs that already have a request id are waited for, not submitted again; inputs that
already ended are not run again (``retry_errors=True`` runs those that ended in an error once more).
An item that ended while the iteration was being stopped early is in the journal (and, with ``save_to``,
its files are saved) but was not yielded: its request id is in the journal.
The journal holds request ids and input digests, never the token or the inputs themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import queue
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._core import DOWNLOAD_TIMEOUT, MAX_DOWNLOAD_BYTES, Result
from .errors import APIConnectionError, RateLimitError, ServerError, SubmitUncertainError

if TYPE_CHECKING:
    from .async_client import AsyncClient, AsyncRequestHandle
    from .client import Client

__all__ = ["BatchItem", "Journal", "amap", "map"]

O = TypeVar("O")  # noqa: E741 - the Output type of a model
T = TypeVar("T")

RETRIES = 3
"""Extra submits after a 429 or a connection that never opened, and extra waits after a network
failure, per input (on top of the client's own retries of each call)."""
_TRANSIENT = (APIConnectionError, RateLimitError, ServerError)


@dataclasses.dataclass
class BatchItem(Generic[O]):
    """How one input ended: ``result`` or ``error`` (exactly one is set)."""

    index: int
    """The input's position in ``inputs``."""
    input: Any
    """The input as given (an ``Input`` or a mapping)."""
    result: Result[O] | None = None
    error: Exception | None = None
    request_id: str | None = None
    """The job's request id, when it was submitted."""
    resumed: bool = False
    """Whether the job was submitted by an earlier run (found in the journal) and not submitted again."""
    files: list[Path] = dataclasses.field(default_factory=list)
    """The result's files, when ``save_to`` was given."""

    @property
    def ok(self) -> bool:
        return self.result is not None


# --- the journal -----------------------------------------------------------------------------------


def fingerprint(data: Any) -> str:
    """A digest of an input's JSON body: the journal ties its records to the inputs with it."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Journal:
    """The record of a batch: a JSON Lines file, one object per event, appended and flushed as it goes.

    ``{"index", "input", "request_id", "model_id"}`` when a job is submitted (synced to disk before the
    job is waited for), ``{"index", "input", "status": "succeeded" | "error", ...}`` when it ends.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.submitted: dict[int, tuple[str, str]] = {}  # index → (input digest, request id)
        self.ended: dict[int, tuple[str, str]] = {}  # index → (input digest, status) of its latest job
        self.models: set[str] = set()  # the model ids of the jobs recorded
        lines = self.path.read_text(encoding="utf-8").splitlines() if self.path.exists() else []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                index, digest = int(record["index"]), str(record["input"])
            except (ValueError, KeyError, TypeError):
                if number == len(lines):
                    continue  # a last line cut short by an interruption
                raise ValueError(f"{self.path}:{number}: not a journal record") from None
            self._apply(record, index, digest)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def _apply(self, record: Mapping[str, Any], index: int, digest: str) -> None:
        """Take one record in, in file order: a submit after an outcome (``retry_errors``) starts the
        input over, so its earlier outcome no longer counts."""
        if "status" in record:
            self.ended[index] = (digest, str(record["status"]))
        elif isinstance(record.get("request_id"), str):
            self.submitted[index] = (digest, record["request_id"])
            self.ended.pop(index, None)
            if isinstance(record.get("model_id"), str):
                self.models.add(record["model_id"])

    def check_model(self, model_id: str) -> None:
        """Refuse to resume another model's batch (its jobs would be read with the wrong ``Output``)."""
        others = self.models - {model_id}
        if others:
            raise ValueError(
                f"{self.path} records jobs of {', '.join(sorted(others))}, not {model_id}: use another journal"
            )

    def check(self, index: int, digest: str) -> None:
        """Refuse to resume with other inputs than the journal's (a changed or reordered input file)."""
        for seen in (self.submitted.get(index), self.ended.get(index)):
            if seen is not None and seen[0] != digest:
                raise ValueError(
                    f"input {index} differs from the one recorded in {self.path}: "
                    "resume with the same inputs, or use another journal"
                )

    def write(self, record: Mapping[str, Any], *, sync: bool = False) -> None:
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            self._apply(record, int(record["index"]), str(record["input"]))
            self._file.write(line)
            self._file.flush()
            if sync:
                os.fsync(self._file.fileno())

    def close(self) -> None:
        with self._lock:
            self._file.close()


# --- the batch -------------------------------------------------------------------------------------


def _module(model: ModuleType | str) -> ModuleType:
    if isinstance(model, str):
        from .models import load

        return load(model)
    return model


def _async_client(client: Client | AsyncClient | None) -> tuple[AsyncClient, bool]:
    """The async client to run on, and whether it was made here (and is to be closed here)."""
    from .async_client import AsyncClient

    if isinstance(client, AsyncClient):
        return client, False
    if client is None:
        return AsyncClient(), True
    transport = client._transport  # a sync Client: an async twin with the same settings
    twin = AsyncClient(
        transport._token,
        base_url=transport.base_url,
        timeout=transport.timeout,
        connect_timeout=transport.connect_timeout,
        retry=transport.retry,
        wait_timeout=client.wait_timeout,
        poll=client.poll,
    )
    return twin, True


def _downloads_client() -> Any:
    """The httpx client of the outputs: no credentials, no redirect followed by itself (``download`` checks
    each), each read bounded (each download's deadline bounds the whole)."""
    import httpx

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    return httpx.AsyncClient(follow_redirects=False, limits=limits, timeout=httpx.Timeout(60.0, connect=10.0))


def _safe_to_submit_again(error: Exception) -> bool:
    """A submit refused (429, 503) or that never reached the server; never one that may have arrived."""
    return isinstance(error, (RateLimitError, APIConnectionError)) and not isinstance(error, SubmitUncertainError)


async def _again_while(
    call: Callable[[], Awaitable[T]], safe: Callable[[Exception], bool], api: AsyncClient, deadline: float
) -> T:
    """``await call()``, tried again up to :data:`RETRIES` more times while it fails with an error ``safe``
    says may be retried, backing off as the client's retry policy does, never past ``deadline``."""
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as error:
            if not safe(error) or attempt == RETRIES:
                raise
            pause = api._transport.retry.delay(attempt, None)
            if time.monotonic() + pause >= deadline:
                raise
        await asyncio.sleep(pause)
        attempt += 1


async def amap(
    model: ModuleType | str,
    inputs: Iterable[Any],
    *,
    concurrency: int = 16,
    client: Client | AsyncClient | None = None,
    timeout: float | None = None,
    journal: str | os.PathLike[str] | Journal | None = None,
    retry_errors: bool = False,
    save_to: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    download_timeout: float = DOWNLOAD_TIMEOUT,
    max_download_bytes: int = MAX_DOWNLOAD_BYTES,
) -> AsyncGenerator[BatchItem[Any], None]:
    """Run ``model`` on every input with at most ``concurrency`` jobs in flight; yield each input's
    :class:`BatchItem` as its job ends.

    ``model`` is a generated module or a model id; ``inputs`` its ``Input`` objects or mappings (read
    lazily, so a generator of millions is fine). ``timeout`` is each job's deadline from its submit
    (default: the client's ``wait_timeout``). ``save_to`` downloads each result's files there before the
    item is yielded, as :meth:`Result.save` does (``overwrite``, ``download_timeout`` and
    ``max_download_bytes`` are its ``overwrite``, ``timeout`` and ``max_bytes``): a file that fails makes
    the item an error. See the module documentation for retries and the journal.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    module = _module(model)
    api, owned = _async_client(client)
    log = journal if isinstance(journal, Journal) or journal is None else Journal(journal)
    if log is not None:
        log.check_model(module.MODEL_ID)
    limit = api.wait_timeout if timeout is None else timeout

    async def one(index: int, raw: Any) -> BatchItem[Any]:
        item: BatchItem[Any] = BatchItem(index, raw)
        digest = digest_of(raw)
        try:
            data = as_input(raw)
            handle: AsyncRequestHandle[Any] | None = None
            if log is not None and index in log.submitted and index not in log.ended:  # resume, not resubmit
                handle = api.get_request(log.submitted[index][1], model=module)
                item.resumed = True
            started = time.monotonic()
            if handle is None:
                handle = await submit_recorded(index, digest, data, started + limit)
            item.request_id = handle.request_id
            item.result = await wait(handle, started)
            if save_to is not None:
                item.files = await save(item.result, save_to)
        except Exception as exc:  # every input ends as an item: nothing is dropped
            item.error = exc
            item.result = None
        if log is not None:
            ended = {"index": index, "input": digest, "request_id": item.request_id}
            if item.error is None:
                log.write({**ended, "status": "succeeded", "files": [path.name for path in item.files]})
            else:
                text = str(item.error)[:500]
                log.write({**ended, "status": "error", "error": type(item.error).__name__, "message": text})
        return item

    downloads: Any = None  # a token-free httpx client for the outputs, made on the first save

    async def save(result: Result[Any], directory: str | os.PathLike[str]) -> list[Path]:
        """``result.save(directory)`` on the event loop: the same names, limits and all-or-nothing."""
        nonlocal downloads
        from ._http import saving_all
        from .async_client import download

        if downloads is None:
            downloads = _downloads_client()
        targets = result.targets(directory)
        with saving_all() as placed:
            for url, path in targets:
                await download(
                    downloads, url, path, timeout=download_timeout, max_bytes=max_download_bytes, overwrite=overwrite
                )
                placed.append(path)
        return [path for _, path in targets]

    async def submit_recorded(index: int, digest: str, data: Any, deadline: float) -> AsyncRequestHandle[Any]:
        """Submit, and journal the request id. Stopping the batch does not cut this short: a submit under
        way finishes and is recorded (else the job would exist unknown, and a resume would submit it again)."""

        async def go() -> AsyncRequestHandle[Any]:
            handle = await submit(data, deadline)
            if log is not None:
                record = {"index": index, "input": digest, "request_id": handle.request_id}
                log.write({**record, "model_id": module.MODEL_ID}, sync=True)
            return handle

        task = asyncio.ensure_future(go())
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await task
            raise

    async def submit(data: Any, deadline: float) -> AsyncRequestHandle[Any]:
        # the job's deadline bounds its submit too; tried again only when it was refused or never left
        return await _again_while(functools.partial(api._submit, data, deadline), _safe_to_submit_again, api, deadline)

    async def wait(handle: AsyncRequestHandle[Any], started: float) -> Result[Any]:
        # the network failed, not the job: it exists, so it is waited for again (never submitted again)
        call = functools.partial(api.wait, handle, timeout=limit, started=started)
        return await _again_while(call, lambda error: isinstance(error, _TRANSIENT), api, started + limit)

    def as_input(raw: Any) -> Any:
        return raw if isinstance(raw, module.Input) else module.Input.from_dict(raw)

    def digest_of(raw: Any) -> str:
        return fingerprint(raw.to_dict() if isinstance(raw, module.Input) else raw)

    def finished_before(index: int, raw: Any) -> bool:
        """Whether the journal shows this input ended in an earlier run (checking it is the same input)."""
        if log is None or (index not in log.ended and index not in log.submitted):
            return False
        log.check(index, digest_of(raw))  # a journal of other inputs: ValueError, out of the batch
        if index not in log.ended:
            return False
        return not (retry_errors and log.ended[index][1] == "error")

    pending: set[asyncio.Task[BatchItem[Any]]] = set()
    source = iter(enumerate(inputs))
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < concurrency:
                try:
                    index, raw = next(source)
                except StopIteration:
                    exhausted = True
                    break
                if finished_before(index, raw):
                    continue
                pending.add(asyncio.ensure_future(one(index, raw)))
            if not pending:
                return
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=lambda t: t.result().index):
                yield task.result()
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if log is not None and not isinstance(journal, Journal):
            log.close()
        if owned:
            await api.aclose()
        if downloads is not None:
            await downloads.aclose()


def map(
    model: ModuleType | str,
    inputs: Iterable[Any],
    *,
    concurrency: int = 16,
    client: Client | AsyncClient | None = None,
    timeout: float | None = None,
    journal: str | os.PathLike[str] | Journal | None = None,
    retry_errors: bool = False,
    save_to: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    download_timeout: float = DOWNLOAD_TIMEOUT,
    max_download_bytes: int = MAX_DOWNLOAD_BYTES,
) -> Generator[BatchItem[Any], None, None]:
    """:func:`amap` for code without asyncio: the jobs run on an event loop in a background thread
    (one thread whatever ``concurrency``), and the items come out of this iterator as they end.
    Stopping the iteration early stops the batch (jobs already submitted are in the journal)."""
    items: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=max(1, concurrency))
    loop = asyncio.new_event_loop()
    stopped = threading.Event()

    async def produce() -> None:
        batch = amap(
            model,
            inputs,
            concurrency=concurrency,
            client=client,
            timeout=timeout,
            journal=journal,
            retry_errors=retry_errors,
            save_to=save_to,
            overwrite=overwrite,
            download_timeout=download_timeout,
            max_download_bytes=max_download_bytes,
        )
        try:
            async for item in batch:
                while not stopped.is_set():  # the consumer is slower: hold on (without blocking the loop)
                    try:
                        items.put_nowait(("item", item))
                        break
                    except queue.Full:
                        await asyncio.sleep(0.005)
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # a bad argument, a journal of other inputs: raised to the caller
            items.put(("error", exc))
        finally:
            await batch.aclose()
            items.put(("end", None))

    task = loop.create_task(produce())

    def thread_main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(task)
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    thread = threading.Thread(target=thread_main, name="runcomfy-map", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = items.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stopped.set()
        if thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop may close between the test and the call
                loop.call_soon_threadsafe(task.cancel)
        while thread.is_alive():  # drain, so the producer is never stuck on a full queue
            with contextlib.suppress(queue.Empty):
                items.get(timeout=0.05)
        thread.join()
