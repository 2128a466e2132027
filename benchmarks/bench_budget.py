"""Budgets: ``runcomfy.map(..., max_cost=...)`` against the emulator with known prices, at several
concurrency levels; how much of the cap was spent, and by how much it was exceeded.

Each run submits ``--jobs`` inputs (default 200) of ``google/nano-banana-2/edit`` asking for 1, 2 or 3
images (USD 0.04 per image in the emulator, so 0.04, 0.08 or 0.12 a job; the estimate uses the same price)
with a cap of ``--max-cost`` USD (default 2.50: about 31 jobs of USD 0.08 on average). Jobs take ``--seconds`` each (default
0.2), with a random ±50% so they end out of order. The emulator's log is the judge: **spent** is the sum
of the costs of the jobs it ran (what RunComfy would bill), **over** how much that exceeds the cap (must
be 0 with exact estimates: never more than one job's estimate in any case), **left** what remained
unspent (under one job's estimate when the batch stopped for the budget).

The row ``unknown`` runs without a price (``allow_unknown_cost=True``): nothing is reserved for the jobs
in flight, so the cap is only checked against what the finished jobs cost, and the batch overshoots by up
to ``concurrency`` jobs: why estimates matter.

Run: ``.venv/bin/python benchmarks/bench_budget.py [--jobs 200] [--max-cost 2.5] [--concurrency 1,4,16,64]``
"""

from __future__ import annotations

import argparse
import random
import time

import runcomfy
from runcomfy._polling import PollSchedule
from runcomfy.models.google.nano_banana_2 import edit
from runcomfy.testing import Emulator

PRICE = 0.04
IMAGE = "https://example.com/cat.png"
POLL = PollSchedule(first=0.05, minimum=0.02, growth=0.2, maximum=0.2, learn=False)


def run(emu: Emulator, *, jobs: int, cap: float, concurrency: int, priced: bool, seconds: float) -> dict[str, float]:
    """One capped batch; the emulator's jobs are the truth of what was spent."""
    before = set(emu.jobs)
    rng = random.Random(concurrency)
    inputs = [{"prompt": f"job {n}", "image_urls": [IMAGE], "num_images": 1 + n % 3} for n in range(jobs)]
    client = runcomfy.AsyncClient(emu.token, base_url=emu.base_url, poll=POLL)
    emu.processing_time = seconds
    started = time.monotonic()
    items = []
    for item in runcomfy.map(
        edit,
        inputs,
        concurrency=concurrency,
        client=client,
        max_cost=cap,
        pricing=runcomfy.Pricing(PRICE, "output") if priced else None,
        allow_unknown_cost=not priced,
    ):
        items.append(item)
        emu.processing_time = seconds * rng.uniform(0.5, 1.5)  # the next jobs end out of order
    wall = time.monotonic() - started
    ran = [job for request_id, job in emu.jobs.items() if request_id not in before]
    spent = sum(PRICE * len(job.output["images"]) for job in ran if job.output)
    reported = sum(item.cost or 0.0 for item in items)
    refused = sum(isinstance(item.error, runcomfy.BudgetExceededError) for item in items)
    return {
        "submitted": len(ran),
        "refused": refused,
        "spent": spent,
        "reported": reported,
        "over": max(0.0, spent - cap),
        "left": max(0.0, cap - spent),
        "wall": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--max-cost", type=float, default=2.5, help="the cap in USD (default 2.50: ~31 jobs)")
    parser.add_argument("--concurrency", default="1,4,16,64")
    parser.add_argument("--seconds", type=float, default=0.2, help="each job's processing time (±50%%)")
    args = parser.parse_args()
    cap = args.max_cost
    levels = [int(level) for level in args.concurrency.split(",")]
    print(f"{args.jobs} inputs (USD 0.04/0.08/0.12 each), cap USD {cap:.2f}; largest estimate USD 0.12\n")
    print("| estimates | concurrency | submitted | refused | spent (USD) | over the cap | left | wall (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with Emulator(max_side=16, prices={edit.MODEL_ID: (PRICE, "output")}) as emu:
        rows = [(True, level) for level in levels] + [(False, level) for level in levels if level > 1]
        for priced, level in rows:
            row = run(emu, jobs=args.jobs, cap=cap, concurrency=level, priced=priced, seconds=args.seconds)
            assert abs(row["reported"] - row["spent"]) < 1e-9, row  # Result.cost is what the emulator billed
            print(
                f"| {'price known' if priced else 'unknown'} | {level} | {row['submitted']} | {row['refused']} | "
                f"{row['spent']:.2f} | {row['over']:.2f} | {row['left']:.2f} | {row['wall']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
