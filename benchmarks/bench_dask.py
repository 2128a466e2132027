"""A batch spread over a Dask cluster (``runcomfy.distributed.run_partitioned``) vs the same batch run by one
process with ``runcomfy.map``, against the emulator with jobs that take 1 s; then the cluster run again with
one worker process killed (SIGKILL) mid-run.

Every contender runs with a journal (in a temporary directory, or ``--journal-dir``). The emulator runs in
a process of its own, a fresh one per run (so it competes with no contender for a GIL), and its log is the
judge:

- **lost**: inputs that ended as neither a result nor an error (must be 0);
- **duplicated**: inputs the emulator made more than one job for (must be 0);
- **uncertain**: inputs whose submit was cut short by the kill after its write-ahead intent and before its
  request id was recorded: reported as ``SubmitUncertainError``, never submitted again; **orphaned**: of
  those, the ones the emulator did make a job for (it exists, unknown to the client: counted, not hidden).

The cluster is a ``LocalCluster`` of ``--workers`` worker processes with 1 thread each, started (and its
workers warmed up: ``runcomfy`` and httpx imported) before the clock starts; its scheduler and the client
run in this process. ``runcomfy.map`` runs in a child process, at the concurrency of one worker and at the
cluster's total. Target: the cluster's wall time within 1.5× of one process's, 0 lost, 0 duplicated, also
with a worker killed.

Run: ``.venv/bin/python benchmarks/bench_dask.py [--jobs 2000] [--concurrency 100] [--workers 2]
[--partitions 10] [--kill-after 4] [--journal-dir DIR]``
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

IMAGE = "https://example.com/cat.png"
TOKEN = "bench-token-not-secret"
EDIT = "google/nano-banana-2/edit"


def inputs(jobs: int) -> list[dict[str, Any]]:
    return [{"prompt": f"job {n}", "image_urls": [IMAGE]} for n in range(jobs)]


def cpu_seconds() -> float:
    """User and system CPU seconds of this process so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def outcome(item: Any) -> dict[str, Any]:
    cost = getattr(item.result, "cost", None)  # Result.cost where the client reads it, else None
    return {"ok": item.ok, "error": type(item.error).__name__ if item.error else None, "cost": cost}


# --- the emulator, in a process of its own ------------------------------------------------------------


def emulator_main() -> None:
    """Serve until stdin closes; then print the emulator's log (prompt → jobs, submits) as one JSON line."""
    from runcomfy.testing import Emulator

    with Emulator(token=TOKEN, processing_time=1.0, max_side=16) as emu:
        print(emu.base_url, flush=True)
        sys.stdin.read()
        jobs = collections.Counter(job.input.get("prompt") for job in emu.jobs.values())
        sent = sum(1 for call in emu.calls if call.method == "POST" and call.path.startswith("/v1/models/"))
        report = {"jobs": jobs, "submits": sent, "calls": len(emu.calls), "cpu": cpu_seconds()}
        print(json.dumps(report), flush=True)


