"""``runcomfy-codegen``: ``generate``, ``diff``, ``pull`` and ``add``.

```
runcomfy-codegen generate [--schemas DIR] [--out DIR] [--check] [--full]
runcomfy-codegen diff [--schemas DIR] [--against DIR|REV] [--json]
runcomfy-codegen pull [--schemas DIR] [--base-url URL] [--token T] [--search TEXT] [--category C] [--prune]
runcomfy-codegen add FILE|MODEL_ID [--schemas DIR] [--base-url URL] [--token T]
```
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="runcomfy-codegen", description="Generate the runcomfy package from model schemas."
    )
    parser.add_argument("--version", action="version", version=f"runcomfy-codegen {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="regenerate generated/ from schemas/ (or check that it is current)")
    gen.add_argument("--schemas", type=Path, default=Path("schemas"), help="schema directory (default: schemas/)")
    gen.add_argument("--out", type=Path, default=Path("generated"), help="output directory (default: generated/)")
    gen.add_argument("--check", action="store_true", help="write nothing; exit 1 listing the files that would change")
    gen.add_argument("--full", action="store_true", help="regenerate every module (default: only changed ones)")
    gen.add_argument(
        "--package",
        metavar="NAME",
        help="generate the models into this package of yours (e.g. myapp.runcomfy_models) below --out, against "
        "the installed runcomfy runtime (default: the runcomfy package itself)",
    )
    diff = commands.add_parser("diff", help="the API change report between two schema sets")
    diff.add_argument("--schemas", type=Path, default=Path("schemas"), help="the new schemas (default: schemas/)")
    diff.add_argument(
        "--against", default="HEAD", help="the old schemas: a directory, or a git revision (default: HEAD)"
    )
    diff.add_argument("--json", action="store_true", help="print the changes as JSON")
    pull = commands.add_parser("pull", help="fetch the catalog's schemas into schemas/")
    add = commands.add_parser("add", help="add one model to schemas/, from a file or the catalog")
    add.add_argument("source", metavar="FILE|MODEL_ID", help="a schema file, or a model id to fetch")
    for command in (pull, add):
        command.add_argument(
            "--schemas", type=Path, default=Path("schemas"), help="schema directory (default: schemas/)"
        )
        command.add_argument("--base-url", help="the API (default: $RUNCOMFY_BASE_URL or RunComfy's)")
        command.add_argument("--token", help="the API token (default: $RUNCOMFY_API_TOKEN)")
    pull.add_argument("--search", metavar="TEXT", help="only models whose id or name contains TEXT")
    pull.add_argument("--category", help="only models of this category (image, video, audio)")
    pull.add_argument("--prune", action="store_true", help="delete local schemas the catalog no longer has")
    return parser


def _fetch(args: argparse.Namespace) -> int:
    """``pull`` and ``add``: the catalog through the runtime's client, checked files into schemas/."""
    from runcomfy.errors import RunComfyError

    from . import pull

    try:
        from runcomfy.client import Client

        def client() -> Client:
            return Client(args.token, base_url=args.base_url)

        if args.command == "pull":
            result = pull.pull(args.schemas, client(), search=args.search, category=args.category, prune=args.prune)
        else:
            is_file = Path(args.source).is_file()
            result = pull.add(args.schemas, args.source, None if is_file else client())
    except (RunComfyError, ValueError) as exc:
        print(f"runcomfy-codegen {args.command}: {exc}", file=sys.stderr)
        return 2
    for error in result.rejected:
        print(f"runcomfy-codegen {args.command}: skipped {error}", file=sys.stderr)
    for model_id in result.written:
        print(f"  wrote    {args.schemas / model_id}.json")
    for model_id in result.removed:
        print(f"  removed  {args.schemas / model_id}.json")
    if result.not_in_catalog:
        print(
            f"{len(result.not_in_catalog)} local schema(s) not in the catalog (kept; --prune deletes them): "
            + ", ".join(result.not_in_catalog)
        )
    print(
        f"{len(result.written)} written, {len(result.unchanged)} unchanged, {len(result.removed)} removed, "
        f"{len(result.rejected)} rejected. Next: runcomfy-codegen generate"
    )
    return 1 if result.rejected else 0


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


# The import name of each dependency → the distribution that provides it (for the install hint).
_DISTRIBUTIONS = {
    "datamodel_code_generator": "datamodel-code-generator",
    "jinja2": "jinja2",
    "ruff": "ruff",
    "jsonschema": "jsonschema",
    "runcomfy": "runcomfy",
}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").partition(".")[0]
        if top not in _DISTRIBUTIONS:
            raise
        print(
            f"runcomfy-codegen: {_DISTRIBUTIONS[top]} is not installed: pip install --upgrade runcomfy-codegen "
            "(it brings the exact versions the generator needs)",
            file=sys.stderr,
        )
        return 2


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "diff":
        return _diff(args)
    if args.command in ("pull", "add"):
        return _fetch(args)
    started = time.perf_counter()
    from .stamp import up_to_date
    from .target import package_target

    try:
        target = package_target(args.package)
    except ValueError as exc:
        print(f"runcomfy-codegen: {exc}", file=sys.stderr)
        return 2
    if not args.full and up_to_date(
        args.schemas, args.out, target
    ):  # nothing changed since the last run: no generator needed
        print(f"{args.out} is up to date (inputs and files match its stamp, {time.perf_counter() - started:.2f}s).")
        return 0
    from .errors import GenerationError
    from .pipeline import generate

    try:
        result = generate(args.schemas, args.out, check=args.check, full=args.full, target=target)
    except GenerationError as exc:
        print(f"runcomfy-codegen: {exc}", file=sys.stderr)
        return 2
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    plan = result.plan
    elapsed = time.perf_counter() - started
    if result.changes:
        from .changes import report

        print(report(result.changes) + "\n", file=sys.stderr if args.check else sys.stdout)
    if args.check:
        if plan.stale:
            print(f"{args.out} is stale: regenerate with `runcomfy-codegen generate`.", file=sys.stderr)
            for label, paths in (("added", plan.added), ("changed", plan.changed), ("removed", plan.removed)):
                for path in paths:
                    print(f"  would be {label}: {path}", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date ({result.models} models, {plan.unchanged} files, {elapsed:.1f}s).")
        return 0
    history = f" The API changes are recorded in {args.out / 'CHANGES.md'}." if result.changes else ""
    print(
        f"generated {result.models} models into {args.out} ({result.regenerated} regenerated, "
        f"{result.models - result.regenerated} reused): {len(plan.added)} files added, {len(plan.changed)} changed, "
        f"{len(plan.removed)} removed, {plan.unchanged} unchanged ({elapsed:.1f}s).{history}"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
