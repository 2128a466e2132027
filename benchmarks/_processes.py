"""Timing whole processes, interleaved: shared by bench_import.py and bench_cli.py."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping, Sequence


def run_once(argv: Sequence[str]) -> float:
    """Wall-clock seconds from spawning ``argv`` to its exit (output discarded)."""
    start = time.perf_counter()
    subprocess.run(list(argv), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def timings(cases: Mapping[str, Sequence[str]], runs: int, warmup: int) -> dict[str, list[float]]:
    """``runs`` samples of each case, the order rotated every round, after ``warmup`` untimed rounds
    (so .pyc files are written and files are in the page cache)."""
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            run_once(cases[name])
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(runs):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            samples[name].append(run_once(cases[name]))
    return samples
