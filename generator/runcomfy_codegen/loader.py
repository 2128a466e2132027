"""Reading the schema files: one JSON file per model at ``<model_id>.json`` below the schemas directory."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from .errors import SchemaError

FILE_KEYS = frozenset({"model_id", "input_schema", "output_schema", "display_name", "output_type", "source", "notes"})
OUTPUT_TYPES = frozenset({"IMAGE", "VIDEO", "AUDIO"})


MAX_FILE_DEPTH = 64
"""How deeply a schema file's JSON may nest (every schema and value in it becomes a Python literal, and
Python's parser allows 200 nested brackets)."""


def deeper_than(data: Any, limit: int) -> str | None:
    """The JSON pointer of the first value nested deeper than ``limit`` levels, or ``None``."""
    pending: list[tuple[Any, str, int]] = [(data, "", 0)]
    while pending:
        value, pointer, depth = pending.pop()
        if depth > limit:
            return pointer or "/"
        if isinstance(value, dict):
            pending += [(v, f"{pointer}/{_escape(str(k))}", depth + 1) for k, v in value.items()]
        elif isinstance(value, list):
            pending += [(v, f"{pointer}/{n}", depth + 1) for n, v in enumerate(value)]
    return None


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@dataclasses.dataclass
class SchemaFile:
    path: str  # relative to the schemas directory, '/'-separated: what errors and headers show
    data: dict[str, Any]
    digest: str = ""  # sha256 of the file's bytes (what incremental regeneration compares)

    @property
    def model_id(self) -> str:
        return str(self.data["model_id"])


def find_schema_files(directory: Path) -> list[Path]:
    """Every ``*.json`` below ``directory``, in a fixed order (sorted by relative path)."""
    if not directory.is_dir():
        raise SchemaError(str(directory), "/", "the schemas directory does not exist")
    return sorted(directory.rglob("*.json"), key=lambda p: p.relative_to(directory).as_posix())


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def load_schema_file(directory: Path, path: Path) -> SchemaFile:
    """Read and check one schema file's envelope (the schemas inside are checked by the parser)."""
    return read_schema_file(path.relative_to(directory).as_posix(), path.read_bytes())


def read_schema_file(relative: str, raw: bytes) -> SchemaFile:
    """Check the bytes of the schema file at ``relative`` (below the schemas directory, '/'-separated)."""
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError:
        raise SchemaError(relative, "/", f"nested deeper than {MAX_FILE_DEPTH} levels") from None
    except (UnicodeDecodeError, ValueError) as exc:
        where = f"/ (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else "/"
        raise SchemaError(relative, where, f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SchemaError(relative, "/", "expected a JSON object with model_id and input_schema")
    too_deep = deeper_than(data, MAX_FILE_DEPTH)
    if too_deep is not None:
        raise SchemaError(relative, too_deep, f"nested deeper than {MAX_FILE_DEPTH} levels")
    for key in ("model_id", "input_schema"):
        if key not in data:
            raise SchemaError(relative, "/", f"missing required key {key!r}")
    for key in data:
        if key not in FILE_KEYS:
            raise SchemaError(relative, f"/{key}", f"unknown key {key!r} (known: {', '.join(sorted(FILE_KEYS))})")
    for key in ("display_name", "source"):
        if key in data and not isinstance(data[key], str):
            raise SchemaError(relative, f"/{key}", f"{key} must be a string")
    if "output_type" in data and data["output_type"] not in OUTPUT_TYPES:
        raise SchemaError(relative, "/output_type", f"output_type must be one of {sorted(OUTPUT_TYPES)}")
    expected = relative.removesuffix(".json")
    if data["model_id"] != expected:
        raise SchemaError(
            relative,
            "/model_id",
            f"model_id {data['model_id']!r} does not match the file's path {expected!r}",
        )
    return SchemaFile(relative, data, hashlib.sha256(raw).hexdigest())
