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

from . import history, pricing, reference, render, stamp
from .changes import Change, compare
from .errors import GenerationError, SchemaError
from .formatting import format_sources
from .ir import ModelSpec, OutputField
from .loader import SchemaFile, find_schema_files, load_schema_file
from .naming import ModelIdError, field_names, module_path
from .resources import templates_dir
from .target import DEFAULT, Target
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
    regenerated: int = 0  # modules parsed and rendered this run (the others were reused)
    changes: list[Change] | None = None  # the API changes since the package on disk (None: there was none)


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


def build_spec(file: SchemaFile, target: Target = DEFAULT) -> tuple[ModelSpec, list[str]]:
    from .parser import SchemaParser  # jsonschema (the metaschema check): imported only when a schema is parsed

    data = file.data
    module = module_of(file, target)
    input_schema = copy.deepcopy(data["input_schema"])
    parser = SchemaParser(file.path, input_schema, ("input_schema",))
    input_model, nested = parser.parse_input()
    output_schema = data.get("output_schema", GENERIC_OUTPUT_SCHEMA)
    if not isinstance(output_schema, dict):
        raise SchemaError(file.path, "/output_schema", "output_schema must be a JSON object")
    spec = ModelSpec(
        model_id=file.model_id,
        source_file=file.path,
        module=module,
        display_name=data.get("display_name"),
        output_type=data.get("output_type"),
        input_schema=data["input_schema"],
        output_schema=output_schema,
        input_model=input_model,
        nested_models=nested,
        output_fields=output_fields(output_schema),
        validations={f.json_name: f.node.validations for f in input_model.fields if f.node.validations},
        price=pricing.price_of(data),
    )
    return spec, parser.notes


def module_of(file: SchemaFile, target: Target = DEFAULT) -> str:
    try:
        return f"{target.package}." + ".".join(module_path(file.model_id))
    except ModelIdError as exc:
        raise SchemaError(file.path, "/model_id", str(exc)) from None


@dataclasses.dataclass
class Layout:
    """Where every model's module goes: decided from the model ids alone, before anything is parsed."""

    modules: dict[str, str]  # model id → module
    files: dict[str, str]  # model id → its file below the output directory
    packages: dict[str, set[str]]  # package → child names (packages holding no model of their own too)


def plan_layout(files: list[SchemaFile], target: Target = DEFAULT) -> tuple[Layout, list[SchemaError]]:
    modules: dict[str, str] = {}
    owners: dict[str, str] = {}
    errors: list[SchemaError] = []
    for file in files:
        try:
            module = module_of(file, target)
        except SchemaError as exc:
            errors.append(exc)
            continue
        if module in owners:
            message = f"model id {file.model_id!r} maps to module {module}, as {owners[module]!r} does"
            errors.append(SchemaError(file.path, "/model_id", message))
            continue
        owners[module] = file.model_id
        modules[file.model_id] = module
    packages: dict[str, set[str]] = {target.package: set()}
    for module in modules.values():
        parts = module.split(".")
        for depth in range(target.package.count(".") + 2, len(parts)):
            packages.setdefault(".".join(parts[:depth]), set()).add(parts[depth])
    paths = {
        model_id: module.replace(".", "/") + ("/__init__.py" if module in packages else ".py")
        for model_id, module in modules.items()
    }
    return Layout(modules, paths, packages), errors


def parse_all(
    files: list[SchemaFile], target: Target = DEFAULT
) -> tuple[list[ModelSpec], list[str], list[SchemaError]]:
    specs, notes, errors = [], [], []
    for file in files:
        try:
            spec, file_notes = build_spec(file, target)
        except SchemaError as exc:
            errors.append(exc)
            continue
        specs.append(spec)
        notes += file_notes
    return specs, notes, errors


