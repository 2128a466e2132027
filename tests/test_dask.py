"""Batches on a cluster (:mod:`runcomfy.distributed`), judged by the emulator's own log: every input ends as one
item gathered on the client, no input gets two jobs, also when a worker process is killed (SIGKILL) while
its submits are in flight and Dask runs its partition again; two attempts of a partition never run at once;
a retried partition hands back the inputs its dead attempt had finished (``amap(replay=True)``); errors
cross processes whole.

The Dask tests run a real ``LocalCluster`` of 2 worker processes and skip without ``dask[distributed]``
(the ``test`` extra installs it, so CI runs them)."""

from __future__ import annotations

import collections
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import runcomfy
from conftest import IMAGE, submits
from runcomfy import errors
from runcomfy._polling import PollSchedule
from runcomfy.batch import BatchItem, JournalError
from runcomfy.distributed import LAYOUT, PartitionError, PartitionLockedError, exclusive, plan, run_partition
from runcomfy.errors import ErrorDetail
from runcomfy.models.google.nano_banana_2 import edit
from runcomfy.testing import Emulator

EDIT = "google/nano-banana-2/edit"
FAST_POLL = PollSchedule(first=0.05, minimum=0.02, growth=0.1, maximum=0.2, learn=False)
HELD = 1.5  # seconds the emulator holds the submits that are not answered at once


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(max_side=16, processing_time=0.3) as emulator:
        yield emulator


def options(emu: Emulator) -> dict[str, Any]:
    """The workers' client: the emulator, polled fast."""
    return {"token": emu.token, "base_url": emu.base_url, "poll": FAST_POLL}


def inputs(tag: str, n: int) -> list[dict[str, Any]]:
    return [{"prompt": f"{tag} #{i}", "image_urls": [IMAGE]} for i in range(n)]


def jobs_of(emu: Emulator) -> dict[str, list[str]]:
    """prompt → the request ids of the jobs the emulator made for it."""
    jobs: dict[str, list[str]] = collections.defaultdict(list)
    for job in emu.jobs.values():
        jobs[job.input["prompt"]].append(job.request_id)
    return jobs


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def judge(emu: Emulator, given: list[dict[str, Any]], items: list[BatchItem[Any]]) -> collections.Counter[str]:
    """Every input ended as exactly one item, no input has two jobs, a result is its input's one job, and an
    input without a result ended uncertain (its submit may have made a job: reported, never repeated)."""
    assert sorted(item.index for item in items) == list(range(len(given))), "an input was lost or doubled"
    jobs = jobs_of(emu)
    assert max(map(len, jobs.values())) == 1, {p: ids for p, ids in jobs.items() if len(ids) > 1}
    for item in items:
        assert item.input == given[item.index]
        if item.ok:
            assert jobs[item.input["prompt"]] == [item.request_id] == [item.result.request_id]
            assert isinstance(item.result.output, edit.Output)
        else:
            assert isinstance(item.error, errors.SubmitUncertainError), item.error
            assert item.request_id is None and item.resumed
    return collections.Counter("ok" if item.ok else type(item.error).__name__ for item in items)


# --- errors cross processes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        errors.JobFailedError("r-1", {"message": "boom"}, {"status": "failed"}),
        errors.TimeoutError("r-2", 12.5, status="in_queue", cancelled=True),
        errors.JobCancelledError("r-3"),
        errors.APIError("refused", status_code=422, error_code=422000, request_id="r-4", body={"detail": []}),
        errors.SubmitUncertainError("cut short"),
        errors.ValidationError([ErrorDetail(("prompt",), 5, "a string")], model=EDIT),
        PartitionLockedError("busy"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_pickle_whole(error: errors.RunComfyError) -> None:
    # a worker's items travel back pickled: JobFailedError and TimeoutError could not be unpickled, and
    # JobCancelledError came back with its message said twice
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error) and copy.args == error.args
    assert {k: v for k, v in vars(copy).items() if k != "errors"} == {
        k: v for k, v in vars(error).items() if k != "errors"
    }


# --- the journal hands back what ended before (replay) ----------------------------------------------


