"""The build, as small named steps: load → parse → render → format → plan → write.

Every schema problem is collected (all files are read before anything is reported), and nothing is
written unless every step succeeded, so a broken schema leaves ``generated/`` byte-for-byte as it was.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from . import render, stamp
from .errors import GenerationError, SchemaError
from .formatting import format_sources
from .ir import ModelSpec, OutputField
from .loader import SchemaFile, find_schema_files, load_schema_file
from .naming import ModelIdError, field_names, module_path
from .parser import SchemaParser
from .writer import Plan, apply_plan, plan_changes

GENERIC_OUTPUT_SCHEMA: dict[str, Any] = json.loads(
    (Path(__file__).with_name("generic_output_schema.json")).read_text(encoding="utf-8")
)
# Output keys typed on every model, beside those its output schema names: (shape, description).
STANDARD_OUTPUT_KEYS: dict[str, tuple[str, str]] = {
    "image": ("url", "The URL of the output image, when the model returns one."),
    "images": ("urls", "The URLs of the output images, when the model returns a list."),
    "video": ("url", "The URL of the output video, when the model returns one."),
    "videos": ("urls", "The URLs of the output videos, when the model returns a list."),
    "audio": ("url", "The URL of the output audio file, when the model returns one."),
    "audios": ("urls", "The URLs of the output audio files, when the model returns a list."),
}
# RunComfy's API pages leave some text as untranslated page keys ("modelApiDoc_outDescImage").
PAGE_KEY = re.compile(r"modelApiDoc_\w+")


@dataclasses.dataclass
class Result:
    plan: Plan
    models: int
    notes: list[str]


# --- steps -----------------------------------------------------------------------------------------


def load_files(schemas_dir: Path) -> tuple[list[SchemaFile], list[SchemaError]]:
    files, errors = [], []
    for path in find_schema_files(schemas_dir):
        try:
            files.append(load_schema_file(schemas_dir, path))
        except SchemaError as exc:
            errors.append(exc)
    return files, errors


def output_fields(output_schema: dict[str, Any]) -> list[OutputField]:
    """The typed attributes of ``Output``: the schema's output properties plus the standard keys."""
    inner = output_schema.get("output", output_schema)
    properties = inner.get("properties", {}) if isinstance(inner, dict) else {}
    shapes: dict[str, tuple[str, str | None]] = {}
    for key, prop in (properties if isinstance(properties, dict) else {}).items():
        prop = prop if isinstance(prop, dict) else {}
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        if prop.get("type") == "string":
            shape = "url"
        elif prop.get("type") == "array" and items.get("type") == "string":
            shape = "urls"
        else:
            shape = "any"
        description = prop.get("description")
        if not isinstance(description, str) or PAGE_KEY.fullmatch(description):
            description = STANDARD_OUTPUT_KEYS.get(key, ("", None))[1]
        shapes[key] = (shape, description)
    for key, (shape, description) in STANDARD_OUTPUT_KEYS.items():
        shapes.setdefault(key, (shape, description))
    names = field_names(shapes, frozenset({"urls", "extra"}))
    return [OutputField(key, names[key], shape, doc) for key, (shape, doc) in shapes.items()]


def build_spec(file: SchemaFile) -> tuple[ModelSpec, list[str]]:
    data = file.data
    try:
        module = module_path(file.model_id)
    except ModelIdError as exc:
        raise SchemaError(file.path, "/model_id", str(exc)) from None
    input_schema = copy.deepcopy(data["input_schema"])
    parser = SchemaParser(file.path, input_schema, ("input_schema",))
    input_model, nested = parser.parse_input()
    output_schema = data.get("output_schema", GENERIC_OUTPUT_SCHEMA)
    if not isinstance(output_schema, dict):
        raise SchemaError(file.path, "/output_schema", "output_schema must be a JSON object")
    spec = ModelSpec(
        model_id=file.model_id,
        source_file=file.path,
        module="runcomfy.models." + ".".join(module),
        display_name=data.get("display_name"),
        output_type=data.get("output_type"),
        input_schema=data["input_schema"],
        output_schema=output_schema,
        input_model=input_model,
        nested_models=nested,
        output_fields=output_fields(output_schema),
        validations={f.json_name: f.node.validations for f in input_model.fields if f.node.validations},
    )
    return spec, parser.notes


def parse_all(files: list[SchemaFile]) -> tuple[list[ModelSpec], list[str], list[SchemaError]]:
    specs, notes, errors = [], [], []
    owners: dict[str, str] = {}
    for file in files:
        try:
            spec, file_notes = build_spec(file)
        except SchemaError as exc:
            errors.append(exc)
            continue
        if spec.module in owners:
            errors.append(
                SchemaError(
                    file.path,
                    "/model_id",
                    f"model id {file.model_id!r} maps to module {spec.module}, as {owners[spec.module]!r} does",
                )
            )
            continue
        owners[spec.module] = file.model_id
        specs.append(spec)
        notes += file_notes
    return specs, notes, errors


def runtime_files() -> dict[str, bytes]:
    """``templates/runtime/**`` → ``runcomfy/**``, byte for byte (support code, not generated)."""
    runtime = render.templates_dir() / "runtime"
    return {
        f"runcomfy/{path.relative_to(runtime).as_posix()}": path.read_bytes()
        for path in sorted(runtime.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")
    }


def render_package(specs: list[ModelSpec]) -> dict[str, str]:
    """Relative path (below the output directory) → source, for the generated modules of ``runcomfy``."""
    env = render.make_environment()
    sources: dict[str, str] = {}
    modules = {spec.module: spec for spec in specs}
    packages: dict[str, set[str]] = {"runcomfy.models": set()}
    for spec in specs:
        parts = spec.module.split(".")
        for depth in range(3, len(parts)):
            packages.setdefault(".".join(parts[:depth]), set()).add(parts[depth])
    for module, spec in modules.items():
        header = render.header(f"schemas/{spec.source_file}")
        path = module.replace(".", "/") + ("/__init__.py" if module in packages else ".py")
        sources[path] = render.render_model(env, spec, header)
    registry_header = render.header("every file in schemas/")
    sources["runcomfy/models/__init__.py"] = render.render_registry(
        env, sorted(specs, key=lambda s: s.model_id), registry_header
    )
    for package, children in packages.items():
        if package in modules or package == "runcomfy.models":
            continue
        sources[package.replace(".", "/") + "/__init__.py"] = render.render_namespace(
            env, package, sorted(children), render.header("the model ids under this package")
        )
    return dict(sorted(sources.items()))


# --- the whole run ---------------------------------------------------------------------------------


def generate(schemas_dir: Path, out_dir: Path, *, check: bool = False) -> Result:
    """Regenerate ``out_dir/runcomfy`` from ``schemas_dir``; with ``check``, only compare.

    Raises :class:`GenerationError` (nothing written) when any schema is broken.
    """
    try:
        files, errors = load_files(schemas_dir)
    except SchemaError as exc:
        raise GenerationError([exc]) from None
    specs, notes, parse_errors = parse_all(files)
    errors += parse_errors
    if errors:
        raise GenerationError(errors)
    sources = format_sources(render_package(specs))
    encoded = {**runtime_files(), **{path: text.encode("utf-8") for path, text in sources.items()}}
    encoded[stamp.STAMP] = stamp.render(stamp.input_digest(schemas_dir), encoded)
    plan = plan_changes(out_dir, encoded)
    if not check:
        apply_plan(out_dir, encoded, plan)
    return Result(plan, len(specs), notes)
