"""Property test of the generator: any schema is generated correctly or refused, never a crash.

Schemas are drawn from the metaschema's vocabulary (every keyword the generator reads, plus unknown
keywords and formats, ``$ref`` s into ``$defs``, booleans, empty enums, ``items: {}``), small in depth,
wrapped as the one property ``value`` of an input schema. For each:

* the generator either builds the model or raises its own refusal (``SchemaError``, with file and
  JSON path): any other exception fails the test;
* the rendered module must compile and import;
* on drawn instances (random JSON, the schema's own enum/const values and defaults), the generated
  ``Input.from_dict`` must agree with the oracle (``tests/oracle.py``: jsonschema plus the documented
  deviations) and raise nothing but ``ValidationError``.

The module source is rendered with the generator's own renderer and compiled directly (the ruff
formatting step of a full run changes layout only, and takes a subprocess per run). CI runs 200
examples; ``RUNCOMFY_FUZZ_EXAMPLES=10000`` runs more.
"""

from __future__ import annotations

import copy
import os
import sys
import types
from typing import Any

import oracle
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("RUNCOMFY_FUZZ_EXAMPLES", "200"))
INSTANCES = 12

DEFS = ("d0", "d1")
FORMATS = ("date-time", "date", "time", "duration", "email", "hostname", "idn-hostname", "ipv4", "ipv6", "uri",
           "uri-reference", "uuid", "regex", "int64", "binary", "image_uri", "image_uris")  # fmt: skip
PATTERNS = ("^a", "b$", "[0-9]+", "^x-", "a|b")
NAMES = ("a", "b", "foo", "x-1", "extra_body", "class")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, 1.0, -2.5]),
    st.sampled_from(["", "a", "ab", "1"]),
)
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(NAMES), inner, max_size=3)),
    max_leaves=6,
)  # fmt: skip
small = st.integers(0, 3)
number = st.one_of(st.integers(-3, 5), st.sampled_from([0.5, 1.5, -1.0]))
types_ = st.sampled_from(["null", "boolean", "integer", "number", "string", "array", "object"])


def keywords(schema: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """One keyword (and its value) of the vocabulary, subschemas drawn from ``schema``."""
    names = st.sampled_from(NAMES)
    return st.one_of(
        st.builds(lambda t: {"type": t}, st.one_of(types_, st.lists(types_, min_size=1, max_size=3, unique=True))),
        st.builds(lambda v: {"enum": v}, st.lists(scalars, max_size=3)),
        st.builds(lambda v: {"const": v}, json_values),
        st.builds(lambda k, v: {k: v}, st.sampled_from(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]), number),
        st.builds(lambda v: {"multipleOf": v}, st.sampled_from([1, 2, 0.5])),
        st.builds(lambda k, v: {k: v}, st.sampled_from(["minLength", "maxLength", "minItems", "maxItems", "minProperties",
                                                          "maxProperties", "minContains", "maxContains"]), small),
        st.builds(lambda v: {"pattern": v}, st.sampled_from(PATTERNS)),
        st.builds(lambda v: {"format": v}, st.sampled_from(FORMATS)),
        st.builds(lambda v: {"items": v}, schema),
        st.builds(lambda v: {"prefixItems": v}, st.lists(schema, min_size=1, max_size=2)),
        st.builds(lambda v: {"contains": v}, schema),
        st.just({"uniqueItems": True}),
        st.builds(lambda v: {"properties": v}, st.dictionaries(names, schema, max_size=2)),
        st.builds(lambda v: {"required": v}, st.lists(names, max_size=2, unique=True)),
        st.builds(lambda v: {"additionalProperties": v}, schema),
        st.builds(lambda p, v: {"patternProperties": {p: v}}, st.sampled_from(PATTERNS), schema),
        st.builds(lambda v: {"propertyNames": v}, schema),
        st.builds(lambda k, v: {"dependentRequired": {k: v}}, names, st.lists(names, max_size=2, unique=True)),
        st.builds(lambda k, v: {"dependentSchemas": {k: v}}, names, schema),
        st.builds(lambda k, v: {k: v}, st.sampled_from(["allOf", "anyOf", "oneOf"]), st.lists(schema, min_size=1, max_size=2)),
        st.builds(lambda v: {"not": v}, schema),
        st.builds(lambda i, t, e: {"if": i, **t, **e}, schema, st.one_of(st.just({}), st.builds(lambda v: {"then": v}, schema)),
                  st.one_of(st.just({}), st.builds(lambda v: {"else": v}, schema))),
        st.builds(lambda v: {"unevaluatedProperties": v}, schema),
        st.builds(lambda v: {"unevaluatedItems": v}, schema),
        st.builds(lambda d: {"$ref": f"#/$defs/{d}"}, st.sampled_from(DEFS)),
        st.just({"nullable": True}),
        st.builds(lambda v: {"default": v}, json_values),
        st.sampled_from([{"title": "t"}, {"description": "d"}, {"x-extra": 1}, {"comment": "c"}, {"example": 1},
                         {"examples": [1]}, {"deprecated": True}]),
    )  # fmt: skip