def test_replay_hands_back_inputs_that_ended_before_without_submitting_again(emu: Emulator, tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    given: list[Any] = inputs("replay", 5)
    given[3] = {"prompt": 5}  # invalid: ends before any call
    emu.inject("drop", times=1, method="POST", path_prefix="/v1/models/")  # input 0: uncertain
    emu.inject("fail", times=1)  # input 1: its job fails
    client = runcomfy.AsyncClient(emu.token, base_url=emu.base_url, poll=FAST_POLL)
    first = {item.index: item for item in runcomfy.map(edit, given, concurrency=1, client=client, journal=journal)}
    assert isinstance(first[0].error, errors.SubmitUncertainError) and isinstance(first[1].error, errors.JobFailedError)
    assert first[2].ok and first[4].ok and isinstance(first[3].error, errors.ValidationError)
    sent = submits(emu)
    assert list(runcomfy.map(edit, given, client=client, journal=journal)) == []  # without replay: skipped

    again = {item.index: item for item in runcomfy.map(edit, given, client=client, journal=journal, replay=True)}
    assert sorted(again) == [0, 1, 2, 3, 4] and submits(emu) == sent  # read again, nothing submitted
    assert isinstance(again[0].error, errors.SubmitUncertainError) and again[0].resumed
    assert isinstance(again[1].error, errors.JobFailedError) and again[1].request_id == first[1].request_id
    for index in (2, 4):
        assert again[index].ok and again[index].resumed and again[index].request_id == first[index].request_id
    assert isinstance(again[3].error, errors.ValidationError) and not again[3].resumed  # it had no job: ran again
    assert len(emu.jobs) == 4  # inputs 0, 1, 2 and 4: one job each


# --- one partition, here: its lock and its layout ---------------------------------------------------


def test_two_attempts_of_a_partition_never_run_at_once(emu: Emulator, tmp_path: Path) -> None:
    given = inputs("twice", 20)
    (partition,) = plan(EDIT, given, journal_dir=tmp_path, partitions=1, concurrency=20, client_options=options(emu))
    outcomes: list[list[BatchItem[Any]]] = []
    attempts = [threading.Thread(target=lambda: outcomes.append(run_partition(partition))) for _ in range(2)]
    for attempt in attempts:
        attempt.start()
    for attempt in attempts:
        attempt.join(timeout=60)
    assert len(outcomes) == 2
    first, second = outcomes
    assert all(item.ok and not item.resumed for item in first)  # the attempt that got the lock first
    assert all(item.ok and item.resumed for item in second)  # waited for it, then read its jobs again
    judge(emu, given, second)
    assert len(emu.jobs) == submits(emu) == 20


def test_a_partition_lock_waits_for_its_holder_and_is_freed_when_the_holder_is_killed(tmp_path: Path) -> None:
    lock = tmp_path / "partition-00000.lock"
    hold = f"import fcntl, os, sys, time\nfd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)\n"
    hold += "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(600)\n"
    holder = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(PartitionLockedError, match=r"still runs after 0\.3 s"), exclusive(lock, 0.3):
            pass
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        with exclusive(lock, 10):  # the operating system released it with the process
            pass
    finally:
        holder.kill()
        holder.wait()


def test_a_journal_dir_refuses_another_cut_of_the_inputs(emu: Emulator, tmp_path: Path) -> None:
    given = inputs("cut", 6)
    for partition in plan(EDIT, given, journal_dir=tmp_path, partitions=2, client_options=options(emu)):
        assert all(item.ok for item in run_partition(partition))
    assert json.loads((tmp_path / LAYOUT).read_text()) == {"inputs": 6, "model_id": EDIT, "partition_size": 3}
    # cut in 3, partition 0 would hold inputs 0-1 and partition 1 inputs 2-3: input 2 is in partition 0's
    # journal, not in partition 1's, and would be submitted again
    other = plan(EDIT, given, journal_dir=tmp_path, partitions=3, client_options=options(emu))
    with pytest.raises(JournalError, match="another cut of these inputs"):
        run_partition(other[1])
    assert len(emu.jobs) == 6


def test_plan_refuses_bad_arguments_before_anything_runs(tmp_path: Path) -> None:
    for bad in ({"partitions": 0}, {"concurrency": 0}, {"partitions": 1.5}, {"lock_timeout": -1}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            plan(EDIT, inputs("bad", 3), journal_dir=tmp_path, **bad)
    assert not list(tmp_path.iterdir())
    cut = plan(edit, inputs("cut", 10), journal_dir=tmp_path, partitions=3)
    assert [(p.start, p.stop) for p in cut] == [(0, 4), (4, 8), (8, 10)]
    assert "cut #" not in repr(cut[0]) and "token" not in repr(plan(EDIT, [1], journal_dir=tmp_path)[0])


def test_importing_runcomfy_distributed_imports_no_dask() -> None:
    code = "import sys, runcomfy.distributed; print(sorted({'dask', 'distributed', 'httpx'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


# --- on a Dask cluster ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    distributed = pytest.importorskip(
        "distributed", reason="dask[distributed] is not installed (the test extra has it)"
    )
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, silence_logs=40
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_a_batch_on_a_local_cluster_gathers_every_input_once(dask_client: Any, emu: Emulator, tmp_path: Path) -> None:
    from runcomfy.distributed import run_partitioned

    given = inputs("cluster", 120)
    run = dict(journal_dir=tmp_path, partitions=6, concurrency=20, client_options=options(emu))
    items = list(run_partitioned(dask_client, edit, given, **run))
    assert judge(emu, given, items) == {"ok": 120}
    assert not any(item.resumed for item in items)
    assert sorted(path.name for path in tmp_path.glob("partition-*.jsonl")) == [
        f"partition-{n:05d}.jsonl" for n in range(6)
    ]
    again = list(run_partitioned(dask_client, EDIT, given, **run))  # resumed: every result read again
    assert judge(emu, given, again) == {"ok": 120} and all(item.resumed for item in again)
    assert submits(emu) == 120
    with pytest.raises(PartitionError, match="another cut of these inputs"):
        list(run_partitioned(dask_client, EDIT, given, **{**run, "partitions": 4}))


def peek(journal: Path) -> tuple[set[int], set[int], set[int]]:
    """From a journal being written (read only; a line being written is left out): the inputs with a
    request id, those with an intent and no request id yet (their submit is in flight), and those ended."""
    try:
        data = journal.read_bytes()
    except FileNotFoundError:
        return set(), set(), set()
    answered, intended, ended = set(), set(), set()
    for line in data[: data.rfind(b"\n") + 1].splitlines():
        record = json.loads(line)
        if "status" in record:
            ended.add(record["index"])
        elif record.get("intent") is True:
            intended.add(record["index"])
        elif isinstance(record.get("request_id"), str):
            answered.add(record["index"])
    return answered, intended - answered, ended


def test_a_worker_killed_during_submits_loses_no_input_and_submits_none_twice(
    dask_client: Any, emu: Emulator, tmp_path: Path
) -> None:
    from runcomfy.distributed import run_partitioned

    given = inputs("killed", 160)
    pids: dict[str, int] = dask_client.run(os.getpid)
    # 4 partitions of 40 at concurrency 40: both workers send 40 submits at once; 30 are answered at once,
    # the others held HELD seconds: the worker is killed once some of its jobs ended, with submits in flight
    at_once = emu.inject("slow", times=30, method="POST", path_prefix="/v1/models/", delay=0.0)
    held = emu.inject("slow", times=130, method="POST", path_prefix="/v1/models/", delay=HELD)
    items: list[BatchItem[Any]] = []
    failed: list[BaseException] = []

    def driver() -> None:
        try:
            run = dict(journal_dir=tmp_path, partitions=4, concurrency=40, client_options=options(emu))
            items.extend(run_partitioned(dask_client, EDIT, given, **run))
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=driver)
    thread.start()
    victim: dict[str, Any] = {}

    def a_partition_mid_submits() -> bool:
        """Once the 80 first submits arrived and the 30 answered at once are recorded: a partition running
        with jobs ended, and held submits in flight. Its worker is the victim."""
        seen = {number: peek(tmp_path / f"partition-{number:05d}.jsonl") for number in range(4)}
        if at_once.times or held.times > 130 - 50 or sum(len(answered) for answered, _, _ in seen.values()) < 30:
            return False
        for worker, keys in dask_client.processing().items():
            for number in (int(str(key).split("-")[2]) for key in keys):
                answered, in_flight, ended = seen[number]
                if ended and in_flight:
                    victim.update(worker=worker, number=number, answered=answered, in_flight=in_flight, ended=ended)
                    return True
        return False

    wait_until(a_partition_mid_submits, "a partition with submits answered and in flight")
    os.kill(pids[victim["worker"]], signal.SIGKILL)
    emu.clear_faults()  # the retry's submits are answered at once
    thread.join(timeout=120)
    assert not thread.is_alive() and not failed, failed
    arrived = (30 - at_once.times) + (130 - held.times)
    wait_until(lambda: sum(1 for call in emu.calls if call.fault == "slow") == arrived, "the held submits to end")

    ends = judge(emu, given, items)
    start = victim["number"] * 40
    mine = {item.index - start: item for item in items if start <= item.index < start + 40}
    assert all(mine[index].ok and mine[index].resumed for index in victim["answered"])  # waited for, not resubmitted
    assert victim["ended"] <= victim["answered"]  # those ended in the dead attempt: read again, handed back
    uncertain = {index for index, item in mine.items() if not item.ok}
    assert uncertain and uncertain <= victim["in_flight"]  # cut short in flight: reported, never sent again
    assert ends["ok"] + ends["SubmitUncertainError"] == 160 and ends["SubmitUncertainError"] == len(uncertain)
    assert submits(emu) == 160  # every input sent once at most: 160 submits (some dropped by the kill)
