"""Many jobs at once: ``runcomfy.map`` (asyncio, one thread; with and without a journal) vs a
``concurrent.futures`` thread pool calling the sync client, against the emulator with jobs that take 1 s,
with and without injected faults.

Each contender runs in its own child process (so its peak memory is its own: ``ru_maxrss``); the
emulator runs in this process, a fresh one per run, and its log is the judge:

- **lost**: inputs that ended as neither a result nor an error (must be 0);
- **duplicated**: inputs the emulator made more than one job for (must be 0);
- **orphaned**: jobs the emulator made whose submit answer never reached the client (a dropped
  connection after the submit was handled): the client reported those inputs as ``SubmitUncertainError``,
  as it must without an idempotency key; counted, not hidden.

Ideal wall time: ``ceil(jobs / concurrency)`` waves of 1 s. Target: ≤ 1.5× the ideal for 1,000 jobs at
concurrency 100, client peak memory < 200 MB, zero lost or duplicated, also with 10% of calls failing.

The ``map+journal`` contender writes a journal (``journal=``, in a temporary directory on disk, or
``--journal-dir``): its row also gives the number of ``fsync`` calls and the seconds spent in them.

Run: ``.venv/bin/python benchmarks/bench_batch.py [--jobs 1000] [--concurrency 100] [--fault-rate 0.1]
[--contenders map,map+journal,pool] [--journal-dir DIR]``
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

IMAGE = "https://example.com/cat.png"
KINDS = ("map", "map+journal", "pool")
TOKEN = "bench-token-not-secret"


# --- the child: one contender ----------------------------------------------------------------------


def count_fsyncs() -> dict[str, float]:
    """Wrap ``os.fsync`` to count its calls and the seconds spent in them (the journal's durability cost)."""
    counts = {"fsyncs": 0, "fsync_s": 0.0}
    real = os.fsync

    def fsync(fd: Any) -> None:
        started = time.perf_counter()
        try:
            real(fd)
        finally:
            counts["fsyncs"] += 1
            counts["fsync_s"] += time.perf_counter() - started

    os.fsync = fsync
    return counts


def child(kind: str, base_url: str, jobs: int, concurrency: int, journal_dir: str | None) -> None:
    import resource
    import tempfile

    import runcomfy
    from runcomfy.models.google.nano_banana_2 import edit

    inputs = [{"prompt": f"job {n}", "image_urls": [IMAGE]} for n in range(jobs)]
    ended: dict[int, dict[str, Any]] = {}
    fsyncs = count_fsyncs()
    started = time.perf_counter()
    if kind in ("map", "map+journal"):
        client = runcomfy.AsyncClient(TOKEN, base_url=base_url)
        with tempfile.TemporaryDirectory(dir=journal_dir) as directory:
            journal = Path(directory, "journal.jsonl") if kind == "map+journal" else None
            batch = runcomfy.map(edit, inputs, concurrency=concurrency, client=client, timeout=120, journal=journal)
            for item in batch:
                ended[item.index] = {"ok": item.ok, "error": type(item.error).__name__ if item.error else None}
    else:
        from concurrent.futures import ThreadPoolExecutor, as_completed

        sync = runcomfy.Client(TOKEN, base_url=base_url)

        def one(n: int) -> dict[str, Any]:
            try:
                edit.run(edit.Input.from_dict(inputs[n]), client=sync, timeout=120)
                return {"ok": True, "error": None}
            except Exception as exc:  # a plain pool: whatever the call raised
                return {"ok": False, "error": type(exc).__name__}

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            futures = {pool.submit(one, n): n for n in range(jobs)}
            for future in as_completed(futures):
                ended[futures[future]] = future.result()
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"wall": wall, "peak_mb": peak, "ended": ended, **fsyncs}))


# --- the parent: the emulator and the judging --------------------------------------------------------


