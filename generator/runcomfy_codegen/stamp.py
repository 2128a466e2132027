"""The stamp of what ``generated/`` was made from: the no-change fast path and incremental regeneration.

``generated/runcomfy/.codegen-stamp.json`` records:

- ``toolchain``: a digest of the generator's own source, the templates and runtime, and the versions of
  the tools that decide the output bytes;
- ``inputs``: that and a digest of every schema file, together;
- ``outputs``: the digest of every generated file;
- ``models``: for each model, the digest of its schema file, the file its module was written to, and
  what the registry says of it (display name, output type, required fields).

When ``inputs`` and the files on disk still match, ``generate`` and ``generate --check`` have nothing to do
and return at once, without importing the parser, jinja2 or ruff. When only some schemas changed, the
pipeline reuses the modules of the others (same toolchain, same schema digest, same file, untouched on
disk) and regenerates the changed modules and the registry. This module imports nothing heavy on purpose.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .resources import templates_dir
from .target import DEFAULT, Target

STAMP = DEFAULT.stamp
TOOLS = ("datamodel-code-generator", "jinja2", "ruff", "jsonschema")
_GENERATOR = Path(__file__).resolve().parent


@dataclasses.dataclass(frozen=True)
class ModelRecord:
    """What the stamp keeps of one generated model."""

    schema: str  # sha256 of the schema file's bytes
    file: str  # the module's path below the output directory
    display_name: str | None
    output_type: str | None
    required: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "required": list(self.required)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelRecord:
        return cls(
            str(data["schema"]), str(data["file"]), data["display_name"], data["output_type"], tuple(data["required"])
        )


@dataclasses.dataclass(frozen=True)
class Stamp:
    inputs: str
    toolchain: str
    outputs: dict[str, str]
    models: dict[str, ModelRecord]


def _digest_files(paths: Iterable[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.relative_to(root).as_posix()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _files_below(directory: Path, pattern: str) -> list[Path]:
    return [p for p in directory.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def toolchain_digest() -> str:
    """One digest of everything but the schemas that the output depends on."""
    from importlib.metadata import PackageNotFoundError, version

    def tool(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "missing"

    templates = templates_dir()
    own = [path for path in _files_below(_GENERATOR, "*") if path.relative_to(_GENERATOR).parts[0] != "templates"]
    parts = [  # the same digest from a checkout and from the wheel (which carries the templates inside the package)
        _digest_files(own, _GENERATOR),
        _digest_files(_files_below(templates, "*"), templates),
        ",".join(f"{name}=={tool(name)}" for name in TOOLS),
    ]
    return sha256("\n".join(parts).encode())


def input_digest(schemas_dir: Path, toolchain: str | None = None) -> str:
    """One digest of everything the output depends on: the schema files and the toolchain."""
    schemas = _digest_files(_files_below(schemas_dir, "*.json"), schemas_dir)
    return sha256(f"{schemas}\n{toolchain or toolchain_digest()}".encode())


def render(
    inputs: str, toolchain: str, files: dict[str, bytes], models: dict[str, ModelRecord], target: Target = DEFAULT
) -> bytes:
    """The stamp's bytes for generated ``files`` (relative path → content) made from ``inputs``."""
    stamp = {
        "inputs": inputs,
        "toolchain": toolchain,
        "outputs": {path: sha256(data) for path, data in sorted(files.items()) if path != target.stamp},
        "models": {model_id: models[model_id].as_json() for model_id in sorted(models)},
    }
    return (json.dumps(stamp, indent=1, sort_keys=True) + "\n").encode()


def load(out_dir: Path, target: Target = DEFAULT) -> Stamp | None:
    """The stamp in ``out_dir``, or ``None`` when there is none or it cannot be read."""
    try:
        data = json.loads((out_dir / target.stamp).read_bytes())
        models = {str(key): ModelRecord.from_json(value) for key, value in data.get("models", {}).items()}
        return Stamp(str(data["inputs"]), str(data.get("toolchain", "")), dict(data["outputs"]), models)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def file_matches(out_dir: Path, stamp: Stamp, path: str) -> bool:
    """Whether the generated file ``path`` is on disk exactly as the stamp recorded it."""
    try:
        return sha256((out_dir / path).read_bytes()) == stamp.outputs.get(path)
    except OSError:
        return False


def up_to_date(schemas_dir: Path, out_dir: Path, target: Target = DEFAULT) -> bool:
    """Whether ``out_dir`` is exactly what generating ``schemas_dir`` would write (per the stamp)."""
    stamp = load(out_dir, target)
    if stamp is None or stamp.inputs != input_digest(schemas_dir):
        return False
    from .history import has_pending  # light, like writer

    if has_pending(out_dir):  # a run was interrupted before recording its API changes: the next one does
        return False
    from .writer import existing_files  # light: no parser, jinja2 or ruff

    if existing_files(out_dir, target.roots) != set(stamp.outputs) | {target.stamp}:
        return False
    return all(file_matches(out_dir, stamp, path) for path in stamp.outputs)
