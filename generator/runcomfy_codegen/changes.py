"""The API change report between two schema sets: what changed in each model's input, and whether an
existing call may now fail or behave differently (breaking) or not (compatible).

Works on the schema files' ``input_schema`` as JSON data (top-level properties), so it can compare any
two sets: a directory, or ``schemas/`` at a git revision.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# keyword → which direction tightens: "up" (a larger value rejects more) or "down"
BOUNDS = {
    "minimum": "up", "exclusiveMinimum": "up", "minLength": "up", "minItems": "up",
    "maximum": "down", "exclusiveMaximum": "down", "maxLength": "down", "maxItems": "down",
}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Change:
    model_id: str
    kind: str  # model-added, model-removed, field-added, field-removed, field-renamed, type, required,
    #            enum-added, enum-removed, bound-tightened, bound-loosened, default, format
    field: str | None
    detail: str
    breaking: bool

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --- loading schema sets ---------------------------------------------------------------------------


def load_dir(directory: Path) -> dict[str, dict[str, Any]]:
    """model id → input schema, for every schema file below ``directory``."""
    found = {}
    for path in sorted(directory.rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found[str(data["model_id"])] = data.get("input_schema") or {}
    return found


def load_rev(rev: str, directory: str = "schemas", cwd: Path | None = None) -> dict[str, dict[str, Any]]:
    """model id → input schema, for ``directory`` at git revision ``rev``."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout

    found = {}
    for name in git("ls-tree", "-r", "--name-only", rev, "--", directory).splitlines():
        if name.endswith(".json"):
            data = json.loads(git("show", f"{rev}:{name}"))
            found[str(data["model_id"])] = data.get("input_schema") or {}
    return found


# --- comparing -------------------------------------------------------------------------------------


def compare(old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]) -> list[Change]:
    """Every change from ``old`` to ``new`` (model id → input schema), models in id order."""
    changes: list[Change] = []
    for model_id in sorted(old.keys() | new.keys()):
        if model_id not in new:
            changes.append(Change(model_id, "model-removed", None, "the model is gone", True))
        elif model_id not in old:
            changes.append(Change(model_id, "model-added", None, "a new model", False))
        else:
            changes += _compare_model(model_id, old[model_id], new[model_id])
    return changes


def _types(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type")
    kinds = {kind} if isinstance(kind, str) else set(kind or ())
    return kinds | {"integer"} if "number" in kinds else kinds


def _compare_model(model_id: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    old_props: Mapping[str, Any] = old.get("properties") or {}
    new_props: Mapping[str, Any] = new.get("properties") or {}
    old_required, new_required = set(old.get("required") or ()), set(new.get("required") or ())
    changes = []
    removed = [name for name in old_props if name not in new_props]
    added = [name for name in new_props if name not in old_props]
    for name in list(removed):  # a removed and an added field alike in type and name or text: a rename
        candidates = [a for a in added if _types(new_props[a]) == _types(old_props[name])]
        same_text = [a for a in candidates if old_props[name].get("description") and
                     new_props[a].get("description") == old_props[name].get("description")]  # fmt: skip
        close = same_text or difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
        if close:
            removed.remove(name)
            added.remove(close[0])
            changes.append(Change(model_id, "field-renamed", name, f"renamed-looking: {name} → {close[0]}", True))
    for name in removed:
        changes.append(Change(model_id, "field-removed", name, "the field is gone: calls that set it fail", True))
    for name in added:
        required = name in new_required
        text = "a new required field: calls without it fail" if required else "a new optional field"
        changes.append(Change(model_id, "field-added", name, text, required))
    for name in old_props.keys() & new_props.keys():
        changes += _compare_field(model_id, name, old_props[name], new_props[name])
        if (name in old_required) != (name in new_required):
            now = name in new_required
            text = "now required" if now else "now optional"
            changes.append(Change(model_id, "required", name, text, now))
    return sorted(changes, key=lambda c: (c.field or "", c.kind))


def _compare_field(model_id: str, name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes = []
    old_types, new_types = _types(old), _types(new)
    if old_types != new_types:
        widened = bool(old_types) and (not new_types or old_types <= new_types)
        text = f"type {'/'.join(sorted(old_types)) or 'any'} → {'/'.join(sorted(new_types)) or 'any'}"
        changes.append(Change(model_id, "type", name, text, not widened))
    old_enum, new_enum = old.get("enum"), new.get("enum")
    if old_enum is not None or new_enum is not None:
        if new_enum is None:
            changes.append(Change(model_id, "enum-removed", name, "no longer limited to a list of values", False))
        elif old_enum is None:
            changes.append(Change(model_id, "enum-added", name, f"now limited to {new_enum}", True))
        else:
            gone = [v for v in old_enum if v not in new_enum]
            extra = [v for v in new_enum if v not in old_enum]
            if gone:
                changes.append(Change(model_id, "enum-removed", name, f"values removed: {gone}", True))
            if extra:
                changes.append(Change(model_id, "enum-added", name, f"values added: {extra}", False))
    for keyword, tightens in BOUNDS.items():
        before, after = old.get(keyword), new.get(keyword)
        if before == after or isinstance(before, bool) or isinstance(after, bool):
            continue
        if after is None or before is None:
            tighter = before is None
        else:
            tighter = after > before if tightens == "up" else after < before
        kind = "bound-tightened" if tighter else "bound-loosened"
        changes.append(Change(model_id, kind, name, f"{keyword} {before} → {after}", tighter))
    if old.get("format") != new.get("format"):
        text = f"format {old.get('format')} → {new.get('format')}"
        changes.append(Change(model_id, "format", name, text, new.get("format") is not None))
    if old.get("default") != new.get("default"):
        before, after = json.dumps(old.get("default")), json.dumps(new.get("default"))
        text = f"default {before} → {after}: calls without it behave differently"
        changes.append(Change(model_id, "default", name, text, True))
    return changes


# --- reporting -------------------------------------------------------------------------------------


def report(changes: list[Change]) -> str:
    """The changes as readable text, by model, breaking ones marked."""
    if not changes:
        return "No API changes."
    lines = []
    breaking = sum(change.breaking for change in changes)
    lines.append(f"{len(changes)} API change{'s' if len(changes) != 1 else ''}, {breaking} breaking:")
    current = None
    for change in changes:
        if change.model_id != current:
            current = change.model_id
            lines.append(f"\n{current}")
        where = f"{change.field}: " if change.field else ""
        lines.append(f"  {'BREAKING' if change.breaking else 'compatible':<10} {where}{change.detail}")
    return "\n".join(lines)
