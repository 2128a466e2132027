"""A large batch spread over a cluster: partitions of the inputs, each run with :func:`runcomfy.amap` on a
worker, with a journal per partition on storage the workers share (``pip install "runcomfy[dask]"``).

```python
from dask.distributed import Client
import runcomfy.distributed
from runcomfy.models.google.nano_banana_2 import edit

with Client("tcp://scheduler:8786") as dask_client:
    items = runcomfy.distributed.run_partitioned(
        dask_client, edit, inputs, journal_dir="/shared/batch-1", partitions=20, concurrency=100
    )
    for item in items:  # every input once, partition by partition as they end
        print(item.index, item.ok, item.request_id, item.error)
```

What a worker's death costs: nothing is submitted twice and nothing is lost. Dask runs a partition again
when its worker dies (``distributed.scheduler.allowed-failures`` times) or when it raises (``retries``
times), and the attempt resumes from the partition's journal: jobs that have a request id are waited for,
never submitted again; a submit cut short between its write-ahead intent and its request id may have made
a job, so that input ends as :class:`~runcomfy.errors.SubmitUncertainError` (``retry_uncertain=True``
submits it again); the rest is submitted. Inputs that ended in the dead attempt are handed back again,
read from their jobs (``replay``, see :mod:`runcomfy.batch`). Two attempts of one partition never run at
once: each holds an exclusive lock (``flock``) on its partition's lock file, which the operating system
releases when the holder dies; a second attempt waits for it. Running the same call again after the driver
itself stopped resumes every partition the same way (and refuses other partitions of the same inputs).

The pieces also run on other schedulers: :func:`plan` cuts the inputs into :class:`Partition` objects (plain
data, picklable) and :func:`run_partition` runs one on the current machine: a Ray task, a Kubernetes job, a
process pool. Dask is imported only by :func:`run_partitioned`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from .batch import BatchItem, JournalError, amap
from .errors import RunComfyError

__all__ = ["LAYOUT", "Partition", "PartitionError", "PartitionLockedError", "plan", "run_partition", "run_partitioned"]

PARTITION_SIZE = 1000
"""Inputs per partition when ``partitions`` is not given."""
LAYOUT = "partitions.json"
"""The file in ``journal_dir`` that records how the inputs were cut (a resume must cut them the same way)."""
LOCK_POLL = 0.1
"""Seconds between two tries of a partition's lock while another attempt holds it."""


class PartitionError(RunComfyError):
    """A partition failed as a whole (not one of its inputs, which end as items): its worker died more often
    than the cluster allows, its journal refused the inputs, its storage failed. ``partition``, ``start`` and
    ``stop`` say which inputs; ``error`` is the cause. Run the same call again to resume from the journals."""

    def __init__(self, partition: int, start: int, stop: int, error: BaseException) -> None:
        self.partition = partition
        self.start = start
        self.stop = stop
        self.error = error
        hint = "" if isinstance(error, JournalError) else "; run the same call again to resume from its journal"
        super().__init__(
            f"partition {partition} (inputs {start} to {stop - 1}) failed: {type(error).__name__}: {error}{hint}"
        )


class PartitionLockedError(RunComfyError):
    """Another attempt still holds a partition's lock after ``lock_timeout`` seconds (raised on the worker:
    the cluster's ``retries`` try again later)."""


@dataclasses.dataclass(frozen=True)
class Partition:
    """One partition of a batch: its inputs and everything a worker needs to run them (plain data: it is
    pickled to the worker). Made by :func:`plan`; run by :func:`run_partition`."""

    number: int
    start: int
    """The position of its first input in the whole batch (its items' ``index`` counts from here)."""
    inputs: tuple[Any, ...]
    model_id: str
    journal_dir: str
    """A directory every worker reaches at this path (a shared filesystem with working ``flock``)."""
    layout: Mapping[str, Any]
    """How the whole batch was cut (checked against :data:`LAYOUT` in ``journal_dir``)."""
    concurrency: int = 16
    client_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """Keyword arguments of the worker's :class:`~runcomfy.AsyncClient` (none: it reads
    ``RUNCOMFY_API_TOKEN`` and ``RUNCOMFY_BASE_URL`` from the worker's environment)."""
    timeout: float | None = None
    retry_errors: bool = False
    retry_uncertain: bool = False
    save_to: str | None = None
    lock_timeout: float | None = None
    """Seconds to wait for the partition's lock (``None``: as long as it takes)."""

    @property
    def stop(self) -> int:
        return self.start + len(self.inputs)

    @property
    def journal(self) -> Path:
        return Path(self.journal_dir, f"partition-{self.number:05d}.jsonl")

    @property
    def lock(self) -> Path:
        return Path(self.journal_dir, f"partition-{self.number:05d}.lock")

    def __repr__(self) -> str:  # never the inputs, nor the client options (a token may be among them)
        return f"Partition({self.number}, inputs {self.start} to {self.stop - 1}, {self.model_id})"


