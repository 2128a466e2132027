"""What the last generation's public API was, and ``generated/CHANGES.md``, the history of its changes.

The previous state (the *baseline*) is read back from the package on disk (``runcomfy/models/__init__.py``
for the model ids and modules, each module's ``INPUT_SCHEMA`` for its schema, the stamp for each schema's
digest) with :func:`ast.literal_eval`: nothing of the old package is imported or executed.

A run that has changes to record first saves its baseline beside ``CHANGES.md`` (``PENDING``), then writes
the package, then ``CHANGES.md``, then removes the saved baseline. A run killed anywhere in between leaves
the saved baseline, which the next run measures its changes from (the package on disk may be half new by
then), so the history is never missing a change; the stamp's fast path never skips a run while it exists.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .changes import Change
from .writer import write_file

CHANGES = "CHANGES.md"
PENDING = ".codegen-pending-history.json"
TITLE = "# API changes\n"
INTRO = (
    "What changed in the public API of the generated `runcomfy` package at each regeneration, newest first.\n"
    "Written by `runcomfy-codegen generate`; **breaking** marks a change that may make an existing call fail\n"
    "or behave differently.\n"
)


def _module_file(out_dir: Path, module: str) -> Path:
    base = out_dir / Path(*module.split("."))
    return base / "__init__.py" if (base / "__init__.py").is_file() else base.with_suffix(".py")


def previous_modules(out_dir: Path) -> dict[str, str] | None:
    """model id → module, from the registry of the package on disk (``None``: no previous package)."""
    try:
        tree = ast.parse((out_dir / "runcomfy/models/__init__.py").read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign) and "CATALOG" in _targets(node):
            found = {}
            if isinstance(node.value, ast.Dict):
                for key, value in zip(node.value.keys, node.value.values, strict=True):
                    if isinstance(key, ast.Constant) and isinstance(value, ast.Call) and value.args:
                        module = value.args[0]
                        if isinstance(module, ast.Constant) and isinstance(module.value, str):
                            found[str(key.value)] = module.value
            return found
    return None


def _targets(node: ast.AnnAssign | ast.Assign) -> set[str]:
    targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
    return {target.id for target in targets if isinstance(target, ast.Name)}


def previous_input_schema(out_dir: Path, module: str) -> dict[str, Any]:
    """The ``INPUT_SCHEMA`` literal of a module of the package on disk (``{}`` when unreadable)."""
    try:
        tree = ast.parse(_module_file(out_dir, module).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign) and "INPUT_SCHEMA" in _targets(node) and node.value:
            try:
                value = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                return {}
            return value if isinstance(value, dict) else {}
    return {}


@dataclasses.dataclass
class Baseline:
    """The public API the changes of a run are measured from: that of the last complete generation."""

    modules: dict[str, str]  # model id → module
    digests: dict[str, str]  # model id → the digest of its schema file (per the stamp)
    schemas: dict[str, dict[str, Any]]  # model id → input schema, for the models read so far

    def schema(self, out_dir: Path, model_id: str) -> dict[str, Any]:
        """The old input schema of ``model_id`` (read from its module on disk the first time)."""
        if model_id not in self.schemas:
            self.schemas[model_id] = previous_input_schema(out_dir, self.modules[model_id])
        return self.schemas[model_id]


def baseline(out_dir: Path, digests: dict[str, str]) -> Baseline | None:
    """The baseline of this run: the one an interrupted run saved, if its changes are not recorded yet;
    else the package on disk, with ``digests`` from its stamp (``None``: there is no previous package)."""
    return load_pending(out_dir) or _on_disk(out_dir, digests)


def _on_disk(out_dir: Path, digests: dict[str, str]) -> Baseline | None:
    modules = previous_modules(out_dir)
    return None if modules is None else Baseline(modules, digests, {})


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def save_pending(out_dir: Path, base: Baseline) -> None:
    """Keep ``base`` (with the old schemas read so far) until :func:`record` has written its changes."""
    data = {"changes_md": _digest(out_dir / CHANGES), **dataclasses.asdict(base)}
    write_file(out_dir / PENDING, (json.dumps(data, sort_keys=True) + "\n").encode("utf-8"))


def load_pending(out_dir: Path) -> Baseline | None:
    """The baseline an interrupted run saved, or ``None`` when there is none, it cannot be read, or its
    changes were recorded (``CHANGES.md`` is no longer the file it was when the baseline was saved)."""
    try:
        data = json.loads((out_dir / PENDING).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("changes_md") != _digest(out_dir / CHANGES):
        return None
    modules, digests, schemas = data.get("modules"), data.get("digests"), data.get("schemas")
    if not all(_is_str_map(value) for value in (modules, digests)) or not isinstance(schemas, dict):
        return None
    return Baseline(dict(modules), dict(digests), {str(k): v for k, v in schemas.items() if isinstance(v, dict)})


def _is_str_map(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def has_pending(out_dir: Path) -> bool:
    """Whether a saved baseline is left (a run was interrupted, or it is not removed yet)."""
    return (out_dir / PENDING).exists()


def finish(out_dir: Path) -> None:
    """Forget the saved baseline: its changes are in ``CHANGES.md`` (or there were none)."""
    (out_dir / PENDING).unlink(missing_ok=True)


# --- CHANGES.md ------------------------------------------------------------------------------------


def today() -> str:
    """The UTC date of this run (``SOURCE_DATE_EPOCH`` fixes it, for reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (
        datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
        if epoch and epoch.isdigit()
        else datetime.datetime.now(datetime.timezone.utc)
    )
    return moment.date().isoformat()


def _code(text: str) -> str:
    """Text shown as Markdown inline code whatever backticks it holds (schema text is untrusted)."""
    text = " ".join(text.split())
    longest = 0
    current = 0
    for char in text:
        current = current + 1 if char == "`" else 0
        longest = max(longest, current)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}" if longest or text.startswith(" ") else f"{fence}{text}{fence}"


def _plain(text: str) -> str:
    """Schema-derived text on one Markdown line, with Markdown and HTML's special characters escaped."""
    text = " ".join(text.split())
    for char in "\\`*_{}[]<>()#+!|":
        text = text.replace(char, "\\" + char)
    return text


def section(changes: list[Change], date: str) -> str:
    """One release's entry: a heading with the date and counts, then the changes by model."""
    breaking = sum(change.breaking for change in changes)
    models = len({change.model_id for change in changes})
    lines = [
        f"## {date}: {len(changes)} change{'s' if len(changes) != 1 else ''} in {models} "
        f"model{'s' if models != 1 else ''}, {breaking} breaking",
        "",
    ]
    current = None
    for change in changes:
        if change.model_id != current:
            if current is not None:
                lines.append("")
            current = change.model_id
            lines.append(f"### {_code(change.model_id)}")
        label = "**breaking**" if change.breaking else "compatible"
        where = f"{_code(change.field)}: " if change.field else ""
        lines.append(f"- {label}: {where}{_plain(change.detail)}")
    return "\n".join(lines) + "\n"


def record(out_dir: Path, changes: list[Change], date: str | None = None) -> Path:
    """Add an entry for ``changes`` at the top of ``out_dir/CHANGES.md`` (written atomically)."""
    path = out_dir / CHANGES
    try:
        existing = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        existing = ""
    body = existing.split("\n## ", 1)
    older = "## " + body[1] if len(body) == 2 else ""
    text = f"{TITLE}\n{INTRO}\n{section(changes, date or today())}" + (f"\n{older}" if older else "")
    write_file(path, text.encode("utf-8"))
    return path
