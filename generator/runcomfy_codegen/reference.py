"""IR → the API reference of the docs site: one Markdown page per model and an index, from the same
:class:`~runcomfy_codegen.ir.ModelSpec` the modules are rendered from.

Schema text is untrusted: it reaches a page only through :func:`md_text` (HTML and Markdown escaped,
control characters shown as escapes) or inside a code fence longer than any backtick run it holds.
The example input of each page (:func:`example_input`) is built from the schema alone and is valid for
the model: the tests build every model's ``Input`` from it.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import json
import re
import shlex
import unicodedata
from collections.abc import Iterator
from typing import Any

import jinja2

from . import checks
from .ir import Field, ModelSpec, Node, numeric_bounds, size_ranges
from .literals import py_literal
from .resources import templates_dir

DOCS_DIR = "reference"
"""The reference's folder below the output directory (``docs/reference`` links to it)."""
INDEX = f"{DOCS_DIR}/index.md"
API_BASE = "https://model-api.runcomfy.net"
MEDIA_EXAMPLES = {
    "image": "https://example.com/input.png",
    "video": "https://example.com/input.mp4",
    "audio": "https://example.com/input.wav",
}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>])")


# --- escaping --------------------------------------------------------------------------------------


def md_text(text: object) -> str:
    """Schema text as inline Markdown that shows exactly that text: HTML and Markdown characters escaped,
    line breaks as ``<br>`` (tables stay one row), control and format characters as visible escapes."""
    out = []
    for char in str(text).replace("\r\n", "\n"):
        if char == "\n":
            out.append("<br>")
        elif char == "&":
            out.append("&amp;")
        elif char == "<":
            out.append("&lt;")
        elif char == ">":
            out.append("&gt;")
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(f"\\\\u{ord(char):04x}")
        else:
            out.append(_MD_SPECIAL.sub(r"\\\1", char))
    return "".join(out)


def md_code(text: object) -> str:
    """Text as inline code that is safe anywhere, table cells included: an HTML ``<code>`` element whose
    punctuation is written as character references, so neither Markdown nor a table's ``|`` sees it."""
    body = "".join(
        f"&#{ord(c)};" if (c.isascii() and not c.isalnum() and c not in " -./:") else c for c in _visible(str(text))
    )
    return f"<code>{body}</code>"


def _visible(text: str) -> str:
    """Control and format characters as visible ``\\uXXXX`` escapes, nothing else changed."""
    return "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") else c for c in text
    )


def code_block(language: str, body: str) -> str:
    """A fenced code block whose fence no line of ``body`` can close."""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{body}\n{fence}"


# --- example inputs --------------------------------------------------------------------------------


