"""Reading the schema files: one JSON file per model at ``<model_id>.json`` below the schemas directory."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path
from typing import Any

from .errors import SchemaError

PRICE_KEYS = ("base_price_usd", "price_unit", "pricing_note")
"""The catalog's pricing of a model, kept under the catalog's own names (all optional)."""
FILE_KEYS = frozenset(
    {"model_id", "input_schema", "output_schema", "display_name", "output_type", "source", "notes", *PRICE_KEYS}
)
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


def check_pricing(relative: str, data: dict[str, Any]) -> None:
    """The pricing keys of a schema file: ``base_price_usd`` a finite number >= 0 with its ``price_unit`` (a
    non-empty string), ``pricing_note`` a string, and no unit or note without a price (a :class:`SchemaError`
    naming the key)."""
    if "base_price_usd" in data:
        price = data["base_price_usd"]
        if isinstance(price, bool) or not isinstance(price, (int, float)) or not math.isfinite(price) or price < 0:
            raise SchemaError(
                relative, "/base_price_usd", f"base_price_usd must be a finite number >= 0, got {price!r}"
            )
        if "price_unit" not in data:
            raise SchemaError(relative, "/price_unit", "missing: base_price_usd needs its unit ('output' or 'second')")
    for key in ("price_unit", "pricing_note"):
        if key in data and not isinstance(data[key], str):
            raise SchemaError(relative, f"/{key}", f"{key} must be a string, got {data[key]!r}")
        if key in data and "base_price_usd" not in data:
            raise SchemaError(relative, f"/{key}", f"{key} without base_price_usd (the price it qualifies)")
    if data.get("price_unit") == "":
        raise SchemaError(
            relative, "/price_unit", "price_unit must not be empty (RunComfy's are 'output' and 'second')"
        )


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
    check_pricing(relative, data)
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
