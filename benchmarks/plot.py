"""Draw docs/assets/benchmarks.svg from the figures kept in benchmarks/results.json.

Two panels: validation time per call (runcomfy against pydantic, fastjsonschema and jsonschema, log scale)
and polling (calls per job for each schedule, log scale, with the mean delay written on each bar).
Needs matplotlib (the ``bench`` extra). Usage: ``python benchmarks/plot.py [--results FILE] [--out FILE]``.
The SVG is made reproducible (no date, fixed ids), so re-running it on the same figures changes no byte.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
OUT = HERE.parent / "docs" / "assets" / "benchmarks.svg"
COLOURS = ["#3f51b5", "#e0a030", "#7cb342", "#9e9e9e"]


def load(path: Path) -> dict[str, Any]:
    """The figures, as written in results.json."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def grouped_bars(axis: Any, groups: list[str], contenders: list[str], values: list[list[float]]) -> list[Any]:
    """One group of bars per case, one bar per contender; returns the bar containers."""
    width = 0.8 / len(contenders)
    containers = []
    for index, name in enumerate(contenders):
        positions = [group + (index - (len(contenders) - 1) / 2) * width for group in range(len(groups))]
        heights = [row[index] for row in values]
        containers.append(axis.bar(positions, heights, width, label=name, color=COLOURS[index % len(COLOURS)]))
    axis.set_xticks(range(len(groups)), [textwrap.fill(label, 16) for label in groups], fontsize=10)
    axis.set_yscale("log")
    axis.grid(axis="y", which="major", alpha=0.3)
    axis.set_axisbelow(True)
    return containers


def plot_validation(axis: Any, figures: dict[str, Any]) -> None:
    cases = list(figures["cases"])
    grouped_bars(axis, cases, figures["contenders"], [figures["cases"][case] for case in cases])
    axis.set_title("Validating a nano-banana-2/edit input (lower is better)", fontsize=12)
    axis.set_ylabel("µs per call (log scale)", fontsize=11)
    axis.set_ylim(top=1500)  # room for the legend above the bars
    axis.legend(fontsize=10, loc="upper left", ncols=2)


def plot_polling(axis: Any, figures: dict[str, Any]) -> None:
    jobs = list(figures["jobs"])
    calls = [figures["jobs"][job]["calls"] for job in jobs]
    delays = [figures["jobs"][job]["delay_ms"] for job in jobs]
    containers = grouped_bars(axis, [f"job of {job}" for job in jobs], figures["contenders"], calls)
    for index, container in enumerate(containers):
        axis.bar_label(container, [f"{row[index]:g} ms" for row in delays], fontsize=9, padding=2)
    axis.set_title("Polling: calls per job; on each bar, the mean delay (fewer calls is better)", fontsize=12)
    axis.set_ylabel("calls to /result (log scale)", fontsize=11)
    axis.set_ylim(top=max(max(row) for row in calls) * 30)  # room for the labels and the legend
    axis.legend(fontsize=10, loc="upper left", ncols=2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "runcomfy"  # fixed element ids: the same figures give the same bytes
    figures = load(args.results)
    figure, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5), layout="constrained")
    plot_validation(left, figures["validation"])
    plot_polling(right, figures["polling"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, format="svg", metadata={"Date": None})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