def example_value(node: Node) -> Any:
    """A value the node accepts, from the schema alone: its default or first allowed value when it has
    one, else the smallest value its type and bounds allow."""
    if node.has_default:
        return node.default
    if node.enum:
        return node.enum[0]
    if node.format in checks.MEDIA_FORMATS:
        return MEDIA_EXAMPLES[node.format.split("_")[0]]
    if node.format in ("image_uris", "video_uris", "audio_uris"):
        return [MEDIA_EXAMPLES[node.format.split("_")[0]]]
    types = node.types or ("string",)
    if node.model is not None or ("object" in types and node.properties):
        return {name: example_value(sub) for name, sub in node.properties.items() if name in node.required}
    kind = next(t for t in ("string", "integer", "number", "boolean", "array", "object", "null") if t in types)
    if kind == "string":
        text = "a cat in a garden"
        if node.min_length is not None and len(text) < node.min_length:
            text = text + "." * (min(int(node.min_length), 10_000) - len(text))  # bounded, whatever the schema says
        return text[: int(node.max_length)] if node.max_length is not None else text
    if kind in ("integer", "number"):
        return _example_number(node, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "array":
        item = example_value(node.items) if node.items is not None else "value"
        return [item] * min(max(1, int(node.min_items or 0)), 100)
    return {} if kind == "object" else None


def _example_number(node: Node, *, integer: bool) -> int | float:
    low = node.minimum if node.minimum is not None else node.exclusive_minimum
    value: int | float = 1 if low is None else low
    if node.exclusive_minimum is not None and value <= node.exclusive_minimum:
        value = node.exclusive_minimum + (1 if integer else 0.5)
    high = node.maximum if node.maximum is not None else node.exclusive_maximum
    if high is not None and value > high:
        value = high
    if integer:
        value = int(value) if float(value).is_integer() else int(value) + 1
    return value


def example_input(spec: ModelSpec) -> dict[str, Any]:
    """The example request body of a model's page: every required field (``prompt`` too, when the model
    has one and does not require it)."""
    fields = spec.input_model.fields
    chosen = [f for f in fields if f.required] or [f for f in fields if f.json_name == "prompt"]
    return {f.json_name: example_value(f.node) for f in chosen}


# --- views -----------------------------------------------------------------------------------------


@dataclasses.dataclass
class FieldRow:
    name: str  # JSON path: ``prompt``, ``loras[].scale``
    python: str  # the Python parameter name (top level) or ""
    type: str
    required: bool
    default: str
    constraints: str
    description: str


def field_rows(fields: list[Field], prefix: str = "", depth: int = 0) -> Iterator[FieldRow]:
    """One row per field, nested object fields after their parent with dotted JSON paths."""
    for field in fields:
        node = field.node
        name = f"{prefix}{field.json_name}"
        yield FieldRow(
            name=md_code(name),
            python=md_code(field.name) if not prefix and field.name != field.json_name else "",
            type=md_text(type_text(node)),
            required="yes" if field.required else "",
            default=md_code(_short_json(node.default)) if node.has_default and not field.required else "",
            constraints=md_text(constraints_text(node)),
            description=md_text((node.description or node.title or "").strip()),
        )
        if depth < 4:
            inner = node.model or (node.items.model if node.items is not None else None)
            if inner is not None:
                suffix = "[]." if node.model is None else "."
                yield from field_rows(inner.fields, name + suffix, depth + 1)


def type_text(node: Node) -> str:
    """The kind of value a field takes, in a word or three (allowed values go to the constraints)."""
    if node.format in checks.MEDIA_FORMATS:
        return f"{node.format.split('_')[0]} URL or data URI"
    if node.format in ("image_uris", "video_uris", "audio_uris"):
        return f"list of {node.format.split('_')[0]} URLs or data URIs"
    if node.model is not None:
        return f"{node.model.class_name} object"
    if node.enum is not None:
        kinds = sorted({type(value).__name__ for value in node.enum})
        words = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "NoneType": "null"}
        return " or ".join(words.get(kind, "value") for kind in kinds)
    types = checks.effective_types(node)
    if types is None:
        return "any value"
    if types == ("array",) and node.items is not None:
        return f"list of {type_text(node.items)}"
    return " or ".join(types)


def constraints_text(node: Node) -> str:
    signs = {">=": "≥", "<=": "≤"}
    parts = [f"{signs.get(relation, relation)} {py_literal(bound)}" for relation, bound in numeric_bounds(node)]
    if node.multiple_of is not None:
        parts.append(f"multiple of {py_literal(node.multiple_of)}")
    for low, high, unit in size_ranges(node):
        parts.append(f"{low or 0}–{high if high is not None else '∞'} {unit}")
    if node.enum is not None and len(node.enum) > 1:
        parts.append("one of " + ", ".join(_short_json(v) for v in node.enum))
    if node.pattern is not None:
        parts.append(f"matches {node.pattern}")
    if node.format is not None and node.format not in checks.MEDIA_FORMATS:
        parts.append(f"format {node.format}")
    return "; ".join(parts)