def runtime_files() -> dict[str, bytes]:
    """``templates/runtime/**`` → ``runcomfy/**``, byte for byte (support code, not generated)."""
    runtime = templates_dir() / "runtime"
    return {
        f"runcomfy/{path.relative_to(runtime).as_posix()}": path.read_bytes()
        for path in sorted(runtime.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")
    }


def record_of(spec: ModelSpec, file: SchemaFile, layout: Layout) -> stamp.ModelRecord:
    required = tuple(f.json_name for f in spec.input_model.fields if f.required)
    return stamp.ModelRecord(
        file.digest, layout.files[file.model_id], spec.display_name, spec.output_type, required, spec.price
    )


def render_package(
    specs: list[ModelSpec],
    layout: Layout,
    records: dict[str, stamp.ModelRecord],
    target: Target = DEFAULT,
    input_schemas: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Relative path (below the output directory) → source: the modules of ``specs``, the registry of
    every model in ``records``, the namespace packages and (for the runcomfy package) the API reference."""
    env = render.make_environment()
    sources: dict[str, str] = {}
    for spec in specs:
        sources[layout.files[spec.model_id]] = render.render_model(
            env, spec, render.header(f"schemas/{spec.source_file}")
        )
    entries = [
        render.RegistryEntry(model_id, layout.modules[model_id], records[model_id]) for model_id in sorted(records)
    ]
    sources[target.registry] = render.render_registry(env, entries, render.header("every file in schemas/"))
    if target.own:
        sources.update(reference_pages(env, specs, layout, records, input_schemas or {}))
    owned = set(layout.modules.values())
    for package, children in layout.packages.items():
        if package in owned or package == target.package:
            continue
        sources[package.replace(".", "/") + "/__init__.py"] = render.render_namespace(
            env, package, sorted(children), render.header("the model ids under this package")
        )
    return dict(sorted(sources.items()))


def reference_pages(
    env: Any,
    specs: list[ModelSpec],
    layout: Layout,
    records: dict[str, stamp.ModelRecord],
    input_schemas: dict[str, Any],
) -> dict[str, str]:
    """The API reference of the docs site: a page for each model of ``specs`` and the index of all (``input_schemas``
    of every model tell their categories)."""
    sources = {}
    for spec in specs:
        sources[reference.page_path(spec.model_id)] = reference.render_page(env, spec)
    sources[reference.INDEX] = reference.render_index(
        env,
        [
            reference.IndexEntry(model_id, records[model_id].display_name, records[model_id].output_type,
                                 layout.modules[model_id], input_schemas.get(model_id))
            for model_id in records
        ],
    )  # fmt: skip
    return sources


# --- the whole run ---------------------------------------------------------------------------------


def reusable(out_dir: Path, previous: stamp.Stamp | None, toolchain: str, file: SchemaFile, path: str) -> bool:
    """Whether the module already on disk for ``file`` (at ``path``) is what generating it again would write
    (its reference page too, when the stamp records one)."""
    if previous is None or previous.toolchain != toolchain:
        return False
    record = previous.models.get(file.model_id)
    page = reference.page_path(file.model_id)
    return (
        record is not None
        and record.schema == file.digest
        and record.file == path
        and stamp.file_matches(out_dir, previous, path)
        and (page not in previous.outputs or stamp.file_matches(out_dir, previous, page))
    )


def generate(
    schemas_dir: Path, out_dir: Path, *, check: bool = False, full: bool = False, target: Target = DEFAULT
) -> Result:
    """Regenerate ``out_dir/runcomfy`` (or the ``target`` package below ``out_dir``) from ``schemas_dir``;
    with ``check``, only compare.

    Modules whose schema, toolchain and file are unchanged since the last run are reused from disk
    (``full`` regenerates every one). Raises :class:`GenerationError` (nothing written) when any schema
    is broken.
    """
    try:
        files, errors = load_files(schemas_dir)
    except SchemaError as exc:
        raise GenerationError([exc]) from None
    layout, layout_errors = plan_layout(files, target)
    errors += layout_errors
    toolchain = stamp.toolchain_digest()
    last = stamp.load(out_dir, target)
    previous = None if full else last
    placed = [file for file in files if file.model_id in layout.files]
    kept = [file for file in placed if reusable(out_dir, previous, toolchain, file, layout.files[file.model_id])]
    kept_ids = {file.model_id for file in kept}
    specs, notes, parse_errors = parse_all([file for file in placed if file.model_id not in kept_ids], target)
    errors += parse_errors
    if errors:
        raise GenerationError(sorted(errors, key=lambda e: (e.file, e.pointer)))
    records = {file.model_id: previous.models[file.model_id] for file in kept} if previous else {}
    by_id = {file.model_id: file for file in placed}
    records.update({spec.model_id: record_of(spec, by_id[spec.model_id], layout) for spec in specs})
    input_schemas = {file.model_id: file.data.get("input_schema") for file in placed}
    sources = format_sources(render_package(specs, layout, records, target, input_schemas))
    kept_pages = map(reference.page_path, sorted(kept_ids) if target.own else ())
    encoded = {
        **(runtime_files() if target.own else {}),
        **{layout.files[model_id]: (out_dir / layout.files[model_id]).read_bytes() for model_id in sorted(kept_ids)},
        **{page: (out_dir / page).read_bytes() for page in kept_pages},
        **{path: text.encode("utf-8") for path, text in sources.items()},
    }
    encoded = dict(sorted(encoded.items()))
    inputs = stamp.input_digest(schemas_dir, toolchain)
    encoded[target.stamp] = stamp.render(inputs, toolchain, encoded, records, target)
    digests = {model_id: record.schema for model_id, record in last.models.items()} if last else {}
    # The API change history (CHANGES.md) is kept for the runcomfy package; `runcomfy-codegen diff` serves others.
    base = history.baseline(out_dir, digests) if target.own else None
    changes = api_changes(out_dir, base, placed)
    plan = plan_changes(out_dir, encoded, target.roots)
    if check:
        if changes and history.load_pending(out_dir) is not None:  # an interrupted run left them unrecorded
            plan.changed.append(history.CHANGES)
    else:
        write_package(out_dir, encoded, plan, base, changes, target)
    return Result(plan, len(placed), notes, regenerated=len(specs), changes=changes)


def write_package(
    out_dir: Path,
    files: dict[str, bytes],
    plan: Plan,
    base: history.Baseline | None,
    changes: list[Change] | None,
    target: Target = DEFAULT,
) -> None:
    """Write the package and record its API changes, so that a run killed at any point leaves a state from
    which the next run records them all: the baseline the changes are measured from is saved first, the
    stamp is written after the files it describes, ``CHANGES.md`` after them, and the baseline removed last."""
    if changes and base is not None:
        history.save_pending(out_dir, base)
    apply_plan(out_dir, files, plan, last=target.stamp)
    if changes:
        history.record(out_dir, changes)
    history.finish(out_dir)


def api_changes(out_dir: Path, base: history.Baseline | None, files: list[SchemaFile]) -> list[Change] | None:
    """The API changes from ``base`` (the last complete generation) to ``files`` (``None`` when there is no
    package yet).

    Only models whose schema file changed since then (per the stamp) are compared; their old schemas are
    read back from the old modules without importing them (and kept in ``base``).
    """
    if base is None:
        return None
    new = {file.model_id: file for file in files}
    touched = [
        model_id
        for model_id in sorted(base.modules.keys() | new.keys())
        if model_id not in new or base.digests.get(model_id) != new[model_id].digest
    ]
    old_schemas = {model_id: base.schema(out_dir, model_id) for model_id in touched if model_id in base.modules}
    new_schemas = {model_id: new[model_id].data["input_schema"] for model_id in touched if model_id in new}
    return compare(old_schemas, new_schemas)