def plan(
    model: ModuleType | str,
    inputs: Iterable[Any],
    *,
    journal_dir: str | os.PathLike[str],
    partitions: int | None = None,
    concurrency: int = 16,
    client_options: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    retry_errors: bool = False,
    retry_uncertain: bool = False,
    save_to: str | os.PathLike[str] | None = None,
    lock_timeout: float | None = None,
) -> list[Partition]:
    """Cut ``inputs`` (read at once) into ``partitions`` runs of consecutive inputs of equal size (default:
    :data:`PARTITION_SIZE` inputs each), in order. The other arguments are those of :func:`runcomfy.amap`,
    for each partition; ``concurrency`` is each partition's (a worker running several partitions at once
    has that many jobs in flight for each)."""
    if partitions is not None and (not isinstance(partitions, int) or partitions < 1):
        raise ValueError(f"partitions must be a whole number of at least 1, got {partitions!r}")
    if not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a whole number of at least 1, got {concurrency!r}")
    if lock_timeout is not None and lock_timeout < 0:
        raise ValueError(f"lock_timeout must be None or at least 0, got {lock_timeout!r}")
    model_id = model if isinstance(model, str) else str(model.MODEL_ID)
    every = list(inputs)
    count = partitions or max(1, math.ceil(len(every) / PARTITION_SIZE))
    size = max(1, math.ceil(len(every) / count))
    layout = {"model_id": model_id, "inputs": len(every), "partition_size": size}
    options = dict(client_options or {})
    return [
        Partition(
            number=number,
            start=start,
            inputs=tuple(every[start : start + size]),
            model_id=model_id,
            journal_dir=os.fspath(journal_dir),
            layout=layout,
            concurrency=concurrency,
            client_options=options,
            timeout=timeout,
            retry_errors=retry_errors,
            retry_uncertain=retry_uncertain,
            save_to=None if save_to is None else os.fspath(save_to),
            lock_timeout=lock_timeout,
        )
        for number, start in enumerate(range(0, len(every), size))
    ]


def run_partition(partition: Partition) -> list[BatchItem[Any]]:
    """Run one partition here, resuming from its journal, and return an item for each of its inputs (with
    its index in the whole batch). Holds the partition's lock meanwhile: an attempt that starts while
    another still runs waits for it (up to ``lock_timeout``, then :class:`PartitionLockedError`)."""
    directory = Path(partition.journal_dir)
    directory.mkdir(parents=True, exist_ok=True)
    check_layout(directory, partition.layout)
    with exclusive(partition.lock, partition.lock_timeout):
        items = asyncio.run(_run(partition))
    return [dataclasses.replace(item, index=partition.start + item.index) for item in items]


async def _run(partition: Partition) -> list[BatchItem[Any]]:
    from .async_client import AsyncClient

    api = AsyncClient(**partition.client_options)
    try:
        batch = amap(
            partition.model_id,
            partition.inputs,
            concurrency=partition.concurrency,
            client=api,
            timeout=partition.timeout,
            journal=partition.journal,
            retry_errors=partition.retry_errors,
            retry_uncertain=partition.retry_uncertain,
            replay=True,  # a retried attempt hands back the inputs that ended in the attempt before it too
            save_to=partition.save_to,
        )
        return [item async for item in batch]
    finally:
        await api.aclose()