@contextlib.contextmanager
def emulator() -> Iterator[tuple[str, dict[str, Any]]]:
    """A fresh emulator process: yields its base URL and a dict filled with its log when it stops."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--emulator"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdin is not None and process.stdout is not None
    log: dict[str, Any] = {}
    try:
        yield process.stdout.readline().strip(), log
        process.stdin.close()
        log.update(json.loads(process.stdout.readline()))
    finally:
        process.kill()
        process.wait()


# --- one process: runcomfy.map in a child ------------------------------------------------------------


def map_child(base_url: str, jobs: int, concurrency: int, journal_dir: str | None) -> None:
    import runcomfy

    client = runcomfy.AsyncClient(TOKEN, base_url=base_url)
    ended: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(dir=journal_dir) as directory:
        started = time.perf_counter()
        journal = Path(directory, "journal.jsonl")
        for item in runcomfy.map(EDIT, inputs(jobs), concurrency=concurrency, client=client, journal=journal):
            ended[item.index] = outcome(item)
        wall = time.perf_counter() - started
    print(json.dumps({"wall": wall, "ended": ended, "cpu": cpu_seconds()}))


def run_map(jobs: int, concurrency: int, journal_dir: str | None) -> dict[str, Any]:
    with emulator() as (base_url, log):
        command = [sys.executable, __file__, "--map-child", "--base-url", base_url]
        command += ["--jobs", str(jobs), "--concurrency", str(concurrency)]
        command += ["--journal-dir", journal_dir] if journal_dir else []
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"runcomfy.map failed:\n{done.stderr[-3000:]}")
        report = json.loads(done.stdout.strip().splitlines()[-1])
    ended = {int(index): value for index, value in report["ended"].items()}
    return {**judge(jobs, report["wall"], ended, log), "client_cpu": report["cpu"]}


# --- the cluster ---------------------------------------------------------------------------------------


def warm_up() -> None:
    """On each worker: import what a partition needs, so the clock measures the batch, not the imports."""
    import httpx  # noqa: F401
    import runcomfy.distributed  # noqa: F401
    from runcomfy.models.google.nano_banana_2 import edit  # noqa: F401


def run_cluster(
    client: Any,
    workers: int,
    jobs: int,
    concurrency: int,
    partitions: int,
    journal_dir: str | None,
    kill_after: float | None,
) -> dict[str, Any]:
    from runcomfy.distributed import run_partitioned

    client.wait_for_workers(workers)
    client.run(warm_up)
    killed: dict[str, Any] = {}
    with emulator() as (base_url, log), tempfile.TemporaryDirectory(dir=journal_dir) as directory:
        options = {"token": TOKEN, "base_url": base_url}
        timer = None
        if kill_after is not None:
            pids: dict[str, int] = client.run(os.getpid)
            victim = sorted(pids)[0]

            def kill() -> None:
                os.kill(pids[victim], signal.SIGKILL)
                killed.update(pid=pids[victim], at=kill_after)

            timer = threading.Timer(kill_after, kill)
        ended: dict[int, dict[str, Any]] = {}
        cpu_before = {**client.run(cpu_seconds), "driver": cpu_seconds()}
        started = time.perf_counter()
        if timer is not None:
            timer.start()
        batch = run_partitioned(
            client,
            EDIT,
            inputs(jobs),
            journal_dir=directory,
            partitions=partitions,
            concurrency=concurrency,
            client_options=options,
        )
        for item in batch:
            ended[item.index] = outcome(item)
        wall = time.perf_counter() - started
        cpu_after = {**client.run(cpu_seconds), "driver": cpu_seconds()}
        cpu = sum(used - cpu_before.get(where, 0.0) for where, used in cpu_after.items())  # not the killed worker's
    row = judge(jobs, wall, ended, log)
    row.update(killed=killed, client_cpu=cpu)
    return row


# --- judging -----------------------------------------------------------------------------------------


def judge(jobs: int, wall: float, ended: dict[int, dict[str, Any]], log: dict[str, Any]) -> dict[str, Any]:
    made = log["jobs"]
    errors = collections.Counter(value["error"] for value in ended.values() if not value["ok"])
    costs = [value["cost"] for value in ended.values() if value["cost"] is not None]
    return {
        "wall": wall,
        "results": sum(value["ok"] for value in ended.values()),
        "errors": dict(errors),
        "lost": jobs - len(ended),
        "duplicated": sum(1 for count in made.values() if count > 1),
        "uncertain": errors.get("SubmitUncertainError", 0),
        "orphaned": sum(
            1 for n, value in ended.items() if value["error"] == "SubmitUncertainError" and made.get(f"job {n}")
        ),
        "submits": log["submits"],
        "cost": sum(costs) if costs else None,
        "emulator_cpu": log["cpu"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100, help="jobs in flight per worker (per partition)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the LocalCluster")
    parser.add_argument("--partitions", type=int, default=10)
    parser.add_argument("--kill-after", type=float, default=4.0, help="seconds into the run to kill a worker")
    parser.add_argument("--journal-dir", help="where the journals go (default: the system's temp dir)")
    parser.add_argument("--emulator", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--map-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.emulator:
        emulator_main()
        return
    if args.map_child:
        map_child(args.base_url, args.jobs, args.concurrency, args.journal_dir)
        return

    from dask.distributed import Client, LocalCluster

    total = args.concurrency * args.workers
    one = run_map(args.jobs, args.concurrency, args.journal_dir)
    same = run_map(args.jobs, total, args.journal_dir)
    started = time.perf_counter()
    with (
        LocalCluster(
            n_workers=args.workers, processes=True, threads_per_worker=1, dashboard_address=None, silence_logs=40
        ) as cluster,
        Client(cluster) as client,
    ):
        cluster_start = time.perf_counter() - started
        run = (client, args.workers, args.jobs, args.concurrency, args.partitions, args.journal_dir)
        spread = run_cluster(*run, None)
        killed = run_cluster(*run, args.kill_after)
    cluster = (
        f"Dask `run_partitioned`, {args.workers} workers × concurrency {args.concurrency}, {args.partitions} partitions"
    )
    rows = [
        (f"`runcomfy.map`, 1 process, concurrency {args.concurrency}", one),
        (f"`runcomfy.map`, 1 process, concurrency {total}", same),
        (cluster, spread),
        (f"{cluster}, 1 worker killed at {args.kill_after:g} s", killed),
    ]
    print(f"### {args.jobs} jobs of 1 s, every run with a journal (cluster start {cluster_start:.1f} s, not timed)\n")
    print(
        f"| run | wall s | × 1 process at {args.concurrency} | × 1 process at {total} | results | errors | lost "
        "| duplicated | uncertain (orphaned) | submits | CPU s: client side / emulator |"
    )
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for name, row in rows:
        errors = ", ".join(f"{kind} {count}" for kind, count in sorted(row["errors"].items())) or "0"
        print(
            f"| {name} | {row['wall']:.1f} | {row['wall'] / one['wall']:.2f}× | {row['wall'] / same['wall']:.2f}× "
            f"| {row['results']} | {errors} | {row['lost']} | {row['duplicated']} "
            f"| {row['uncertain']} ({row['orphaned']}) | {row['submits']} "
            f"| {row['client_cpu']:.1f} / {row['emulator_cpu']:.1f} |"
        )
    costs = ", ".join("n/a" if row["cost"] is None else f"{row['cost']:.2f} USD" for _, row in rows)
    print(
        f"\nIdeal wall time: {math.ceil(args.jobs / total)} s at {total} jobs in flight, "
        f"{math.ceil(args.jobs / args.concurrency)} s at {args.concurrency}. The killed worker: "
        f"pid {killed['killed'].get('pid')}, restarted by its nanny; its partitions ran again from their "
        f"journals. Costs gathered per run: {costs} (n/a: the client's Result carries no cost). CPU s, client "
        "side: the `runcomfy.map` process, or the Dask workers and this process (scheduler and client; the "
        "killed worker's CPU is not counted, its successor's is, start-up included); emulator: its process."
    )


if __name__ == "__main__":
    main()
