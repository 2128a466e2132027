"""The API change report between two schema sets: what changed in each model's input, and whether an
existing call may now fail or behave differently (breaking) or not (compatible).

Works on the schema files' ``input_schema`` as JSON data, field by field, into nested objects and arrays
of objects (``loras[].scale``), following local ``$ref`` s, so it can compare any two sets: a directory,
``schemas/`` at a git revision, or the package generated last time.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .ir import ASSERTED_FORMATS

# keyword → which direction tightens: "up" (a larger value rejects more) or "down"
BOUNDS = {
    "minimum": "up", "exclusiveMinimum": "up", "minLength": "up", "minItems": "up",
    "maximum": "down", "exclusiveMaximum": "down", "maxLength": "down", "maxItems": "down",
}  # fmt: skip
MAX_DEPTH = 20  # nested objects compared field by field down to this depth
MAX_REF_HOPS = 20


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
    kinds = (
        {kind}
        if isinstance(kind, str)
        else {k for k in kind if isinstance(k, str)}
        if isinstance(kind, list)
        else set()
    )
    kinds = {"number" if k == "float" else k for k in kinds}  # the catalog's "float", as the generator reads it
    return kinds | {"integer"} if "number" in kinds else kinds


def _compare_model(model_id: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes = _compare_object(model_id, "", _Scope(old), old, _Scope(new), new)
    return sorted(changes, key=lambda c: (c.field or "", c.kind))


class _Scope:
    """A root schema, to follow its local ``$ref`` s (``#/$defs/...``) while comparing."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root

    def resolve(self, schema: Any) -> Mapping[str, Any]:
        for _ in range(MAX_REF_HOPS):
            if not isinstance(schema, Mapping):
                return {}
            ref = schema.get("$ref")
            if not isinstance(ref, str) or not ref.startswith("#"):
                return schema
            target: Any = self.root
            for part in ref[1:].split("/")[1:]:
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part) if isinstance(target, Mapping) else None
            schema = target
        return {}


def _children(schema: Mapping[str, Any], scope: _Scope) -> tuple[str, Mapping[str, Any]] | None:
    """Where a field's own fields are: ``(".", object)`` for an object, ``("[].", item object)`` for an
    array of objects; ``None`` for anything else."""
    if isinstance(schema.get("properties"), Mapping):
        return ".", schema
    items = scope.resolve(schema.get("items"))
    if isinstance(items.get("properties"), Mapping):
        return "[].", items
    return None


def _compare_object(
    model_id: str,
    prefix: str,
    old_scope: _Scope,
    old: Mapping[str, Any],
    new_scope: _Scope,
    new: Mapping[str, Any],
    depth: int = 0,
) -> list[Change]:
    """The changes between two object schemas' fields, named ``prefix + field`` (nested fields as
    ``loras[].scale`` or ``options.seed``)."""
    old_props: Mapping[str, Any] = old.get("properties") or {}
    new_props: Mapping[str, Any] = new.get("properties") or {}
    old_required, new_required = set(old.get("required") or ()), set(new.get("required") or ())
    changes = []
    removed = [name for name in old_props if name not in new_props]
    added = [name for name in new_props if name not in old_props]
    for name in list(removed):  # a removed and an added field alike in type and name or text: a rename
        before = old_scope.resolve(old_props[name])
        candidates = [a for a in added if _types(new_scope.resolve(new_props[a])) == _types(before)]
        same_text = [a for a in candidates if before.get("description") and
                     new_scope.resolve(new_props[a]).get("description") == before.get("description")]  # fmt: skip
        close = same_text or difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
        if close:
            removed.remove(name)
            added.remove(close[0])
            text = f"renamed-looking: {prefix}{name} → {prefix}{close[0]}"
            changes.append(Change(model_id, "field-renamed", prefix + name, text, True))
    for name in removed:
        text = "the field is gone: calls that set it fail"
        changes.append(Change(model_id, "field-removed", prefix + name, text, True))
    for name in added:
        required = name in new_required
        text = "a new required field: calls without it fail" if required else "a new optional field"
        changes.append(Change(model_id, "field-added", prefix + name, text, required))
    for name in [name for name in old_props if name in new_props]:
        before, after = old_scope.resolve(old_props[name]), new_scope.resolve(new_props[name])
        changes += _compare_field(model_id, prefix + name, before, after)
        if (name in old_required) != (name in new_required):
            now = name in new_required
            changes.append(Change(model_id, "required", prefix + name, "now required" if now else "now optional", now))
        inner_old, inner_new = _children(before, old_scope), _children(after, new_scope)
        if inner_old and inner_new and inner_old[0] == inner_new[0] and depth < MAX_DEPTH:
            changes += _compare_object(
                model_id, f"{prefix}{name}{inner_old[0]}", old_scope, inner_old[1], new_scope, inner_new[1], depth + 1
            )
        elif not inner_old and not inner_new and "array" in _types(before) & _types(after):
            items_old, items_new = old_scope.resolve(before.get("items")), new_scope.resolve(after.get("items"))
            changes += _compare_field(model_id, f"{prefix}{name}[]", items_old, items_new)  # the values' own rules
    return changes


def _compare_field(model_id: str, name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes = []
    old_types, new_types = _types(old), _types(new)
    if old_types != new_types:
        widened = bool(old_types) and (not new_types or old_types <= new_types)
        text = f"type {_type_text(old)} → {_type_text(new)}"
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
        numbers = all(value is None or (isinstance(value, int | float) and not isinstance(value, bool))
                      for value in (before, after))  # fmt: skip
        if before == after or not numbers:  # (an unchecked file may hold anything: `diff --against DIR`)
            continue
        if after is None or before is None:
            tighter = before is None
        else:
            tighter = after > before if tightens == "up" else after < before
        kind = "bound-tightened" if tighter else "bound-loosened"
        text = f"{keyword} {_bound(before)} → {_bound(after)}"
        changes.append(Change(model_id, kind, name, text, tighter))
    if old.get("format") != new.get("format"):
        text = f"format {old.get('format')} → {new.get('format')}"
        checked = new.get("format") in ASSERTED_FORMATS
        if new.get("format") is not None and not checked:
            text += " (an unknown format: an annotation, not checked)"
        changes.append(Change(model_id, "format", name, text, checked))
    if old.get("default") != new.get("default"):
        before, after = json.dumps(old.get("default")), json.dumps(new.get("default"))
        text = f"default {before} → {after}: calls without it behave differently"
        changes.append(Change(model_id, "default", name, text, True))
    return changes


def _type_text(schema: Mapping[str, Any]) -> str:
    kinds = _types(schema)
    if "number" in kinds:
        kinds.discard("integer")  # shown as declared: integer is part of number
    return "/".join(sorted(kinds)) or "any"


def _bound(value: object) -> str:
    return "none" if value is None else str(value)


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
