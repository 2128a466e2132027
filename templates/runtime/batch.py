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

With ``journal``, each submit is recorded in a JSON Lines file: its *intent* (synced to disk before the
submit's request is sent), then its request id (synced before the job is waited for), then its outcome.
Run the same inputs again with the same journal after an interruption (Ctrl-C, SIGTERM, ``kill -9``, a
reboot), and jobs that have a request id are waited for, not submitted again; inputs that already ended
are not run again (``retry_errors=True`` runs those that ended in an error once more, but for the
uncertain ones). An input whose submit was cut short between its intent and its request id may have a
job: it ends as a :class:`~runcomfy.errors.SubmitUncertainError` and is not submitted again unless
``retry_uncertain=True``. With ``replay=True`` the inputs that ended in an earlier run are yielded
again rather than skipped (what :mod:`runcomfy.distributed` does when a partition is retried): a job's
outcome is read again from the API by its request id (never submitted again), an uncertain submit ends
as uncertain again, and an input that ended in an error before it had a job runs again (it has none to
read, and cannot get a second one). A last line cut short by a crash is dropped (with a :class:`JournalWarning`);
any other damaged line is a :class:`JournalError` naming it. An item that ended while the iteration was
being stopped early is in the journal (and, with ``save_to``, its files are saved) but was not yielded:
its request id is in the journal. The journal holds request ids and input digests, never the token or
the inputs themselves.

With ``max_cost`` (USD) the batch keeps to a budget: each job is submitted only while the costs the
finished jobs reported, the estimates of the jobs in flight and its own estimate fit in it (see
:class:`Budget`); the inputs refused end as :class:`~runcomfy.errors.BudgetExceededError` items, nothing
sent for them, and the journal records them and what each job cost, so a resume counts what was spent
and submits the refused inputs when the budget allows.

SIGTERM while :func:`map` is iterated on the main thread (and no SIGTERM handler of the program's own is
set) stops the batch as Ctrl-C does, then ends the program with exit status 143 (it raises
:class:`~runcomfy._signals.Terminated`, a ``SystemExit``). :func:`amap` runs on the caller's event loop
and leaves signals to it (``loop.add_signal_handler(signal.SIGTERM, main_task.cancel)``).
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
import warnings
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import _signals
from ._core import DOWNLOAD_TIMEOUT, MAX_DOWNLOAD_BYTES, Result, logger
from .errors import (
    APIConnectionError,
    BudgetExceededError,
    JobCancelledError,
    JobFailedError,
    RateLimitError,
    ServerError,
    SubmitUncertainError,
    TimeoutError,
)
from .pricing import reported_cost, usd

if TYPE_CHECKING:
    from .async_client import AsyncClient, AsyncRequestHandle
    from .client import Client
    from .pricing import Pricing

__all__ = ["BatchItem", "Budget", "Journal", "JournalError", "JournalWarning", "amap", "map"]

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
    cost: float | None = None
    """What the API reported the job cost, in USD (``result.cost``, or the ``cost`` of a failed job's
    answer); ``None`` when it reported none or nothing was submitted."""
    estimated_cost: float | None = None
    """The input's ``estimate_cost()`` in USD (``None``: it cannot be estimated, or the input is invalid)."""

    @property
    def ok(self) -> bool:
        return self.result is not None


# --- the journal -----------------------------------------------------------------------------------


def fingerprint(data: Any) -> str:
    """A digest of an input's JSON body: the journal ties its records to the inputs with it."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


BUDGET = "budget"
"""The journal status of an input not submitted because of the batch's budget."""


def _amount(value: object) -> float:
    """A USD amount read from the journal (``0.0`` for anything that is not a finite number ≥ 0)."""
    return reported_cost({"cost": value}) or 0.0


class JournalError(ValueError):
    """A journal this batch cannot resume from: a damaged line (named by its number), jobs of another
    model, or other inputs than the ones it recorded."""


class JournalWarning(UserWarning):
    """A journal was repaired: its last line, cut short by a crash, was dropped."""


class Journal:
    """The record of a batch: a JSON Lines file, one object per event, appended and flushed as it goes
    (so a killed process loses nothing written; :meth:`sync` also survives a crash of the machine).

    Per input, in order: ``{"index", "input", "model_id", "intent": true}`` before its submit is sent
    (``"intent": false`` withdraws it when the batch stops before sending), ``{"index", "input",
    "request_id", "model_id"}`` when the submit was answered, ``{"index", "input", "status":
    "succeeded" | "error" | "uncertain" | "budget", "spent", ...}`` when it ends (``budget``: not submitted
    because of the batch's budget; run again on resume; ``spent``: the USD the job counts as spent, see
    :func:`charged`). Reading it rebuilds :attr:`intended`, :attr:`submitted`, :attr:`ended` and :attr:`spent`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.intended: dict[int, str] = {}  # index → input digest, of a submit without a request id (yet)
        self.submitted: dict[int, tuple[str, str]] = {}  # index → (input digest, request id)
        self.ended: dict[int, tuple[str, str]] = {}  # index → (input digest, status) of its latest job
        self.models: set[str] = set()  # the model ids of the jobs recorded
        self.spent = 0.0  # USD: what every job recorded as ended counts as spent (the costs of earlier runs too)
        self._lock = threading.Lock()  # the file and the state above
        self._sync_lock = threading.Lock()  # one fsync at a time; closing waits for it
        self._written = 0  # records written through this object
        self._synced = 0  # of which this many are on disk
        self._read()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")

    def _read(self) -> None:
        """Take in the records on file; drop a torn last line (truncating the file before anything is
        appended to it), refuse any other damaged line."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        complete = data.rfind(b"\n") + 1  # every byte after the last newline belongs to a torn line
        lines = data[:complete].split(b"\n")[:-1]
        if complete < len(data):
            self._drop_torn_line(len(lines) + 1, complete, len(data) - complete)
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                index, digest = int(record["index"]), str(record["input"])
            except (ValueError, KeyError, TypeError):
                raise JournalError(
                    f"{self.path}:{number}: not a journal record (the file is damaged or not a journal; "
                    "repair or remove that line, or use another journal)"
                ) from None
            self._apply(record, index, digest)

    def _drop_torn_line(self, number: int, keep: int, size: int) -> None:
        with self.path.open("r+b") as file:
            file.truncate(keep)
            file.flush()
            os.fsync(file.fileno())
        warnings.warn(
            f"{self.path}:{number}: dropped a last line cut short by an interruption ({size} bytes); "
            "its input is resumed from the records before it",
            JournalWarning,
            stacklevel=4,  # the code that opened the journal
        )

    def _apply(self, record: Mapping[str, Any], index: int, digest: str) -> None:
        """Take one record in, in file order: an intent after an outcome (``retry_errors``) starts the
        input over, so its earlier submit and outcome no longer count."""
        if "status" in record:
            self.spent += _amount(record.get("spent"))
            status = str(record["status"])
            if status == "error" and record.get("error") == SubmitUncertainError.__name__:
                status = "uncertain"  # written before "uncertain" was a status of its own
            self.ended[index] = (digest, status)
            self.intended.pop(index, None)
            if isinstance(record.get("request_id"), str):  # its job, even if the submit's record was lost
                self.submitted[index] = (digest, record["request_id"])
        elif "intent" in record:
            if record["intent"]:
                self.intended[index] = digest
                self.submitted.pop(index, None)
                self.ended.pop(index, None)
            else:
                self.intended.pop(index, None)
        elif isinstance(record.get("request_id"), str):
            self.submitted[index] = (digest, record["request_id"])
            self.intended.pop(index, None)
            self.ended.pop(index, None)
        if isinstance(record.get("model_id"), str):
            self.models.add(record["model_id"])

    def check_model(self, model_id: str) -> None:
        """Refuse to resume another model's batch (its jobs would be read with the wrong ``Output``)."""
        others = self.models - {model_id}
        if others:
            raise JournalError(
                f"{self.path} records jobs of {', '.join(sorted(others))}, not {model_id}: use another journal"
            )

    def check(self, index: int, digest: str) -> None:
        """Refuse to resume with other inputs than the journal's (a changed or reordered input file)."""
        recorded = [
            self.intended.get(index),
            *(seen[0] for seen in (self.submitted.get(index), self.ended.get(index)) if seen),
        ]
        for seen in recorded:
            if seen is not None and seen != digest:
                raise JournalError(
                    f"input {index} differs from the one recorded in {self.path}: "
                    "resume with the same inputs, or use another journal"
                )

    def finished(self, index: int, *, retry_errors: bool = False, retry_uncertain: bool = False) -> bool:
        """Whether the input ended in an earlier run and is not to run again: ``retry_errors`` runs those
        that ended in an error again, ``retry_uncertain`` those whose submit may have made a job."""
        if index not in self.ended:
            return False
        status = self.ended[index][1]
        if status == BUDGET:  # not submitted for lack of budget: a resume (with a larger one) submits it
            return False
        return not ((retry_errors and status == "error") or (retry_uncertain and status == "uncertain"))

    def write(self, record: Mapping[str, Any], *, sync: bool = False) -> int:
        """Append ``record`` (flushed to the operating system: a killed process loses nothing written);
        with ``sync``, wait until it is on disk too. Returns its number, for :meth:`sync`."""
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            self._apply(record, int(record["index"]), str(record["input"]))
            self._file.write(line)
            self._file.flush()
            self._written += 1
            number = self._written
        if sync:
            self.sync(number)
        return number

    def sync(self, number: int | None = None) -> int:
        """Make the records written so far (or up to ``number``) durable: one ``fsync`` covers every record
        written before it starts, so callers waiting together share it (a group commit). Returns how many
        records are on disk."""
        with self._sync_lock:
            if number is not None and self._synced >= number:
                return self._synced  # an fsync that started after that record was written covered it
            with self._lock:
                covered, descriptor = self._written, self._file.fileno()
            os.fsync(descriptor)
            self._synced = max(self._synced, covered)
            return self._synced

    @property
    def synced(self) -> int:
        """How many of the records written through this object are on disk."""
        return self._synced

    def close(self) -> None:
        with self._sync_lock, self._lock:
            self._file.close()


class _Recorder:
    """A batch's records in its journal, on the event loop. Durable ones are synced many per ``fsync``
    (a group commit): the intents that the batch's tasks write in one turn of the loop share one, which
    starts on the loop's next turn, in the default executor (the loop goes on meanwhile); records written
    during an ``fsync`` go in the next one."""

    def __init__(self, journal: Journal, model_id: str) -> None:
        self.journal = journal
        self.model_id = model_id
        self.waiting: list[tuple[int, asyncio.Future[None]]] = []
        self.busy = False

    async def intend(self, index: int, digest: str) -> None:
        """The write-ahead record of a submit, on disk before this returns; withdrawn if the batch stops
        first (the request was never sent)."""
        record = {"index": index, "input": digest}
        number = self.journal.write({**record, "model_id": self.model_id, "intent": True})
        try:
            await self.durable(number)
        except asyncio.CancelledError:
            self.journal.write({**record, "intent": False})
            raise

    async def submitted(self, index: int, digest: str, request_id: str) -> None:
        """The submit's request id, on disk before this returns. Its job exists whatever the disk says, so
        it is waited for even when recording fails (logged: a resume then finds the input uncertain)."""
        record = {"index": index, "input": digest, "request_id": request_id, "model_id": self.model_id}
        try:
            await self.durable(self.journal.write(record))
        except OSError as exc:
            logger.warning("%s: input %d, job %s not recorded: %s", self.journal.path, index, request_id, exc)

    def ended(self, item: BatchItem[Any], digest: str, spent: float) -> None:
        """The input's outcome and what its job counts as spent (flushed, not synced: lost in a crash of
        the machine, it is found again by waiting for the job once more)."""
        record: dict[str, Any] = {"index": item.index, "input": digest, "request_id": item.request_id}
        if spent or item.cost is not None:
            record.update(spent=spent, cost=item.cost)
        if item.error is None:
            self.journal.write({**record, "status": "succeeded", "files": [path.name for path in item.files]})
        else:
            status = _status_of(item.error)
            text = str(item.error)[:500]
            self.journal.write({**record, "status": status, "error": type(item.error).__name__, "message": text})

    async def durable(self, number: int) -> None:
        """Return once the record ``number`` is on disk (an ``OSError`` of the ``fsync`` is raised here)."""
        if self.journal.synced >= number:
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self.waiting.append((number, future))
        if not self.busy:
            self.busy = True
            loop.call_soon(self._start)  # after the other tasks ready on this turn wrote their records
        await future

    def _start(self) -> None:
        done = asyncio.get_running_loop().run_in_executor(None, self.journal.sync)
        done.add_done_callback(self._finished)

    def _finished(self, done: asyncio.Future[int]) -> None:
        cancelled = done.cancelled()
        error = None if cancelled else done.exception()
        covered = 0 if cancelled or error is not None else done.result()
        still = []
        for number, future in self.waiting:
            if future.done():  # its task was cancelled
                continue
            if cancelled:
                future.cancel()
            elif error is not None:
                future.set_exception(error)
            elif number <= covered:
                future.set_result(None)
            else:
                still.append((number, future))
        self.waiting = still
        if still:
            self._start()
        else:
            self.busy = False


# --- the budget ------------------------------------------------------------------------------------


def _status_of(error: Exception) -> str:
    """The journal status of an input that ended in ``error``."""
    if isinstance(error, BudgetExceededError):
        return BUDGET
    return "uncertain" if isinstance(error, SubmitUncertainError) else "error"


def charged(item: BatchItem[Any]) -> float:
    """What an ended input counts as spent, in USD: the cost the API reported; else nothing when no job
    ran (never submitted, refused, or cancelled while queued); else, as the job may have been billed
    (it ran, or its submit may have reached the API), its estimate."""
    if item.cost is not None:
        return item.cost
    error = item.error
    never_ran = isinstance(error, JobCancelledError) or (isinstance(error, TimeoutError) and error.cancelled)
    if never_ran or (item.request_id is None and not isinstance(error, SubmitUncertainError)):
        return 0.0
    return item.estimated_cost or 0.0


class Budget:
    """A batch's money, on its event loop: ``spent`` (what ended jobs count as spent: :func:`charged`,
    earlier runs' included) and ``reserved`` (the estimates of the jobs in flight).

    A job is submitted only when ``spent + reserved + its estimate <= max_cost``; :meth:`admit` checks and
    reserves in one step (no ``await`` between them, so concurrent submits never overbook), and, while
    other jobs are in flight, waits for them to end rather than refuse (their real cost may be less than
    reserved). An input whose cost cannot be estimated is refused unless ``allow_unknown`` (then it
    reserves nothing, and counts what it is reported to cost once it ends). Without ``max_cost`` nothing
    is refused: the amounts are only counted.
    """

    EPSILON = 1e-9  # USD: sums of floats (0.1 + 0.2) do not refuse a job that fits exactly

    def __init__(self, max_cost: float | None, *, allow_unknown: bool = False, spent: float = 0.0) -> None:
        if max_cost is not None and reported_cost({"cost": max_cost}) is None:
            raise ValueError(f"max_cost must be a finite number of USD >= 0, got {max_cost!r}")
        self.max_cost = max_cost
        self.allow_unknown = allow_unknown
        self.spent = spent
        self.reserved = 0.0
        self.in_flight = 0  # jobs holding a reservation
        self._waiting: list[asyncio.Future[None]] = []

    @property
    def committed(self) -> float:
        """Spent, plus reserved for the jobs in flight (USD)."""
        return self.spent + self.reserved

    def fits(self, estimate: float) -> bool:
        return self.max_cost is None or self.committed + estimate <= self.max_cost + self.EPSILON

    async def admit(self, estimate: float | None) -> float:
        """Reserve ``estimate`` for a job before it is submitted (waiting while jobs in
        flight may free enough); returns what was reserved, or raises :class:`BudgetExceededError`."""
        if estimate is None and self.max_cost is not None and not self.allow_unknown:
            raise BudgetExceededError(
                "not submitted: its cost cannot be estimated (no price known for the model: "
                "runcomfy-codegen pull keeps RunComfy's prices, or pass pricing=), and the batch has a budget "
                f"of {usd(self.max_cost)}; allow_unknown_cost=True (--allow-unknown-cost) submits it anyway",
                max_cost=self.max_cost,
                committed=self.committed,
                estimate=None,
            )
        amount = estimate or 0.0
        while not self.fits(amount):
            if not self.in_flight:  # nothing left to free: it will never fit
                assert self.max_cost is not None
                raise BudgetExceededError(
                    f"not submitted: its estimated cost {usd(amount)} does not fit in the budget of "
                    f"{usd(self.max_cost)} ({usd(self.committed)} spent); resume with a larger max_cost "
                    "(--max-cost) to submit it",
                    max_cost=self.max_cost,
                    committed=self.committed,
                    estimate=amount,
                )
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                await waiter
            finally:
                with contextlib.suppress(ValueError):
                    self._waiting.remove(waiter)
        return self.hold(amount)

    def hold(self, estimate: float | None) -> float:
        """Reserve ``estimate`` without checking: a job already submitted (resumed from the journal)."""
        amount = estimate or 0.0
        self.reserved += amount
        self.in_flight += 1
        return amount

    def settle(self, reserved: float, spent: float) -> None:
        """A job ended: its reservation goes, what it ``spent`` counts; the inputs waiting check again."""
        self.in_flight -= 1
        self.reserved = max(0.0, self.reserved - reserved) if self.in_flight else 0.0  # no drift from float sums
        self.spent += spent
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:
            if not waiter.done():
                waiter.set_result(None)


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
    retry_uncertain: bool = False,
    replay: bool = False,
    save_to: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    download_timeout: float = DOWNLOAD_TIMEOUT,
    max_download_bytes: int = MAX_DOWNLOAD_BYTES,
    max_cost: float | None = None,
    allow_unknown_cost: bool = False,
    pricing: Pricing | None = None,
) -> AsyncGenerator[BatchItem[Any], None]:
    """Run ``model`` on every input with at most ``concurrency`` jobs in flight; yield each input's
    :class:`BatchItem` as its job ends.

    ``model`` is a generated module or a model id; ``inputs`` its ``Input`` objects or mappings (read
    lazily, so a generator of millions is fine). ``timeout`` is each job's deadline from its submit
    (default: the client's ``wait_timeout``). ``save_to`` downloads each result's files there before the
    item is yielded, as :meth:`Result.save` does (``overwrite``, ``download_timeout`` and
    ``max_download_bytes`` are its ``overwrite``, ``timeout`` and ``max_bytes``): a file that fails makes
    the item an error. ``retry_uncertain`` submits again the inputs whose submit the journal shows may
    have reached the server (a job may exist, and be billed, for each). ``replay`` yields the inputs that
    ended in an earlier run too, read again from their jobs. See the module documentation for retries,
    the journal and signals.

    ``max_cost`` (USD) is the batch's budget: a job is submitted only while what the jobs that ended cost
    (as the API reported; a job whose cost it did not report counts its estimate), plus the estimates of
    the jobs in flight, plus its own estimate (``Input.estimate_cost()``, from the model's ``PRICING`` or
    ``pricing``) stay within it; the other inputs end as :class:`~runcomfy.errors.BudgetExceededError`
    items, nothing sent for them. An input whose cost cannot be estimated is refused under a budget unless
    ``allow_unknown_cost`` (then it counts when its cost is reported). With a journal, the costs of earlier
    runs count, and a resume (with a larger budget) submits the inputs the budget refused.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    budget = Budget(max_cost, allow_unknown=allow_unknown_cost)  # a bad max_cost: ValueError before anything
    module = _module(model)
    log = journal if isinstance(journal, Journal) or journal is None else Journal(journal)
    api, owned = _async_client(client)
    if log is not None:
        log.check_model(module.MODEL_ID)
        budget.spent = log.spent  # what earlier runs spent counts
    recorder = None if log is None else _Recorder(log, module.MODEL_ID)
    limit = api.wait_timeout if timeout is None else timeout

    async def one(index: int, raw: Any) -> BatchItem[Any]:
        item: BatchItem[Any] = BatchItem(index, raw)
        digest = digest_of(raw)
        held: float | None = None  # the estimate reserved in the budget while the job is in flight
        counted = False  # a replayed job whose cost an earlier run counted already
        try:
            data = as_input(raw)
            item.estimated_cost = data.estimate_cost(pricing=pricing)
            handle: AsyncRequestHandle[Any] | None = None
            uncertain, request_id = recorded(index)
            counted = replay and finished(index) and (uncertain or request_id is not None)
            if uncertain:
                item.resumed = True
                held = budget.hold(None if counted else item.estimated_cost)  # its submit may have made a job
                raise SubmitUncertainError(
                    f"input {index}: an earlier run stopped during its submit, before the request id was "
                    "recorded: the job may exist (and be billed); check your RunComfy dashboard before "
                    "resubmitting (retry_uncertain=True, runcomfy batch --retry-uncertain)"
                )
            if request_id is not None:  # resume, not resubmit
                handle = api.get_request(request_id, model=module)
                item.resumed = True
                held = budget.hold(None if counted else item.estimated_cost)  # in flight, whatever the budget
            if handle is None:
                held = await budget.admit(item.estimated_cost)  # checked and reserved before the submit
                started = time.monotonic()
                handle = await submit_recorded(index, digest, data, started + limit)
            else:
                started = time.monotonic()
            item.request_id = handle.request_id
            try:
                item.result = await wait(handle, started)
            except JobFailedError as failed:  # a failed job's answer may say what it cost too
                item.cost = reported_cost(failed.body)
                raise
            item.cost = item.result.cost
            if save_to is not None:
                item.files = await save(item.result, save_to)
        except asyncio.CancelledError:
            if held is not None:  # the batch is stopping: the reservation goes
                budget.settle(held, 0.0)
            raise
        except Exception as exc:  # every input ends as an item: nothing is dropped
            item.error = exc
            item.result = None
        spent = 0.0 if counted else charged(item)
        if held is not None:
            budget.settle(held, spent)
        if recorder is not None:
            recorder.ended(item, digest, spent)
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
        """Record the intent (on disk before the request leaves), submit, and record the request id. Once
        the request may leave, stopping the batch does not cut this short: the submit finishes and is
        recorded (else the job would exist unknown). A kill before the request id is on disk leaves the
        intent alone: the resume reports that input as uncertain, never submits it blindly again."""
        if recorder is not None:
            await recorder.intend(index, digest)

        async def go() -> AsyncRequestHandle[Any]:
            handle = await submit(data, deadline)
            if recorder is not None:
                await recorder.submitted(index, digest, handle.request_id)
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

    def finished(index: int) -> bool:
        return log is not None and log.finished(index, retry_errors=retry_errors, retry_uncertain=retry_uncertain)

    def finished_before(index: int, raw: Any) -> bool:
        """Whether the journal shows this input ended in an earlier run (checking it is the same input), and
        it is to be skipped (not replayed)."""
        if log is None or not (index in log.ended or index in log.submitted or index in log.intended):
            return False
        log.check(index, digest_of(raw))  # a journal of other inputs: JournalError, out of the batch
        return finished(index) and not replay

    def recorded(index: int) -> tuple[bool, str | None]:
        """What the journal says of this input: whether its submit may have made a job (it is not sent
        again), and the request id of its job to wait for (it is not submitted again)."""
        if log is None:
            return False, None
        replaying = replay and finished(index)
        if (index in log.intended and not retry_uncertain) or (replaying and log.ended[index][1] == "uncertain"):
            return True, None
        if index in log.submitted and (index not in log.ended or replaying):
            return False, log.submitted[index][1]
        return False, None

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
    retry_uncertain: bool = False,
    replay: bool = False,
    save_to: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    download_timeout: float = DOWNLOAD_TIMEOUT,
    max_download_bytes: int = MAX_DOWNLOAD_BYTES,
    max_cost: float | None = None,
    allow_unknown_cost: bool = False,
    pricing: Pricing | None = None,
) -> Generator[BatchItem[Any], None, None]:
    """:func:`amap` for code without asyncio: the jobs run on an event loop in a background thread
    (one thread whatever ``concurrency``), and the items come out of this iterator as they end.
    Stopping the iteration early stops the batch (jobs already submitted are in the journal); so do
    Ctrl-C and, iterated on the main thread, SIGTERM (see the module documentation)."""
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
            retry_uncertain=retry_uncertain,
            replay=replay,
            save_to=save_to,
            overwrite=overwrite,
            download_timeout=download_timeout,
            max_download_bytes=max_download_bytes,
            max_cost=max_cost,
            allow_unknown_cost=allow_unknown_cost,
            pricing=pricing,
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
    with _signals.sigterm_raises():  # SIGTERM: the clean-up below runs, as for Ctrl-C
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
