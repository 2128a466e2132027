"""The no-change fast path: a stamp of what ``generated/`` was made from, checked without the generator.

``generated/runcomfy/.codegen-stamp.json`` records a digest of every input (the schema files, the
generator's own source, the templates and runtime, and the versions of the tools that decide the output
bytes) and the digest of every generated file. When the inputs and the files on disk still match it,
``generate`` and ``generate --check`` have nothing to do and return at once, without importing the
parser, jinja2 or ruff. Anything else (a changed schema, a hand-edited file, another ruff) takes the full
path. This module imports nothing heavy on purpose.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

STAMP = "runcomfy/.codegen-stamp.json"
TOOLS = ("datamodel-code-generator", "jinja2", "ruff", "jsonschema")
_GENERATOR = Path(__file__).resolve().parent


def _digest_files(paths: Iterable[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.relative_to(root).as_posix()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _files_below(directory: Path, pattern: str) -> list[Path]:
    return [p for p in directory.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def input_digest(schemas_dir: Path) -> str:
    """One digest of everything the output depends on."""
    from importlib.metadata import PackageNotFoundError, version

    def tool(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "missing"

    templates = _GENERATOR.parent.parent / "templates"
    parts = [
        _digest_files(_files_below(schemas_dir, "*.json"), schemas_dir),
        _digest_files(_files_below(_GENERATOR, "*"), _GENERATOR),
        _digest_files(_files_below(templates, "*"), templates),
        ",".join(f"{name}=={tool(name)}" for name in TOOLS),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def render(inputs: str, files: dict[str, bytes]) -> bytes:
    """The stamp's bytes for generated ``files`` (relative path → content) made from ``inputs``."""
    outputs = {path: hashlib.sha256(data).hexdigest() for path, data in sorted(files.items()) if path != STAMP}
    return (json.dumps({"inputs": inputs, "outputs": outputs}, indent=1, sort_keys=True) + "\n").encode()


def up_to_date(schemas_dir: Path, out_dir: Path) -> bool:
    """Whether ``out_dir`` is exactly what generating ``schemas_dir`` would write (per the stamp)."""
    try:
        stamp = json.loads((out_dir / STAMP).read_bytes())
        if stamp.get("inputs") != input_digest(schemas_dir):
            return False
        outputs: dict[str, str] = stamp["outputs"]
        package = out_dir / "runcomfy"
        present = {
            p.relative_to(out_dir).as_posix()
            for p in package.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
        }
        if present != set(outputs) | {STAMP}:
            return False
        return all(_sha256(out_dir / path) == digest for path, digest in outputs.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