def run(kind: str, jobs: int, concurrency: int, fault_rate: float, journal_dir: str | None) -> dict[str, Any]:
    from runcomfy.testing import Emulator

    with Emulator(token=TOKEN, processing_time=1.0, max_side=16) as emu:
        if fault_rate:
            emu.chaos(fault_rate, seed=7)
        command = [sys.executable, __file__, "--child", kind, "--base-url", emu.base_url]
        command += ["--jobs", str(jobs), "--concurrency", str(concurrency)]
        command += ["--journal-dir", journal_dir] if journal_dir else []
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        if done.returncode != 0:
            raise RuntimeError(f"{kind} failed:\n{done.stderr[-3000:]}")
        report = json.loads(done.stdout.strip().splitlines()[-1])
        jobs_by_prompt = collections.Counter(job.input.get("prompt") for job in emu.jobs.values())
        faults = sum(1 for call in emu.calls if call.fault)
        calls = len(emu.calls)
    ended = {int(index): value for index, value in report["ended"].items()}
    errors = collections.Counter(value["error"] for value in ended.values() if not value["ok"])
    uncertain = errors.get("SubmitUncertainError", 0)
    made_for_uncertain = sum(
        1 for n, value in ended.items() if value["error"] == "SubmitUncertainError" and jobs_by_prompt[f"job {n}"]
    )
    return {
        "wall": report["wall"],
        "peak_mb": report["peak_mb"],
        "results": sum(value["ok"] for value in ended.values()),
        "errors": dict(errors),
        "lost": jobs - len(ended),
        "duplicated": sum(1 for count in jobs_by_prompt.values() if count > 1),
        "orphaned": made_for_uncertain,
        "uncertain": uncertain,
        "calls": calls,
        "faults": faults,
        "fsyncs": report["fsyncs"],
        "fsync_s": report["fsync_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--contenders", default="map,map+journal,pool", help="comma-separated: map, map+journal, pool")
    parser.add_argument("--journal-dir", help="where map+journal writes its journal (default: the system's temp dir)")
    parser.add_argument("--child", choices=KINDS)
    parser.add_argument("--base-url")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.base_url, args.jobs, args.concurrency, args.journal_dir)
        return
    kinds = [kind for kind in args.contenders.split(",") if kind]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"unknown contenders {unknown}; known: {', '.join(KINDS)}")

    ideal = math.ceil(args.jobs / args.concurrency) * 1.0
    rows = []
    for rate in [0.0] + ([args.fault_rate] if args.fault_rate else []):
        for kind in kinds:
            rows.append((kind, rate, run(kind, args.jobs, args.concurrency, rate, args.journal_dir)))
    label = {
        "map": "`runcomfy.map` (asyncio, 1 thread)",
        "map+journal": "`runcomfy.map` + journal",
        "pool": "thread pool + sync `edit.run`",
    }
    print(f"### {args.jobs} jobs of 1 s, concurrency {args.concurrency} (ideal {ideal:.0f} s)\n")
    print(
        "| contender | faults | wall s | × ideal | peak MB | results | errors | lost | duplicated | orphaned "
        "| fsyncs (s) |"
    )
    print("|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for kind, rate, row in rows:
        errors = ", ".join(f"{name} {count}" for name, count in sorted(row["errors"].items())) or "0"
        faults = f"{rate:.0%} of calls ({row['faults']} of {row['calls']})" if rate else "none"
        print(
            f"| {label[kind]} | {faults} | {row['wall']:.1f} | {row['wall'] / ideal:.2f}× | {row['peak_mb']:.0f} "
            f"| {row['results']} | {errors} | {row['lost']} | {row['duplicated']} | {row['orphaned']} "
            f"| {row['fsyncs']} ({row['fsync_s']:.2f}) |"
        )
    print(
        "\nlost: inputs with neither a result nor an error; duplicated: inputs with more than one job on the "
        "server; orphaned: jobs made for a submit whose answer was lost (reported as SubmitUncertainError)."
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
