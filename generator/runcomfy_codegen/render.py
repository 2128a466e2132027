"""IR → Python source text: the one ``jinja2.Environment`` and the views the templates render.

Templates receive names that are already valid identifiers, code the :mod:`checks` emitter built, and
schema text and values only through the ``literal`` and ``doc`` filters (see :mod:`literals`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jinja2

from . import checks, pricing
from .ir import Field, ModelSpec, Node, ObjectModel, numeric_bounds, size_ranges
from .literals import doc_text, py_literal, py_tuple, short
from .naming import MODULE_EXPORTS
from .resources import templates_dir
from .stamp import ModelRecord

GENERATOR = "runcomfy-codegen"


def make_environment(directory: Path | None = None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory or templates_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Python source, not HTML: schema data goes through the filters
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["literal"] = py_literal
    env.filters["tuple"] = py_tuple
    env.filters["doc"] = doc_text
    return env


# --- views -----------------------------------------------------------------------------------------


@dataclasses.dataclass
class FieldView:
    name: str
    json_name: str
    annotation: str  # of the attribute
    param_annotation: str  # of the parameter (media fields also take local files)
    required: bool
    doc: str  # escaped
    summary: str  # escaped, one paragraph for the Args section
    check: list[str]
    to_json: bool


@dataclasses.dataclass
class ClassView:
    name: str
    doc: str  # escaped
    fields: list[FieldView]
    names: dict[str, str]  # JSON name → Python name
    same_names: bool
    is_input: bool


def field_doc(field: Field) -> tuple[str, str]:
    """(attribute docstring, Args line) for a field, as plain text before escaping."""
    node = field.node
    lines: list[str] = []
    text = (node.description or node.title or "").strip()
    if text:
        lines.append(text)
    facts: list[str] = []
    if field.required:
        facts.append("Required.")
    else:
        default = f" The server's default: {short(node.default)}." if node.has_default else ""
        facts.append(f"Optional: not sent when unset.{default}")
    accepts = checks.describe(node)
    if accepts and accepts != "any value":
        facts.append(f"Accepts {accepts}.")
    bounds = _bounds_text(node)
    if bounds:
        facts.append(bounds)
    if node.validations:
        rules = [str(rule.get("validation_error")) for rule in node.validations if isinstance(rule, dict)]
        rules = list(dict.fromkeys(rule for rule in rules if rule and rule != "None"))
        if rules:
            facts.append("RunComfy checks on the file: " + " ".join(rules))
    if field.required and node.has_default:
        facts.append(f"Example: {short(node.default)}")
    lines.append(" ".join(facts))
    return "\n\n".join(lines), " ".join(" ".join(lines).split())


def _bounds_text(node: Node) -> str:
    parts = [f"{relation} {py_literal(bound)}" for relation, bound in numeric_bounds(node)]
    text = ("Value " + " and ".join(parts) + ".") if parts else ""
    if node.multiple_of is not None:
        text += f" Multiple of {py_literal(node.multiple_of)}."
    for low, high, unit in size_ranges(node):
        text += f" {low if low is not None else 0} to {high if high is not None else 'any number of'} {unit}."
    if node.pattern is not None:
        text += f" Matches {node.pattern!r}."
    return text.strip()


def field_check(field: Field, emitter: checks.Emitter) -> list[str]:
    """The statements validating a field's value ``_x0`` in ``__init__``.

    A required field left out arrives as ``REQUIRED``, which a typed check rejects like any value that is
    not JSON (its error is then reported as "missing" by ``_v.invalid``); an untyped field, which takes any
    value, tests for it first."""
    path = checks.Path((py_literal(field.json_name),))
    body = emitter.check(field.node, "_x0", path, depth=0)
    if not field.required or field.node.never or checks.effective_types(field.node) is not None:
        return body
    missing = ["if _x0 is _REQUIRED:", checks.INDENT + emitter.error(path, "_x0", "a value (required field)")]
    return missing + (["else:", *(checks.INDENT + line for line in body)] if body else [])


def class_view(model: ObjectModel, emitter: checks.Emitter, doc: str, *, is_input: bool = False) -> ClassView:
    fields = []
    for field in model.fields:
        body = field_check(field, emitter)
        attribute_doc, summary = field_doc(field)
        fields.append(
            FieldView(
                name=field.name,
                json_name=field.json_name,
                annotation=checks.annotation(field.node),
                param_annotation=checks.annotation(field.node, local=True),
                required=field.required,
                doc=doc_text(attribute_doc),
                summary=doc_text(summary),
                check=body,
                to_json=checks.needs_conversion(field.node),
            )
        )
    names = {field.json_name: field.name for field in model.fields}
    return ClassView(
        name=model.class_name,
        doc=doc_text(doc),
        fields=fields,
        names=names,
        same_names=all(k == v for k, v in names.items()),
        is_input=is_input,
    )


def module_doc(spec: ModelSpec) -> str:
    title = spec.display_name or spec.model_id
    kind = f" ({spec.output_type.lower()} model)" if spec.output_type else ""
    return (
        f"{title}: ``{spec.model_id}``{kind}.\n\n"
        f"Generated by {GENERATOR} from ``schemas/{spec.source_file}``: do not edit; regenerate instead.\n"
        "Build an :class:`Input` with keyword arguments (or :meth:`Input.from_dict`); read results with\n"
        ":class:`Output`."
    )


def pricing_doc(spec: ModelSpec) -> str:
    if spec.price is None:
        return (
            "The model's price in RunComfy's catalog: ``None`` here, as the schema file carries none;\n"
            "``runcomfy-codegen pull`` (or ``add``) keeps the catalog's price in it, then ``generate``."
        )
    note = f" ({spec.price.note})" if spec.price.note else ""
    return f"The model's price in RunComfy's catalog, from the schema file: {spec.price}{note}."


def input_doc(spec: ModelSpec) -> str:
    title = spec.display_name or spec.model_id
    return (
        f"The input of {title} (``{spec.model_id}``).\n\n"
        "Every field is checked when the object is built, and all problems are raised together as one\n"
        ":class:`runcomfy.ValidationError`. Optional fields left unset are not sent: the server's own\n"
        "default applies."
    )


def nested_doc(model: ObjectModel) -> str:
    text = (model.node.description or model.node.title or "").strip()
    return (text + "\n\n" if text else "") + "A nested object of the input; validated when built."


def render_model(env: jinja2.Environment, spec: ModelSpec, header: str) -> str:
    emitter = checks.Emitter()
    classes = [class_view(model, emitter, nested_doc(model)) for model in spec.nested_models]
    classes.append(class_view(spec.input_model, emitter, input_doc(spec), is_input=True))
    code = "\n".join(
        [line for cls in classes for f in cls.fields for line in f.check]
        + [expr for _, expr in emitter.constants]
        + [line for function in emitter.functions for line in function]
        + [f.param_annotation for cls in classes for f in cls.fields]
    )
    cost = pricing.cost_fields(spec.input_model)
    return env.get_template("module.py.jinja").render(
        header=header,
        doc=doc_text(module_doc(spec)),
        spec=spec,
        pricing=spec.price.expression() if spec.price is not None else "None",
        pricing_doc=doc_text(pricing_doc(spec)),
        cost_basis=cost.expression(),
        estimate_doc=doc_text(pricing.estimate_doc(cost)),
        classes=classes,
        constants=emitter.constants,
        functions=emitter.functions,
        output_fields=[
            dict(name=f.name, json_name=f.json_name, shape=f.shape, doc=doc_text(f.description or ""))
            for f in spec.output_fields
        ],
        uses_re="_re." in code,
        uses_rx="_rx." in code,
        uses_sequence="Sequence[" in code,
        uses_required=any(f.required for cls in classes for f in cls.fields),
        uses_formats="_f." in code,
        uses_literal="Literal[" in code,
        uses_local="LocalMedia" in code,
        exports=sorted([*MODULE_EXPORTS, *(cls.name for cls in classes)]),
    )


@dataclasses.dataclass(frozen=True)
class RegistryEntry:
    """One line of ``runcomfy.models.CATALOG``."""

    model_id: str
    module: str
    record: ModelRecord


def render_registry(env: jinja2.Environment, entries: list[RegistryEntry], header: str) -> str:
    return env.get_template("models_init.py.jinja").render(header=header, entries=entries, runtime_api=runtime_api())


def runtime_api() -> tuple[int, int]:
    """``RUNTIME_API`` of the runtime the templates are written against (``templates/runtime/_version.py``)."""
    import ast

    tree = ast.parse((templates_dir() / "runtime" / "_version.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "RUNTIME_API" for t in node.targets):
            major, minor = ast.literal_eval(node.value)
            return int(major), int(minor)
    raise LookupError("templates/runtime/_version.py defines no RUNTIME_API")


def render_namespace(env: jinja2.Environment, package: str, children: list[str], header: str) -> str:
    return env.get_template("namespace_init.py.jinja").render(header=header, package=package, children=children)


def header(source: str) -> str:
    return f"# Generated by {GENERATOR} from {source}. Do not edit: regenerate with `{GENERATOR} generate`."
