"""Whole-process import time: one runcomfy model module vs fal_client vs requests vs an empty interpreter.

Each case is a fresh ``<this python> -c "<statement>"`` subprocess, timed wall-clock from spawn to exit. The
cases are interleaved (order rotated every round) and repeated; medians are reported, with ratios to
fal_client both on the whole process and on the import alone (median minus the ``pass`` median).

Then, in a subprocess, checks what importing the edit module pulls in: no ``requests`` (nor urllib3, http
libraries) and no other model module; and lists the modules that cost most (``-X importtime``).

Run: ``.venv/bin/python benchmarks/bench_import.py [--runs 20]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _processes import timings

MODEL_MODULE = "runcomfy.models.google.nano_banana_2.edit"
CASES: dict[str, str] = {
    "runcomfy edit model": "from runcomfy.models.google.nano_banana_2 import edit",
    "import runcomfy": "import runcomfy",
    "import fal_client": "import fal_client",
    "import requests": "import requests",
    "stdlib floor: import dataclasses, typing, re": "import dataclasses, typing, re",
    "python -c pass": "pass",
}
BASELINE = "import fal_client"
EMPTY = "python -c pass"


_PROBE = r"""
import sys
MODEL = sys.argv[1]
before = set(sys.modules)
from runcomfy.models.google.nano_banana_2 import edit
after = set(sys.modules)
import json
added = sorted(after - before)
chain = {"runcomfy.models", "runcomfy.models.google", "runcomfy.models.google.nano_banana_2", MODEL}
json.dump({
    "added": added,
    "other_models": [m for m in added if m.startswith("runcomfy.models.") and m not in chain],
    "http": [m for m in added if m.split(".")[0] in
             ("requests", "urllib3", "httpx", "httpcore", "http", "ssl", "socket", "email", "urllib", "fal_client", "json", "importlib_metadata")],
}, sys.stdout)
"""


def probe() -> dict[str, list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, MODEL_MODULE], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)


def import_profile(statement: str, runs: int = 5, top: int = 10) -> list[tuple[str, float, float]]:
    """(module, median self µs, median cumulative µs) of the costliest modules, by ``-X importtime``."""
    selfs: dict[str, list[float]] = {}
    cumulative: dict[str, list[float]] = {}
    for _ in range(runs):
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", statement], check=True, capture_output=True, text=True
        ).stderr
        for line in err.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            own, total, name = line[len("import time:") :].split("|")
            selfs.setdefault(name.strip(), []).append(float(own))
            cumulative.setdefault(name.strip(), []).append(float(total))
    rows = [(name, statistics.median(v), statistics.median(cumulative[name])) for name, v in selfs.items()]
    return sorted(rows, key=lambda row: -row[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per case (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per case first (default 2)")
    args = parser.parse_args()

    samples = timings(
        {name: [sys.executable, "-c", statement] for name, statement in CASES.items()}, args.runs, args.warmup
    )
    med = {name: statistics.median(values) for name, values in samples.items()}
    empty = med[EMPTY]
    base_net = med[BASELINE] - empty

    print("### Import time: whole `python -c ...` process\n")
    print(
        f"`{sys.executable}` (Python {sys.version.split()[0]}), {os.cpu_count()} CPUs; {args.runs} interleaved "
        f"runs per case after {args.warmup} warm-up runs. 'import only' = median minus the `pass` median.\n"
    )
    print(
        "| case | median ms | min ms | ratio to fal_client (whole process) | import only, ms | ratio to fal_client (import only) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, values in samples.items():
        net = med[name] - empty
        net_ratio = f"{net / base_net:.2f}×" if name != EMPTY else "-"
        print(
            f"| {name} | {med[name] * 1e3:.1f} | {min(values) * 1e3:.1f} | {med[name] / med[BASELINE]:.2f}× "
            f"| {net * 1e3:.1f} | {net_ratio} |"
        )
    ratio = med["runcomfy edit model"] / med[BASELINE]
    print(
        f"\nTarget (runcomfy edit ≤ 0.35× fal_client, whole process): {ratio:.2f}× → **{'MET' if ratio <= 0.35 else 'NOT MET'}**"
    )

    found = probe()
    print("\n#### What `from runcomfy.models.google.nano_banana_2 import edit` imports\n")
    print("| check | result |")
    print("|---|---|")
    print(f"| `requests` imported | {'YES (bad)' if 'requests' in found['added'] else 'no'} |")
    print(f"| HTTP / network / json modules imported | {', '.join(found['http']) or 'none'} |")
    print(f"| other model modules imported | {', '.join(found['other_models']) or 'none'} |")
    tops = sorted({m.split(".")[0] for m in found["added"]})
    print(
        f"| modules added to those loaded at interpreter start | {len(found['added'])} (top-level: {', '.join(tops)}) |"
    )
    ok = "requests" not in found["added"] and not found["other_models"]
    print(f"\nNo `requests`, no other model module: **{'OK' if ok else 'FAILED'}**")

    print("\n#### Costliest modules in the runcomfy edit import (`-X importtime`, median of 5 runs)\n")
    print("| module | self µs | cumulative µs |")
    print("|---|---:|---:|")
    for name, own, total in import_profile(CASES["runcomfy edit model"]):
        print(f"| {name} | {own:.0f} | {total:.0f} |")


if __name__ == "__main__":
    main()
