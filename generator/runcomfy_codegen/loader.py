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
    relative = path.relative_to(directory).as_posix()
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        where = f"/ (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else "/"
        raise SchemaError(relative, where, f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SchemaError(relative, "/", "expected a JSON object with model_id and input_schema")
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
