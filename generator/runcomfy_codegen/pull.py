"""``pull`` and ``add``: schema files from the catalog (or a file) into ``schemas/``, stable and checked.

The catalog calls go through the generated package's own client runtime (:mod:`runcomfy.catalog`), so
they share its token, retries and timeouts. What the network sends is untrusted: a model id must be a
valid id before it names a file (no ``..``, no absolute path), and each schema is parsed exactly as
``generate`` would before it is written, so a broken entry is reported (file and JSON path) and the local
file left as it was. Files are written with sorted keys wherever order carries no meaning, so pulling an
unchanged catalog changes no byte.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import SchemaError
from .loader import PRICE_KEYS, find_schema_files, read_schema_file
from .naming import ModelIdError, check_model_id
from .writer import remove_empty_dirs, write_file

if TYPE_CHECKING:
    from runcomfy.catalog import CatalogEntry
    from runcomfy.client import Client

SOURCE = "RunComfy catalog (GET /v1/models/{model_id})"
ENVELOPE = (
    "model_id", "display_name", "output_type", *PRICE_KEYS, "source", "notes", "input_schema", "output_schema",
)  # fmt: skip
KEEP_LOCAL = ("output_schema", "notes")  # the catalog has no output schema; notes are the project's own
# Keywords whose members are in an order that means something (fields in signature order).
ORDERED = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependentRequired", "dependencies"}
)
DATA = frozenset({"default", "const", "enum", "examples", "example"})  # values, copied as they are


@dataclasses.dataclass
class PullResult:
    written: list[str] = dataclasses.field(default_factory=list)  # model ids whose file is new or changed
    unchanged: list[str] = dataclasses.field(default_factory=list)
    rejected: list[SchemaError] = dataclasses.field(default_factory=list)  # not written
    removed: list[str] = dataclasses.field(default_factory=list)  # pruned: gone from the catalog
    not_in_catalog: list[str] = dataclasses.field(default_factory=list)  # local files the catalog lacks


def canonical(schema: Any) -> Any:
    """``schema`` with every object's keys sorted, but the members of ``properties`` and the like kept in
    their order, and data values (``default``, ``enum``, ...) as they are."""
    if isinstance(schema, list):
        return [canonical(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result: dict[str, Any] = {}
    for key in sorted(schema):
        value = schema[key]
        if key in DATA:
            result[key] = value
        elif key in ORDERED and isinstance(value, dict):
            result[key] = {name: canonical(member) for name, member in value.items()}
        else:
            result[key] = canonical(value)
    return result


def schema_file(
    entry: Mapping[str, Any], existing: Mapping[str, Any] | None = None, *, from_catalog: bool = True
) -> dict[str, Any]:
    """The project's schema file for a catalog entry (or, ``from_catalog=False``, a file given to ``add``).
    A catalog entry never replaces the local output schema and notes; a file given by hand does. The price
    (``base_price_usd``, ``price_unit``, ``pricing_note``) is the entry's, as it gives it (``null``: none);
    a malformed one is reported by the check, as any broken entry."""
    data: dict[str, Any] = {"model_id": entry["model_id"]}
    if isinstance(entry.get("display_name"), str):
        data["display_name"] = entry["display_name"]
    output_type = entry.get("output_type") or _output_type(entry.get("categories"))
    if output_type:
        data["output_type"] = output_type
    data.update({key: entry[key] for key in PRICE_KEYS if entry.get(key) is not None})
    data["source"] = entry.get("source") if isinstance(entry.get("source"), str) else SOURCE
    for key in KEEP_LOCAL:
        local = existing is not None and key in existing
        if key in entry and not (from_catalog and local):
            data[key] = entry[key]
        elif existing is not None and key in existing:
            data[key] = existing[key]
    data["input_schema"] = entry["input_schema"]
    return {key: canonical(data[key]) if key.endswith("_schema") else data[key] for key in ENVELOPE if key in data}


def _output_type(categories: object) -> str | None:
    from runcomfy.catalog import output_type_of

    return output_type_of(categories)


def encode(data: Mapping[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def target_path(schemas_dir: Path, model_id: object, where: str) -> Path:
    """``schemas_dir/<model_id>.json`` for a valid model id; a :class:`SchemaError` for anything else."""
    try:
        checked = check_model_id(model_id)
    except ModelIdError as exc:
        raise SchemaError(where, "/model_id", str(exc)) from None
    path = schemas_dir / f"{checked}.json"
    if not path.resolve().is_relative_to(schemas_dir.resolve()):  # belt and braces: the id check forbids it
        raise SchemaError(where, "/model_id", f"model id {checked!r} points outside {schemas_dir}")
    return path


def check(schemas_dir: Path, path: Path, content: bytes) -> None:
    """Load and parse ``content`` as the file at ``path`` would be by ``generate``; raise its SchemaError."""
    from .pipeline import build_spec

    build_spec(read_schema_file(path.relative_to(schemas_dir).as_posix(), content))


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def store(
    schemas_dir: Path,
    entries: Iterable[Mapping[str, Any]],
    result: PullResult,
    where: str,
    *,
    from_catalog: bool = True,
) -> None:
    """Check each entry and write the ones that changed into ``schemas_dir``."""
    for entry in entries:
        model_id = entry.get("model_id")
        label = f"{where} {model_id!r}" if isinstance(model_id, str) else where
        try:
            path = target_path(schemas_dir, model_id, label)
            if not isinstance(entry.get("input_schema"), dict):
                raise SchemaError(label, "/input_schema", "the entry has no input_schema object")
            content = encode(schema_file(entry, _read(path), from_catalog=from_catalog))
            check(schemas_dir, path, content)
        except SchemaError as exc:
            result.rejected.append(exc)
            continue
        if path.is_file() and path.read_bytes() == content:
            result.unchanged.append(str(model_id))
        else:
            write_file(path, content)
            result.written.append(str(model_id))


def _entry_json(entry: CatalogEntry) -> dict[str, Any]:
    return {**entry.raw, "model_id": entry.model_id, "input_schema": entry.input_schema}


def pull(
    schemas_dir: Path,
    client: Client,
    *,
    search: str | None = None,
    category: str | None = None,
    prune: bool = False,
) -> PullResult:
    """Fetch the catalog (``GET /v1/models?include_schema=true``, every page) into ``schemas_dir``.

    With ``prune`` (only for the whole catalog), local files of models the catalog no longer has are
    deleted; without it they are listed in ``not_in_catalog``.
    """
    from runcomfy.catalog import list_models

    if prune and (search or category):
        raise ValueError("--prune needs the whole catalog: it cannot be combined with --search or --category")
    entries = [
        _entry_json(entry)
        for entry in list_models(search=search, category=category, include_schema=True, client=client)
    ]
    result = PullResult()
    store(schemas_dir, entries, result, "catalog entry")
    if not (search or category):
        seen = {str(entry["model_id"]) for entry in entries}
        for path in find_schema_files(schemas_dir) if schemas_dir.is_dir() else []:
            model_id = path.relative_to(schemas_dir).as_posix().removesuffix(".json")
            if model_id in seen:
                continue
            if prune:
                path.unlink()
                result.removed.append(model_id)
            else:
                result.not_in_catalog.append(model_id)
        if prune:
            remove_empty_dirs(schemas_dir, {(schemas_dir / f"{m}.json").parent for m in result.removed})
    return result


def add(schemas_dir: Path, source: str, client: Client | None = None) -> PullResult:
    """One model into ``schemas_dir``: from a file (a schema file or a catalog entry, with ``model_id``
    and ``input_schema``) when ``source`` is a path to one, else from ``GET /v1/models/{source}``."""
    result = PullResult()
    path = Path(source)
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            result.rejected.append(SchemaError(str(path), "/", f"invalid JSON: {exc}"))
            return result
        if not isinstance(data, dict) or "model_id" not in data or "input_schema" not in data:
            result.rejected.append(SchemaError(str(path), "/", "expected a JSON object with model_id and input_schema"))
            return result
        store(schemas_dir, [data], result, str(path), from_catalog=False)
        return result
    from runcomfy.catalog import get_model

    if client is None:
        raise ValueError(f"{source!r} is not a file, and fetching it as a model id needs a client")
    try:
        check_model_id(source)
    except ModelIdError as exc:
        result.rejected.append(SchemaError(source, "/model_id", f"not a file, and {exc}"))
        return result
    store(schemas_dir, [_entry_json(get_model(source, client=client))], result, "catalog entry")
    return result
