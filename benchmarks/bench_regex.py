"""Pattern checks: what the generated code runs vs Python's ``re`` on the pattern as written.

For each pattern and input size (1k/10k/100k characters) three contenders search the same string:

  python re    ``re.compile(pattern).search``: what the generated code did before (wrong dialect, and
               super-linear on the catastrophic patterns)
  generated    what the generator emits now: an equivalent ``re`` expression when backtracking is provably
               linear on it, else the linear matcher (``runcomfy._regex.Matcher``)
  linear       the linear matcher, forced (what any pattern would cost on it)

Each timing is the best of ``--repeat`` runs; Python's ``re`` is stopped after ``--budget`` seconds (the
catastrophic patterns would run for minutes, or ever). Ratios are to Python's ``re``.

Run: ``.venv/bin/python benchmarks/bench_regex.py [--repeat 5] [--budget 2]``
"""

from __future__ import annotations

import argparse
import re
import signal
import time
from collections.abc import Callable
from typing import Any

from runcomfy._regex import Matcher
from runcomfy_codegen import regex

# (label, pattern, input of size n)
CASES: list[tuple[str, str, Callable[[int], str]]] = [
    ("benign, valid", r"^[a-z0-9-]+$", lambda n: "a1-" * (n // 3) + "a" * (n % 3)),
    ("benign, invalid at the end", r"^[a-z0-9-]+$", lambda n: "a" * (n - 1) + "!"),
    ("quadratic in re", r"\w+$", lambda n: "a" * (n - 1) + "!"),
    ("catastrophic", r"^(a+)+$", lambda n: "a" * (n - 1) + "!"),
]
SIZES = (1_000, 10_000, 100_000)


class _OverBudgetError(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _OverBudgetError


def best_time(search: Callable[[str], Any], text: str, repeat: int, budget: float) -> float | None:
    """Best wall time of ``search(text)`` over ``repeat`` runs, None when one run exceeds ``budget``."""
    best = float("inf")
    for _ in range(repeat):
        signal.setitimer(signal.ITIMER_REAL, budget)
        started = time.perf_counter()
        try:
            search(text)
        except _OverBudgetError:
            return None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        best = min(best, time.perf_counter() - started)
    return best


def contenders(pattern: str) -> dict[str, Callable[[str], Any]]:
    translation = regex.translate(pattern)
    linear = Matcher(regex._Compiler().program(regex.parse(pattern))).search
    if translation.python is not None:
        generated, engine = re.compile(translation.python).search, "re"
    else:
        generated, engine = Matcher(translation.program or []).search, "linear"
    return {"python re": re.compile(pattern).search, f"generated ({engine})": generated, "linear": linear}


def fmt(seconds: float | None, budget: float) -> str:
    if seconds is None:
        return f"> {budget:g} s"
    return f"{seconds * 1e3:.3f} ms" if seconds < 1 else f"{seconds:.2f} s"


def ratio(seconds: float | None, base: float | None) -> str:
    if seconds is None or base is None:
        return "—" if seconds is None else "< 1 (re did not finish)"
    return f"{seconds / base:.3g}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds before Python's re is stopped")
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    print("| case | pattern | n | python re | generated | gen / re | linear | linear / re |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, pattern, make in CASES:
        searches = contenders(pattern)
        names = list(searches)
        for size in SIZES:
            text = make(size)
            times = {name: best_time(search, text, args.repeat, args.budget) for name, search in searches.items()}
            base, generated, linear = (times[name] for name in names)
            print(
                f"| {label} | `{pattern}` | {size:,} | {fmt(base, args.budget)} | {names[1].split()[1][1:-1]}: "
                f"{fmt(generated, args.budget)} | {ratio(generated, base)} | {fmt(linear, args.budget)} | "
                f"{ratio(linear, base)} |"
            )


if __name__ == "__main__":
    main()