def _short_json(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def validation_rules(spec: ModelSpec) -> list[tuple[str, str]]:
    """``(field, rule text)`` of RunComfy's file checks, as the API page words them."""
    rows = []
    for name, rules in spec.validations.items():
        for rule in rules:
            if isinstance(rule, dict):
                text = rule.get("validation_error") or json.dumps(rule, ensure_ascii=False, sort_keys=True)
                rows.append((md_code(name), md_text(text)))
    return rows


def _has_object(node: Node) -> bool:
    return node.model is not None or (node.items is not None and node.items.model is not None)


def python_example(spec: ModelSpec, body: dict[str, Any]) -> str:
    module, _, leaf = spec.module.rpartition(".")
    names = {f.json_name: f.name for f in spec.input_model.fields}
    nested = any(_has_object(f.node) for f in spec.input_model.fields if f.json_name in body)
    if nested:
        call = f"{leaf}.run({leaf}.Input.from_dict({py_literal(body)}))"
    else:
        args = ", ".join(f"{names[key]}={py_literal(value)}" for key, value in body.items())
        call = f"{leaf}.run({args})"
    return f'from {module} import {leaf}\n\nresult = {call}\nprint(result.output.urls())\nresult.save("out/")'


def cli_example(spec: ModelSpec, body: dict[str, Any]) -> str:
    payload = json.dumps(body, ensure_ascii=False)
    return f"runcomfy run {spec.model_id} \\\n  --input {shlex.quote(payload)} \\\n  --output-dir out/"


def curl_example(spec: ModelSpec, body: dict[str, Any]) -> str:
    payload = json.dumps(body, ensure_ascii=False)
    return (
        f"curl -X POST {API_BASE}/v1/models/{spec.model_id} \\\n"
        '  -H "Authorization: Bearer $RUNCOMFY_API_TOKEN" \\\n'
        '  -H "Content-Type: application/json" \\\n'
        f"  -d {shlex.quote(payload)}"
    )


def page_path(model_id: str) -> str:
    """The page of a model below the output directory: ``reference/models/<model_id>.md``."""
    return f"{DOCS_DIR}/models/{model_id}.md"


def render_page(env: jinja2.Environment, spec: ModelSpec) -> str:
    body = example_input(spec)
    return env.get_template("docs/model.md.jinja").render(
        title=md_text(spec.display_name or spec.model_id),
        model_id=md_code(spec.model_id),
        output_type=md_text(spec.output_type or "unknown"),
        categories=md_text(", ".join(categories_of(spec.model_id, spec.output_type or "", spec.input_schema))),
        module=md_code(spec.module),
        pricing=md_text(spec.price) if spec.price is not None else "",
        pricing_note=md_text(spec.price.note) if spec.price is not None and spec.price.note else "",
        rows=list(field_rows(spec.input_model.fields)),
        outputs=[
            (
                md_code(f.json_name),
                md_text({"url": "one URL", "urls": "a list of URLs"}.get(f.shape, "any value")),
                md_text(f.description or ""),
            )
            for f in spec.output_fields
        ],
        rules=validation_rules(spec),
        python=code_block("python", python_example(spec, body)),
        cli=code_block("sh", cli_example(spec, body)),
        curl=code_block("sh", curl_example(spec, body)),
    )


@dataclasses.dataclass(frozen=True)
class IndexEntry:
    model_id: str
    display_name: str | None
    output_type: str | None
    module: str
    input_schema: Any = None

    @property
    def categories(self) -> list[str]:
        return categories_of(self.model_id, self.output_type or "", self.input_schema)


def categories_of(model_id: str, output_type: str, input_schema: Any) -> list[str]:
    """RunComfy's capability categories of a model, by the rule the runtime's emulator serves
    (``templates/runtime/_categories.py``, loaded from the templates being generated)."""
    return _categories_module().categories_of(model_id, output_type, input_schema)  # type: ignore[no-any-return]


@functools.cache
def _categories_module() -> Any:
    path = templates_dir() / "runtime" / "_categories.py"
    spec = importlib.util.spec_from_file_location("_runcomfy_codegen_categories", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render_index(env: jinja2.Environment, entries: list[IndexEntry]) -> str:
    rows = [
        (
            f"[{md_text(entry.model_id)}](models/{entry.model_id}.md)",
            md_text(entry.display_name or ""),
            md_text(entry.output_type or ""),
            md_text(", ".join(entry.categories)),
            md_code(entry.module),
        )
        for entry in sorted(entries, key=lambda e: e.model_id)
    ]
    kinds = sorted({entry.output_type or "unknown" for entry in entries})
    counts = [(md_text(kind), sum(1 for e in entries if (e.output_type or "unknown") == kind)) for kind in kinds]
    return env.get_template("docs/index.md.jinja").render(rows=rows, counts=counts, total=len(entries))