def schemas(depth: int) -> st.SearchStrategy[Any]:
    if depth == 0:
        return st.one_of(st.booleans(), st.just({}), st.builds(lambda t: {"type": t}, types_))
    inner = schemas(depth - 1)
    return st.one_of(
        st.booleans(),
        st.lists(keywords(inner), max_size=4).map(lambda parts: {k: v for part in parts for k, v in part.items()}),
    )


@st.composite
def input_schemas(draw: st.DrawFn) -> dict[str, Any]:
    value = draw(schemas(2), label="value schema")
    defs = {name: draw(schemas(1), label=f"$defs/{name}") for name in DEFS}
    return {"type": "object", "$defs": defs, "properties": {"value": value}}


def _members(schema: Any) -> list[Any]:
    """Values the schema names itself (enum members, const, defaults), anywhere inside."""
    found: list[Any] = []
    if isinstance(schema, dict):
        found += list(schema.get("enum", [])) if isinstance(schema.get("enum"), list) else []
        found += [schema[key] for key in ("const", "default") if key in schema]
        for value in schema.values():
            found += _members(value)
    elif isinstance(schema, list):
        for value in schema:
            found += _members(value)
    return found[:10]


_COUNTER = iter(range(10**9))


def build(schema: dict[str, Any]) -> Any:
    """The generated module of ``schema`` (imported), or ``None`` when the generator refuses it."""
    from runcomfy_codegen import render
    from runcomfy_codegen.errors import SchemaError
    from runcomfy_codegen.loader import SchemaFile
    from runcomfy_codegen.pipeline import build_spec

    data = {"model_id": "fuzz/model", "input_schema": copy.deepcopy(schema)}
    try:
        spec, _ = build_spec(SchemaFile("fuzz/model.json", data))
    except SchemaError as exc:
        assert exc.pointer.startswith("/") and exc.file == "fuzz/model.json"
        return None
    source = render.render_model(render.make_environment(), spec, render.header("fuzz"))
    name = f"_fuzz_model_{next(_COUNTER)}"
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    finally:
        del sys.modules[name]
    return module


STATS = {"schemas": 0, "refused": 0, "instances": 0}


# No shrinking: every step rebuilds a model, and the failure message already shows the schema and instance.
@settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, print_blob=False,
    suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.reuse, Phase.generate],
)  # fmt: skip
@given(schema=input_schemas(), data=st.data())
def test_generated_code_is_correct_or_refused(schema: dict[str, Any], data: st.DataObject) -> None:
    from runcomfy import ValidationError

    STATS["schemas"] += 1
    module = build(schema)
    if module is None:
        STATS["refused"] += 1
        return
    judge = oracle.Oracle(schema)
    candidates = _members(schema["properties"]["value"]) + [
        data.draw(json_values, label=f"instance {n}") for n in range(INSTANCES)
    ]
    for value in candidates:
        instance = {"value": value}
        STATS["instances"] += 1
        problem = oracle.compare("fuzz/model", judge, module.Input, instance, ValidationError, "drawn instance")
        assert problem is None, f"schema: {schema}\n{problem}"


@pytest.fixture(scope="module", autouse=True)
def report_counts() -> Any:
    yield
    print(f"\nfuzz: {STATS['schemas']} schemas ({STATS['refused']} refused), {STATS['instances']} instances checked")
