"""Shared fixtures: generate inline schemas into a temporary directory and import the result."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/ helpers (oracle.py) as plain modules


def write_schemas(directory: Path, schemas: dict[str, dict[str, Any]]) -> Path:
    """``{model_id: input_schema or whole file}`` → schema files below ``directory``."""
    for model_id, schema in schemas.items():
        data = schema if "input_schema" in schema else {"model_id": model_id, "input_schema": schema}
        path = directory / f"{model_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return directory


IMAGE = "https://example.com/cat.png"
"""An input image URL for the client tests (the emulator does not fetch it)."""


def submits(emu: Any) -> int:
    """How many submits (``POST /v1/models/...``) the emulator received, answered or not."""
    return sum(1 for call in emu.calls if call.method == "POST" and call.path.startswith("/v1/models/"))


def import_file(path: Path, name: str) -> ModuleType:
    """Import one generated module file under a fresh name (it imports the installed runtime, which is
    the same code the generator copies)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


GenerateFn = Callable[[dict[str, dict[str, Any]]], dict[str, ModuleType]]


@pytest.fixture
def generate_models(tmp_path: Path) -> GenerateFn:
    """Generate inline schemas and return ``{model_id: imported module}``."""
    from runcomfy_codegen.pipeline import generate

    counter = iter(range(10**6))

    def run(schemas: dict[str, dict[str, Any]]) -> dict[str, ModuleType]:
        round_dir = tmp_path / f"round{next(counter)}"
        schemas_dir = write_schemas(round_dir / "schemas", schemas)
        out_dir = round_dir / "out"
        generate(schemas_dir, out_dir)
        registry = import_file(out_dir / "runcomfy/models/__init__.py", f"_golden_{round_dir.name}_registry")
        modules = {}
        for model_id, module_path in registry.MODELS.items():
            relative = Path(*module_path.split("."))
            file = out_dir / relative.with_suffix(".py")
            if not file.exists():
                file = out_dir / relative / "__init__.py"
            modules[model_id] = import_file(file, f"_golden_{round_dir.name}_{len(modules)}")
        return modules

    return run