def check_layout(directory: Path, layout: Mapping[str, Any]) -> None:
    """Record how the batch is cut in ``directory`` (the first attempt to get there does), or refuse a
    different cut: the journals belong to their partitions, so other partitions would submit inputs again."""
    path = directory / LAYOUT
    if not path.exists():
        draft = directory / f".{LAYOUT}.{uuid.uuid4().hex}"
        try:
            with draft.open("w", encoding="utf-8") as file:
                json.dump(dict(layout), file, sort_keys=True)
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileExistsError):  # another partition got there first
                os.link(draft, path)
        finally:
            draft.unlink(missing_ok=True)
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise JournalError(f"{path}: damaged (not JSON): remove it only with the journals beside it") from None
    if found != dict(layout):
        recorded, now = (json.dumps(cut, sort_keys=True) for cut in (found, dict(layout)))
        raise JournalError(
            f"{directory} holds the journals of another batch or of another cut of these inputs "
            f"(recorded {recorded}, now {now}): run with the same inputs and partitions, or another journal_dir"
        )


@contextlib.contextmanager
def exclusive(path: Path, timeout: float | None) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (made if missing) for the ``with`` block; released when the
    block ends, or by the operating system when the process dies. Waits while another holder has it,
    up to ``timeout`` seconds (``None``: without end), then raises :class:`PartitionLockedError`."""
    import fcntl  # POSIX: workers run on Linux or macOS

    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise PartitionLockedError(
                        f"{path}: another attempt of this partition still runs after {timeout} s"
                    ) from None
                time.sleep(LOCK_POLL)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def run_partitioned(
    client: Any,
    model: ModuleType | str,
    inputs: Iterable[Any],
    *,
    journal_dir: str | os.PathLike[str],
    partitions: int | None = None,
    concurrency: int = 16,
    retries: int = 2,
    client_options: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    retry_errors: bool = False,
    retry_uncertain: bool = False,
    save_to: str | os.PathLike[str] | None = None,
    lock_timeout: float | None = None,
) -> Iterator[BatchItem[Any]]:
    """Run ``model`` on every input on the Dask cluster of ``client`` (a ``distributed.Client``): one task
    per partition (see :func:`plan` for the arguments), each retried ``retries`` times when it raises (a
    worker that dies is the cluster's business: the scheduler runs its tasks again). Returns an iterator
    that submits the tasks when first read and yields every input's :class:`~runcomfy.batch.BatchItem`
    (``index``: its position in ``inputs``), a partition at a time as they end; a partition that fails
    as a whole raises :class:`PartitionError`. Closing the iterator early cancels the partitions not
    started (one already running on a worker runs to its end: its journal has it).

    ``client_options`` travel to the workers inside the tasks: pass the token there only over a cluster
    whose connections are encrypted (``tls://``); otherwise give the workers ``RUNCOMFY_API_TOKEN``."""
    if not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a whole number of at least 0, got {retries!r}")
    tasks = plan(
        model,
        inputs,
        journal_dir=journal_dir,
        partitions=partitions,
        concurrency=concurrency,
        client_options=client_options,
        timeout=timeout,
        retry_errors=retry_errors,
        retry_uncertain=retry_uncertain,
        save_to=save_to,
        lock_timeout=lock_timeout,
    )
    return _gather(client, tasks, retries)


def _gather(client: Any, tasks: list[Partition], retries: int) -> Iterator[BatchItem[Any]]:
    import importlib

    # imported by name: the package needs no Dask to type-check, and Dask's own types are partial
    as_completed: Any = importlib.import_module("distributed").as_completed
    batch = uuid.uuid4().hex[:12]
    futures = {
        client.submit(_task, task, key=f"runcomfy-partition-{task.number}-{batch}", retries=retries): task
        for task in tasks
    }
    try:
        for future in as_completed(list(futures)):
            task = futures.pop(future)
            try:
                outcome: list[BatchItem[Any]] | JournalError = future.result()
            except Exception as exc:  # the worker died too often, the storage failed, the lock stayed taken
                raise PartitionError(task.number, task.start, task.stop, exc) from exc
            finally:
                future.release()
            if isinstance(outcome, JournalError):
                raise PartitionError(task.number, task.start, task.stop, outcome) from outcome
            yield from outcome
    finally:
        if futures:
            client.cancel(list(futures))


def _task(partition: Partition) -> list[BatchItem[Any]] | JournalError:
    """:func:`run_partition` as a Dask task: a :class:`~runcomfy.batch.JournalError` (journals of other inputs)
    comes back as a value, since running the task again cannot help; anything else raises, to be retried."""
    try:
        return run_partition(partition)
    except JournalError as exc:
        return exc
