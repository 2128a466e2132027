"""``runcomfy-codegen generate [--schemas DIR] [--out DIR] [--check]`` and ``runcomfy-codegen diff``."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runcomfy-codegen", description="Generate the runcomfy package from model schemas."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="regenerate generated/ from schemas/ (or check that it is current)")
    gen.add_argument("--schemas", type=Path, default=Path("schemas"), help="schema directory (default: schemas/)")
    gen.add_argument("--out", type=Path, default=Path("generated"), help="output directory (default: generated/)")
    gen.add_argument("--check", action="store_true", help="write nothing; exit 1 listing the files that would change")
    diff = commands.add_parser("diff", help="the API change report between two schema sets")
    diff.add_argument("--schemas", type=Path, default=Path("schemas"), help="the new schemas (default: schemas/)")
    diff.add_argument(
        "--against", default="HEAD", help="the old schemas: a directory, or a git revision (default: HEAD)"
    )
    diff.add_argument("--json", action="store_true", help="print the changes as JSON")
    return parser


def _diff(args: argparse.Namespace) -> int:
    import json

    from . import changes

    old_dir = Path(args.against)
    if old_dir.is_dir():
        old = changes.load_dir(old_dir)
    else:
        try:
            old = changes.load_rev(args.against, args.schemas.as_posix())
        except subprocess.CalledProcessError as exc:
            print(
                f"runcomfy-codegen: cannot read {args.schemas} at {args.against!r}: {exc.stderr.strip()}",
                file=sys.stderr,
            )
            return 2
    found = changes.compare(old, changes.load_dir(args.schemas))
    print(json.dumps([change.as_dict() for change in found], indent=2) if args.json else changes.report(found))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "diff":
        return _diff(args)
    started = time.perf_counter()
    from .stamp import up_to_date

    if up_to_date(args.schemas, args.out):  # nothing changed since the last run: no generator needed
        print(f"{args.out} is up to date (inputs and files match its stamp, {time.perf_counter() - started:.2f}s).")
        return 0
    from .errors import GenerationError
    from .pipeline import generate

    try:
        result = generate(args.schemas, args.out, check=args.check)
    except GenerationError as exc:
        print(f"runcomfy-codegen: {exc}", file=sys.stderr)
        return 2
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    plan = result.plan
    elapsed = time.perf_counter() - started
    if args.check:
        if plan.stale:
            print(f"{args.out} is stale: regenerate with `runcomfy-codegen generate`.", file=sys.stderr)
            for label, paths in (("added", plan.added), ("changed", plan.changed), ("removed", plan.removed)):
                for path in paths:
                    print(f"  would be {label}: {path}", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date ({result.models} models, {plan.unchanged} files, {elapsed:.1f}s).")
        return 0
    print(
        f"generated {result.models} models into {args.out}: {len(plan.added)} added, {len(plan.changed)} changed, "
        f"{len(plan.removed)} removed, {plan.unchanged} unchanged ({elapsed:.1f}s)."
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
