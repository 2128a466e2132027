"""Whole-process wall time of the light ``runcomfy`` commands vs ``python -c "import requests"`` and ``pass``.

Each case is a fresh subprocess (the virtualenv's ``runcomfy`` console script, or ``<this python> -c``), timed
wall-clock from spawn to exit with output discarded. The cases are interleaved (order rotated every round) and
repeated; medians are reported, with ratios to ``import requests`` measured in the same run.

Target: ``runcomfy --help`` and ``runcomfy describe MODEL`` take at most the time of ``import requests``.

Run: ``.venv/bin/python benchmarks/bench_cli.py [--runs 20]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _processes import timings

MODEL = "google/nano-banana-2/edit"
RUNCOMFY = str(Path(sys.executable).with_name("runcomfy"))  # the venv's console script, next to its python
CASES: dict[str, list[str]] = {
    "runcomfy --help": [RUNCOMFY, "--help"],
    f"runcomfy describe {MODEL}": [RUNCOMFY, "describe", MODEL],
    f"runcomfy run {MODEL} --help": [RUNCOMFY, "run", MODEL, "--help"],
    'python -c "import requests"': [sys.executable, "-c", "import requests"],
    "python -c pass": [sys.executable, "-c", "pass"],
}
BASELINE = 'python -c "import requests"'
EMPTY = "python -c pass"
TARGETS = ("runcomfy --help", f"runcomfy describe {MODEL}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per case (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per case first (default 2)")
    args = parser.parse_args()
    if not os.path.exists(RUNCOMFY):
        sys.exit(f"no `runcomfy` script at {RUNCOMFY}: install the project into this python's virtualenv first")

    samples = timings(CASES, args.runs, args.warmup)
    med = {name: statistics.median(values) for name, values in samples.items()}
    empty = med[EMPTY]

    print("### `runcomfy` command start-up: whole process, wall time\n")
    print(
        f"`{RUNCOMFY}` and `{sys.executable}` (Python {sys.version.split()[0]}), {os.cpu_count()} CPUs; "
        f"{args.runs} interleaved runs per case after {args.warmup} warm-up runs. "
        "'over pass' = median minus the `python -c pass` median.\n"
    )
    print("| case | median ms | min ms | ratio to import requests | over pass, ms |")
    print("|---|---:|---:|---:|---:|")
    for name, values in samples.items():
        over = f"{(med[name] - empty) * 1e3:.1f}" if name != EMPTY else "-"
        print(
            f"| `{name}` | {med[name] * 1e3:.1f} | {min(values) * 1e3:.1f} | {med[name] / med[BASELINE]:.2f}× | {over} |"
        )
    print()
    for name in TARGETS:
        ratio = med[name] / med[BASELINE]
        print(
            f"Target (`{name}` ≤ 1.00× `import requests`): {ratio:.2f}× → **{'MET' if ratio <= 1.0 else 'NOT MET'}**  "
        )


if __name__ == "__main__":
    main()
