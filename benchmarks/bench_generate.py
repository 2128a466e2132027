"""Code generation time: runcomfy-codegen over all of schemas/ vs a datamodel-codegen loop, one call per schema.

Contenders, all as subprocesses with this interpreter's environment:

  generate (fresh)      runcomfy-codegen generate --schemas schemas --out <new empty dir>   (every model)
  generate (no change)  the same into a directory that is already up to date
  generate --check      the same with --check (writes nothing)
  generate (1 changed)  into an up-to-date directory, with one schema changed since (the runs alternate
                        between two schema sets that differ in one model: each run regenerates that
                        module and the registry, reuses the others, and reports the API change)
  generator import      python -c "import runcomfy_codegen.pipeline" (the interpreter + import floor)
  datamodel-codegen     datamodel-codegen --input <file> --input-file-type jsonschema
                        --output-model-type dataclasses.dataclass --output <file>, once per schema,
                        on each schema file's ``input_schema`` extracted to a standalone JSON file
                        (what a user scripts today; it makes the input dataclasses only: no validation,
                        no output model, no package)

runcomfy-codegen runs from a private snapshot of generator/, templates/ and schemas/ taken at the start
(others may be editing the checkout meanwhile). The machine is shared and noisy: our generator's runs are interleaved with the datamodel-codegen loop
(split into as many chunks as there are rounds), and medians are reported.

Run: ``.venv/bin/python benchmarks/bench_generate.py [--rounds 5] [--sample N]``
(``--sample N`` runs datamodel-codegen on N evenly spread schemas only and extrapolates to all of them.)
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
GENERATED = ROOT / "generated"


def _tool(name: str) -> str:
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        sys.exit(f"{name} not found: install the project's [bench] extras into this environment")
    return found


def snapshot(into: Path) -> dict[str, str]:
    """A private copy of the generator, its templates and the schemas (others may be editing the checkout
    while this runs); returns the environment that makes a subprocess import the generator from it."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "generator" / "runcomfy_codegen", into / "generator" / "runcomfy_codegen", ignore=ignore)
    shutil.copytree(ROOT / "templates", into / "templates", ignore=ignore)
    shutil.copytree(SCHEMAS, into / "schemas")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(into / "generator"), env.get("PYTHONPATH")]))
    where = subprocess.run(
        [sys.executable, "-c", "import runcomfy_codegen; print(runcomfy_codegen.__file__)"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if not Path(where).resolve().is_relative_to(into.resolve()):
        sys.exit(f"the snapshot is not used: runcomfy_codegen imported from {where}")
    return env


def run(
    command: list[str], *, ok: tuple[int, ...] = (0,), cwd: Path = ROOT, env: dict[str, str] | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in ok:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed, done


def extract_inputs(schema_files: list[Path], into: Path) -> list[Path]:
    """Each file's ``input_schema`` as a standalone JSON Schema file."""
    into.mkdir(parents=True)
    inputs = []
    for path in schema_files:
        rel = path.relative_to(SCHEMAS).with_suffix("")
        target = into / ("__".join(rel.parts) + ".json")
        target.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8"))["input_schema"], indent=2))
        inputs.append(target)
    return inputs


def spread(items: list[Path], count: int) -> list[Path]:
    if count >= len(items):
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def chunks(items: list[Path], parts: int) -> list[list[Path]]:
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (i < extra)
        out.append(items[start:end])
        start = end
    return out


def same_tree(one: Path, two: Path) -> bool:
    """Whether two directory trees hold the same files with the same bytes (``__pycache__`` ignored)."""

    def files(root: Path) -> set[Path]:
        return {p.relative_to(root) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}

    names = files(one)
    if names != files(two):
        return False
    _, mismatch, errors = filecmp.cmpfiles(one, two, [str(n) for n in names], shallow=False)
    return not mismatch and not errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each runcomfy-codegen case (default 5)")
    parser.add_argument(
        "--sample", type=int, default=0, help="run datamodel-codegen on N evenly spread schemas only (default: all)"
    )
    args = parser.parse_args()

    schema_files = sorted(SCHEMAS.rglob("*.json"))
    total = len(schema_files)
    codegen = [sys.executable, "-m", "runcomfy_codegen.cli", "generate", "--schemas", "schemas"]
    dmc = _tool("datamodel-codegen")

    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp_name:
        tmp = Path(tmp_name)
        snap = tmp / "snapshot"
        env = snapshot(snap)
        mine = {"cwd": snap, "env": env}
        inputs = extract_inputs(schema_files, tmp / "inputs")
        sample = spread(inputs, args.sample) if args.sample else inputs
        (tmp / "dmc").mkdir()

        # Untimed: the up-to-date directory the no-change and --check runs use (and a warm page cache).
        warm = tmp / "warm"
        _, first = run([*codegen, "--out", str(warm)], **mine)
        identical = same_tree(warm / "runcomfy", GENERATED / "runcomfy")
        files = sum(1 for p in (warm / "runcomfy").rglob("*.py"))

        # Two schema sets that differ in one model (a bound of the seed model's prompt), and a directory
        # that is up to date with the first: each "1 changed" run switches it to the other set.
        changed = snap / "schemas-changed"
        shutil.copytree(snap / "schemas", changed)
        seed = changed / "google/nano-banana-2/edit.json"
        data = json.loads(seed.read_text(encoding="utf-8"))
        data["input_schema"]["properties"]["prompt"]["maxLength"] = 5000
        seed.write_text(json.dumps(data, indent=2), encoding="utf-8")
        incremental = tmp / "incremental"
        run([*codegen, "--out", str(incremental)], **mine)
        flip = ["schemas-changed", "schemas"]

        ours: dict[str, list[float]] = {
            "generate (fresh)": [],
            "generate (no change)": [],
            "generate --check": [],
            "generate (1 changed)": [],
            "generator import only": [],
        }
        dmc_times: list[float] = []
        dmc_failures: list[str] = []
        parts = chunks(sample, args.rounds)
        names = list(ours)
        for round_ in range(args.rounds):
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in order:
                if name == "generate (fresh)":
                    elapsed, _ = run([*codegen, "--out", str(tmp / f"fresh{round_}")], **mine)
                    shutil.rmtree(tmp / f"fresh{round_}")
                elif name == "generate (no change)":
                    elapsed, _ = run([*codegen, "--out", str(warm)], **mine)
                elif name == "generate --check":
                    elapsed, _ = run([*codegen, "--out", str(warm), "--check"], **mine)
                elif name == "generate (1 changed)":
                    command = [*codegen[:-1], flip[round_ % 2], "--out", str(incremental)]
                    elapsed, done = run(command, **mine)
                    if "(1 regenerated, 91 reused)" not in done.stdout:
                        raise RuntimeError(f"not an incremental run: {done.stdout}")
                else:
                    elapsed, _ = run([sys.executable, "-c", "import runcomfy_codegen.pipeline"], **mine)
                ours[name].append(elapsed)
            for source in parts[round_]:
                command = [
                    dmc,
                    "--input", str(source),
                    "--input-file-type", "jsonschema",
                    "--output-model-type", "dataclasses.dataclass",
                    "--output", str(tmp / "dmc" / (source.stem + ".py")),
                ]  # fmt: skip
                elapsed, done = run(command, ok=tuple(range(256)))
                dmc_times.append(elapsed)
                if done.returncode != 0:
                    dmc_failures.append(f"{source.stem} (exit {done.returncode})")

    measured = sum(dmc_times)
    loop_all = measured / len(dmc_times) * total  # = measured when every schema ran
    sampled = len(dmc_times) < total

    print("### Code generation: runcomfy-codegen vs a datamodel-codegen loop\n")
    print(
        f"{total} schemas. runcomfy-codegen: {args.rounds} runs per case, interleaved with the datamodel-codegen "
        f"loop ({len(dmc_times)} schemas{' sampled' if sampled else ''}, split in {args.rounds} chunks). "
        f"Fresh output: {files} .py files; "
        f"{'identical to' if identical else 'DIFFERENT from'} the checked-in generated/ tree.\n"
    )
    loop_label = f"datamodel-codegen loop, {total} schemas" + (
        f" (extrapolated from {len(dmc_times)})" if sampled else ""
    )
    fresh = statistics.median(ours["generate (fresh)"])
    print("| task | runs | median s | min s | per model, ms | of a full run | ratio to datamodel-codegen loop |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, values in ours.items():
        median = statistics.median(values)
        per_model = f"{median / total * 1e3:.1f}" if name != "generator import only" else "-"
        print(
            f"| {name} | {len(values)} | {median:.2f} | {min(values):.2f} | {per_model} | {median / fresh:.1%} "
            f"| {median / loop_all:.4f}× (1/{loop_all / median:.0f}) |"
        )
    print(f"| {loop_label} | 1 | {loop_all:.2f} | - | {loop_all / total * 1e3:.1f} | - | 1.00× |")
    print(
        f"| datamodel-codegen, one schema | {len(dmc_times)} | {statistics.median(dmc_times):.2f} "
        f"| {min(dmc_times):.2f} | {statistics.median(dmc_times) * 1e3:.0f} | - "
        f"| {statistics.median(dmc_times) / loop_all:.4f}× |"
    )
    print(
        f"\nFull regeneration of all {total} models takes {fresh:.2f} s, "
        f"{fresh / statistics.median(dmc_times):.1f}× the time of one datamodel-codegen call, "
        f"{loop_all / fresh:.0f}× less than the loop; the interpreter + generator import alone is "
        f"{statistics.median(ours['generator import only']) / fresh:.0%} of it."
    )
    if dmc_failures:
        print(f"\ndatamodel-codegen failed on {len(dmc_failures)} schema(s): {', '.join(dmc_failures)}")
    if first.stderr.strip():
        print("\nruncomfy-codegen notes (first run):\n\n```\n" + first.stderr.strip()[-1500:] + "\n```")


if __name__ == "__main__":
    main()
