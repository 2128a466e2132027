"""Contract tests: every generated ``Input`` against an independent oracle (``tests/oracle.py``).

* Structure, per schema file: fields, required/optional parameters, ``Literal`` enums, module constants.
* Differential, per schema file: valid instances drawn from the (closed, normalised) schema round-trip
  through ``Input.from_dict(...).to_dict()``; mutated instances are accepted iff the oracle accepts them.
* Differential, on inline synthetic schemas that exercise the wider JSON Schema vocabulary: each is run
  through the generator's Python API into a temporary directory and its module imported from there.

Hypothesis runs derandomized (a fixed seed per test) with no example database, so runs are repeatable.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib.util
import inspect
import json
import keyword
import sys
import types
import typing
from pathlib import Path
from typing import Any

import oracle
import pytest
import runcomfy
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from runcomfy._types import REQUIRED
from runcomfy.models import MODELS, load

FILES = oracle.schema_files()
SCHEMAS = dict(FILES)
MODEL_IDS = [model_id for model_id, _ in FILES]

ROUNDTRIP_EXAMPLES = 20
MUTATION_EXAMPLES = 8
SYNTHETIC_EXAMPLES = 40

SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "print_blob": False,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
}


# Each example of the mutation tests checks hundreds of instances and a failure already shows the exact
# instance the generated code gets wrong: shrinking would only cost minutes.
NO_SHRINK = {"phases": [Phase.explicit, Phase.reuse, Phase.generate]}


def fail_with(problems: list[str]) -> None:
    if problems:
        shown = "\n".join(problems[:6])
        more = f"\n... and {len(problems) - 6} more" if len(problems) > 6 else ""
        pytest.fail(f"{len(problems)} disagreement(s) with the oracle:\n{shown}{more}", pytrace=False)


# === structure =====================================================================================


def test_registry_lists_every_schema_file() -> None:
    assert sorted(MODELS) == MODEL_IDS


def _literal_values(hint: Any) -> list[Any] | None:
    """The values of the ``Literal[...]`` inside an evaluated (possibly ``| Unset``) annotation.

    typing caches unions by equality, and ``Literal`` equality ignores order: the evaluated hint may list
    the values in another model's order. Only the set is checked here; the order comes from the source."""
    if typing.get_origin(hint) is typing.Literal:
        return list(typing.get_args(hint))
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        values = [_literal_values(arg) for arg in typing.get_args(hint)]
        found = [v for v in values if v is not None]
        return [x for v in found for x in v] if found else None
    return None


def _literal_source_values(annotation: str) -> list[Any] | None:
    """The values of ``Literal[...]`` in an annotation's source text, in order, types kept."""
    for node in ast.walk(ast.parse(annotation, mode="eval")):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Literal":
            elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            return [ast.literal_eval(element) for element in elements]
    return None


def _union_args(hint: Any) -> set[Any]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return {typing.get_origin(a) or a for a in typing.get_args(hint)}
    return {typing.get_origin(hint) or hint}


def check_structure(module: Any, schema: dict[str, Any], *, same_names: bool) -> None:
    input_cls = module.Input
    properties: dict[str, Any] = schema["properties"]
    required = set(schema.get("required", []))
    names: dict[str, str] = input_cls._NAMES

    assert list(names) == list(properties), "Input._NAMES must list the schema's properties"
    assert len(set(names.values())) == len(names), f"two properties share a Python name: {names}"
    for json_name, name in names.items():
        assert name.isidentifier() and not keyword.iskeyword(name), (json_name, name)
        if same_names and json_name.isidentifier() and not keyword.iskeyword(json_name):
            assert name == json_name, f"{json_name!r} is a valid identifier but became {name!r}"

    fields = {f.name: f for f in dataclasses.fields(input_cls) if f.name != "extra_body"}
    assert set(fields) == set(names.values()), "dataclass fields != schema properties"

    # The run-time signature as shown (help(), inspect): the fields keyword-only, a required one defaulting
    # to REQUIRED (reported as missing by validation), extra_body; not the catch-alls (_arg0, *_args,
    # **_unknown) that only turn a bad call into a clear error.
    every = inspect.signature(input_cls.__init__).parameters
    assert every["extra_body"].kind is inspect.Parameter.KEYWORD_ONLY and every["extra_body"].default is None
    parameters = [p for p in every.values() if p.name not in ("self", "extra_body")]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters), "parameters must be keyword-only"
    assert {p.name for p in parameters} == set(names.values())
    without_default = {p.name for p in parameters if p.default is REQUIRED}
    assert without_default == {names[key] for key in required}, "required properties != parameters without default"
    for p in parameters:
        if p.default is not REQUIRED:
            assert p.default is runcomfy.UNSET, f"optional {p.name!r} defaults to {p.default!r}, not UNSET"
            assert fields[p.name].default is runcomfy.UNSET, f"field {p.name!r} does not default to UNSET"

    hints = typing.get_type_hints(input_cls.__init__)
    sources = {p.name: p.annotation for p in parameters}
    for json_name, sub in properties.items():
        hint = hints[names[json_name]]
        if json_name not in required:
            assert runcomfy.Unset in _union_args(hint), f"optional {json_name!r}: {hint} lacks Unset"
        if not isinstance(sub, dict):
            continue
        if "enum" in sub and all(isinstance(v, (str, int)) or v is None for v in sub["enum"]):
            expected = [v for v in sub["enum"] if v is not None]
            source = sources[names[json_name]]
            assert isinstance(source, str), "annotations are expected as source text (postponed evaluation)"
            written = _literal_source_values(source)
            assert written is not None, f"{json_name!r}: enum property annotated {source}, not a Literal"
            assert [(type(v), v) for v in written] == [(type(v), v) for v in expected], (
                f"{json_name!r}: Literal values {written!r} != enum {expected!r}"
            )
            evaluated = _literal_values(hint)
            assert evaluated is not None and {(type(v), v) for v in evaluated} == {(type(v), v) for v in expected}
        elif sub.get("type") in ("string", "integer", "boolean"):
            expected_type = {"string": str, "integer": int, "boolean": bool}[sub["type"]]
            assert expected_type in _union_args(hint), f"{json_name!r}: {hint} does not admit {expected_type}"


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_structure(model_id: str) -> None:
    check_structure(load(model_id), SCHEMAS[model_id]["input_schema"], same_names=True)


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_module_constants(model_id: str) -> None:
    module, data = load(model_id), SCHEMAS[model_id]
    assert module.MODEL_ID == model_id
    assert oracle.identical(module.INPUT_SCHEMA, data["input_schema"]), "INPUT_SCHEMA != the file's input_schema"
    expected_output = data.get("output_schema", SCHEMAS[oracle.REFERENCE_OUTPUT_MODEL]["output_schema"])
    assert oracle.identical(module.OUTPUT_SCHEMA, expected_output), "OUTPUT_SCHEMA is not the expected one"
    assert module.DISPLAY_NAME == data.get("display_name")
    assert module.OUTPUT_TYPE == data.get("output_type")


# === differential: the real schemas ================================================================


@dataclasses.dataclass
class Subject:
    """A model under test: its generated module, the oracle for its schema, strategies."""

    model_id: str
    module: Any
    oracle: oracle.Oracle
    strategy: st.SearchStrategy[Any]
    fillers: dict[str, Any]

    def compare(self, instance: Any, label: str = "") -> str | None:
        return oracle.compare(
            self.model_id,
            self.oracle,
            self.module.Input,
            instance,
            runcomfy.ValidationError,
            label,
            self.integers_sent_as_int,
        )

    def integers_sent_as_int(self, instance: Any, built: Any, sent: dict[str, Any]) -> str | None:
        """On a valid instance: an ``integer`` property given as 2.0 is stored and sent as int 2."""
        for json_name, sub in self.oracle.schema.get("properties", {}).items():
            if not isinstance(sub, dict) or json_name not in sent:
                continue
            kinds = oracle._types(sub)
            value = instance[json_name]
            if "integer" in kinds and "number" not in kinds and type(value) in (int, float):
                stored = getattr(built, self.module.Input._NAMES[json_name])
                if type(sent[json_name]) is not int or type(stored) is not int:
                    return f"[{self.model_id}] integer {json_name!r}={value!r} sent as {sent[json_name]!r}"
        return None


@functools.cache
def subject(model_id: str) -> Subject:
    schema_oracle = oracle.Oracle(SCHEMAS[model_id]["input_schema"])
    fillers = {name: oracle.filler_for(schema_oracle.schema, name) for name in schema_oracle.schema["properties"]}
    return Subject(model_id, load(model_id), schema_oracle, oracle.instances(schema_oracle), fillers)


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_valid_instances_round_trip(model_id: str) -> None:
    subj = subject(model_id)

    @settings(max_examples=ROUNDTRIP_EXAMPLES, **SETTINGS)
    @given(subj.strategy)
    def check(instance: Any) -> None:
        assert subj.oracle.is_valid(instance), (
            f"test bug: hypothesis-jsonschema drew {instance!r}, which the oracle rejects: "
            f"{subj.oracle.explain(instance)}"
        )
        fail_with([p for p in (subj.compare(instance, "drawn valid instance"),) if p])

    check()


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_mutations_agree_with_oracle(model_id: str) -> None:
    subj = subject(model_id)
    properties = list(subj.oracle.schema.get("properties", {}))

    @settings(max_examples=MUTATION_EXAMPLES, **SETTINGS, **NO_SHRINK)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        instance = data.draw(subj.strategy, label="valid instance")
        assert subj.oracle.is_valid(instance), subj.oracle.explain(instance)
        mutations = [
            *oracle.object_mutations(subj.oracle.schema, instance, subj.fillers),
            *oracle.structural_mutations(instance),
            ("not an object: list", []),
            ("not an object: None", None),
            ("not an object: str", "prompt"),
        ]
        for name in properties:
            value = data.draw(oracle.json_values, label=f"random value for {name}")
            mutations.append((f"{name!r} := random {value!r}", {**instance, name: value}))
        fail_with([p for p in (subj.compare(mutated, label) for label, mutated in mutations) if p])

    check()


# === differential: synthetic schemas =================================================================
# (name, input schema, hand-picked instances checked besides the drawn ones)

AWKWARD_NAMES = ("class", "a-b", "1x", "self", "_private", "private", "data", "cls", "extra", "to_dict", "type",
                 "len", "UNSET", "Input", "from", "_e", "e", "x0", "_x0")  # fmt: skip

SYNTHETIC: list[tuple[str, dict[str, Any], list[Any]]] = [
    (
        "combinators",
        {
            "type": "object",
            "required": ["a"],
            "properties": {
                "a": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "maxLength": 3}]},
                "b": {"oneOf": [{"type": "integer", "multipleOf": 2}, {"type": "integer", "multipleOf": 3}]},
                "c": {
                    "allOf": [
                        {"type": "object", "properties": {"x": {"type": "integer"}}},
                        {"type": "object", "properties": {"y": {"type": "string"}}, "required": ["y"]},
                    ]
                },
                "d": {"not": {"type": "string"}},
                "e": {"const": "fixed"},
                "f": {"const": 3},
                "g": {
                    "anyOf": [
                        {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
                        {"type": "null"},
                    ]
                },
                "h": {
                    "oneOf": [
                        {"type": "array", "items": {"type": "integer"}, "maxItems": 2},
                        {"type": "array", "items": {"type": "string"}},
                    ]
                },
            },
        },
        [
            {"a": 1, "b": 6},
            {"a": 1, "b": 4},
            {"a": 1, "b": 2.0},
            {"a": "abcd"},
            {"a": -1},
            {"a": 2.0},
            {"a": 1, "c": {"y": "s", "z": 1}},
            {"a": 1, "c": {"x": 1}},
            {"a": 1, "c": {"x": 1.0, "y": ""}},
            {"a": 1, "d": "s"},
            {"a": 1, "d": 1},
            {"a": 1, "e": "fixed"},
            {"a": 1, "e": "Fixed"},
            {"a": 1, "f": 3.0},
            {"a": 1, "f": True},
            {"a": 1, "g": {"x": 1}},
            {"a": 1, "g": {"x": 1, "y": 2}},
            {"a": 1, "g": None},
            {"a": 1, "h": []},
            {"a": 1, "h": [1, 2, 3]},
            {"a": 1, "h": [1, "x"]},
        ],
    ),
    (
        "nullable",
        {
            "type": "object",
            "properties": {
                "n1": {"type": "string", "nullable": True},
                "n2": {"type": "integer", "enum": [1, 2], "nullable": True},
                "n3": {"type": ["string", "null"], "maxLength": 2},
                "n4": {"enum": ["a", 1, None, True, 2.5, [1], {"k": "v"}]},
                "n5": {"type": "object", "nullable": True, "properties": {"p": {"type": "integer"}}, "required": ["p"]},
                "n6": {"enum": ["x", "y"], "nullable": True},
                "n7": {"type": "number", "nullable": False},
                "n8": {"type": ["integer", "string"], "nullable": True, "minimum": 0},
            },
        },
        [
            {"n1": None},
            {"n2": None},
            {"n2": 3},
            {"n2": 1.0},
            {"n3": None},
            {"n3": "abc"},
            {"n4": 1.0},
            {"n4": True},
            {"n4": False},
            {"n4": 0},
            {"n4": [1.0]},
            {"n4": [True]},
            {"n4": {"k": "v"}},
            {"n4": None},
            {"n5": None},
            {"n5": {"p": 1}},
            {"n5": {}},
            {"n5": {"p": 1, "q": 2}},
            {"n6": None},
            {"n6": "z"},
            {"n7": None},
            {"n8": None},
            {"n8": -1},
            {"n8": "-1"},
        ],
    ),
    (
        "const-nullable",
        {"type": "object", "properties": {"c": {"const": "x", "nullable": True}}},
        [{"c": "x"}, {"c": None}, {"c": "y"}],
    ),
    (
        "numbers",
        {
            "type": "object",
            "properties": {
                "m1": {"type": "integer", "multipleOf": 3, "minimum": -10, "maximum": 30},
                "m2": {"type": "number", "multipleOf": 0.1},
                "m3": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                "m4": {"type": "integer", "exclusiveMinimum": -1.5, "maximum": 2.5},
                "m5": {"type": ["integer", "string"], "minimum": 2},
                "m6": {"type": "number", "multipleOf": 2},
                "m7": {"minimum": 5},
                "m8": {"type": "integer", "enum": [1, 2.0, 3]},
                "m9": {"type": ["number", "null"], "maximum": 1.5},
                "m10": {"type": "number", "multipleOf": 0.25, "minimum": -1, "maximum": 1},
            },
        },
        [
            {"m1": 2.0},
            {"m1": 3.0},
            {"m1": -12},
            {"m2": 0.3},
            {"m2": 0.5},
            {"m2": 7},
            {"m3": 0},
            {"m3": 1e-300},
            {"m3": 1},
            {"m4": -1},
            {"m4": -2},
            {"m4": 3},
            {"m5": "a"},
            {"m5": 1},
            {"m5": 2.0},
            {"m6": 4.0},
            {"m6": 3},
            {"m7": "x"},
            {"m7": 4},
            {"m7": True},
            {"m8": 2},
            {"m8": 2.0},
            {"m8": 4},
            {"m9": None},
            {"m9": 2},
            {"m10": 0.75},
            {"m10": -0.5},
            {"m10": 0.3},
        ],
    ),
    (
        "strings",
        {
            "type": "object",
            "properties": {
                "s1": {"type": "string", "pattern": "^[a-z]+\\d?$", "minLength": 2, "maxLength": 5},
                "s2": {"type": "string", "pattern": "ab"},
                "s3": {"type": "string", "format": "uri"},
                "s4": {"type": "string", "format": "image_uri"},
                "s5": {"type": "string", "format": "video_uri"},
                "s6": {"type": "string", "format": "audio_uri"},
                "s7": {"type": "array", "format": "image_uris"},
                "s8": {"maxLength": 2},
                "s9": {"type": "string", "enum": ["1", "2", "10"]},
                "s10": {"type": "array", "format": "audio_uris", "items": {"type": "string", "minLength": 12}},
            },
        },
        [
            {"s1": "ab1"},
            {"s1": "ab\n"},
            {"s1": "a"},
            {"s1": "abcdef"},
            {"s1": "AB"},
            {"s2": "xaby"},
            {"s2": "a b"},
            {"s3": "mailto:x"},
            {"s3": "x"},
            {"s4": "https://a.b/c.png"},
            {"s4": "data:video/mp4;base64,AAAA"},
            {"s5": "data:video/mp4;base64,AAAA"},
            {"s6": "data:AUDIO/wav;base64,AA=="},
            {"s7": ["https://x"]},
            {"s7": [1]},
            {"s7": "https://x"},
            {"s7": []},
            {"s8": "abc"},
            {"s8": 3},
            {"s9": "1"},
            {"s9": 1},
            {"s10": ["https://a.b"]},
            {"s10": ["https://ab.cd/e"]},
            {"s10": ["data:audio/x;base64,AAAA"]},
        ],
    ),
    (
        "arrays",
        {
            "type": "object",
            "properties": {
                "u1": {"type": "array", "uniqueItems": True},
                "u2": {"type": "array", "uniqueItems": True, "items": {"type": ["integer", "boolean", "number"]}},
                "t1": {
                    "type": "array",
                    "prefixItems": [{"type": "string"}, {"type": "integer"}],
                    "items": {"type": "boolean"},
                },
                "t2": {"type": "array", "prefixItems": [{"type": "integer"}], "items": False},
                "c1": {
                    "type": "array",
                    "contains": {"type": "integer", "minimum": 5},
                    "minContains": 2,
                    "maxContains": 3,
                },
                "c2": {"type": "array", "contains": {"const": 1}, "minContains": 0},
                "l1": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3},
                "l2": {"items": {"type": "integer"}},
            },
        },
        [
            {"u1": [1, True]},
            {"u1": [1, 1.0]},
            {"u1": [0, False]},
            {"u1": [[1], [1.0]]},
            {"u1": [{"a": 1}, {"a": 1.0}]},
            {"u1": [{"a": 1}, {"a": True}]},
            {"u1": [None, None]},
            {"u2": [1, True]},
            {"u2": [1, 1.0]},
            {"u2": [2.0, 2]},
            {"t1": ["a", 1, True]},
            {"t1": ["a", "b"]},
            {"t1": [1]},
            {"t1": []},
            {"t1": ["a", 1.0, False, 3]},
            {"t2": [1, 2]},
            {"t2": [1]},
            {"t2": [1.0]},
            {"c1": [5, 6]},
            {"c1": [5]},
            {"c1": [5, 6, 7, 8]},
            {"c1": [5, 6, 1]},
            {"c2": []},
            {"l1": []},
            {"l1": [1, 2, 3, 4]},
            {"l1": [1.0]},
            {"l2": "x"},
            {"l2": [1.5]},
            {"l2": [2.0]},
        ],
    ),
    (
        "objects",
        {
            "type": "object",
            "properties": {
                "o1": {
                    "type": "object",
                    "properties": {
                        "x": {"type": "integer"},
                        "y": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "z": {"type": "string"},
                                    "class": {"type": "integer"},
                                    "a-b": {"type": "boolean"},
                                },
                                "required": ["z"],
                            },
                        },
                    },
                    "required": ["x"],
                },
                "o2": {
                    "type": "object",
                    "patternProperties": {"^x-": {"type": "integer"}},
                    "properties": {"a": {"type": "string"}},
                },
                "o3": {
                    "type": "object",
                    "additionalProperties": {"type": "integer"},
                    "properties": {"a": {"type": "string"}},
                },
                "o4": {"type": "object", "dependentRequired": {"a": ["b"]}, "properties": {"a": {}, "b": {}}},
                "o5": {"type": "object", "minProperties": 1, "maxProperties": 2},
                "o6": {"type": "object", "propertyNames": {"maxLength": 3}},
                "o7": {"type": "object", "properties": {}},
                "o8": {"properties": {"q": {"type": "integer"}}},
                "o9": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}},
                },
            },
        },
        [
            {"o1": {"x": 1}},
            {"o1": {"x": 1.0, "y": [{"z": "s", "class": 2.0, "a-b": True}]}},
            {"o1": {"x": 1, "y": [{"z": "s", "q": 1}]}},
            {"o1": {}},
            {"o1": {"x": 1, "y": [{}]}},
            {"o2": {"x-1": 1, "other": "s"}},
            {"o2": {"x-1": "s"}},
            {"o2": {"a": 1}},
            {"o3": {"a": "s", "b": 1}},
            {"o3": {"b": "s"}},
            {"o4": {"a": 1}},
            {"o4": {"a": 1, "b": 2}},
            {"o4": {"c": 1}},
            {"o5": {}},
            {"o5": {"a": 1, "b": 2, "c": 3}},
            {"o6": {"abcd": 1}},
            {"o6": {"abc": 1}},
            {"o7": {"any": 1}},
            {"o8": {"q": 1, "r": 2}},
            {"o8": "str"},
            {"o9": [{}]},
            {"o9": [{"n": -1}]},
            {"o9": [{"m": 1}]},
        ],
    ),
    (
        "nested-models",
        {
            "type": "object",
            "required": ["grid"],
            "properties": {
                "grid": {
                    "type": "array",
                    "maxItems": 3,
                    "items": {
                        "type": "array",
                        "maxItems": 3,
                        "items": {"type": "object", "properties": {"v": {"type": "integer"}}, "required": ["v"]},
                    },
                },
                "pair": {
                    "type": "array",
                    "prefixItems": [
                        {"type": "object", "properties": {"k": {"type": "string"}}},
                        {"type": ["object", "null"], "properties": {"n": {"type": "number", "minimum": 0}}},
                    ],
                    "items": False,
                },
                "either": {
                    "anyOf": [
                        {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                        {"type": "object", "properties": {"b": {"type": "string"}}, "required": ["b"]},
                    ]
                },
                "exactly": {
                    "oneOf": [
                        {"type": "object", "properties": {"a": {"type": "integer"}}},
                        {"type": "object", "properties": {"b": {"type": "integer"}}},
                    ]
                },
                "bag": {
                    "type": "object",
                    "additionalProperties": {"type": "object", "properties": {"w": {"type": "boolean"}}},
                },
                "deep": {
                    "type": "object",
                    "properties": {
                        "inner": {"type": "object", "properties": {"leaf": {"type": "integer", "maximum": 3}}}
                    },
                },
                "tagged": {"type": "object", "properties": {"x": {"type": "integer"}}, "nullable": True},
                "konst": {"const": {"a": [1, {"b": None}]}},
                "req-only": {"type": "object", "required": ["a"]},
                "open": {"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": True},
            },
        },
        [
            {"grid": []},
            {"grid": [[{"v": 1}, {"v": 2.0}], []]},
            {"grid": [[{"v": 1, "w": 2}]]},
            {"grid": [[{}]]},
            {"grid": [], "pair": [{"k": "a"}, None]},
            {"grid": [], "pair": [{"k": "a"}, {"n": -1}]},
            {"grid": [], "pair": [{}, {}, {}]},
            {"grid": [], "either": {"a": 1}},
            {"grid": [], "either": {"b": "x"}},
            {"grid": [], "either": {"a": 1, "b": "x"}},
            {"grid": [], "exactly": {}},
            {"grid": [], "exactly": {"a": 1}},
            {"grid": [], "bag": {"p": {"w": True}, "q": {}}},
            {"grid": [], "bag": {"p": {"w": 1}}},
            {"grid": [], "deep": {"inner": {"leaf": 4}}},
            {"grid": [], "deep": {"inner": {"leaf": 3.0}}},
            {"grid": [], "tagged": None},
            {"grid": [], "konst": {"a": [1.0, {"b": None}]}},
            {"grid": [], "konst": {"a": [True, {"b": None}]}},
            {"grid": [], "req-only": {}},
            {"grid": [], "req-only": {"a": None}},
            {"grid": [], "open": {"a": 1, "z": 2}},
        ],
    ),
    (
        "awkward-names",
        {
            "type": "object",
            "required": ["class", "a-b"],
            "properties": {name: {"type": "integer"} for name in AWKWARD_NAMES},
        },
        [{"class": 1, "a-b": 2}, {"class": 1}, {"class": 1, "a-b": 2, "self": 3, "_e": 4, "e": 5, "_x0": "x"}],
    ),
    (
        "refs",
        {
            "$defs": {
                "pos": {"type": "integer", "minimum": 0},
                "pt": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]},
            },
            "type": "object",
            "properties": {
                "r": {"$ref": "#/$defs/pos"},
                "r2": {"$ref": "#/$defs/pos", "maximum": 3},
                "pt": {"$ref": "#/$defs/pt"},
                "pts": {"type": "array", "items": {"$ref": "#/$defs/pt"}},
            },
        },
        [{"r": -1}, {"r2": 4}, {"r2": 3}, {"pt": {"x": 1, "y": 2}}, {"pt": {}}, {"pts": [{"x": 1.5}, {"x": 2}]}],
    ),
    (
        # A value turned into a nested dataclass by one keyword, then checked by a sibling keyword.
        "conversion-order",
        {
            "type": "object",
            "properties": {
                "q": {
                    "allOf": [
                        {
                            "type": "object",
                            "properties": {"a": {"type": "object", "properties": {"x": {"type": "integer"}}}},
                        },
                        {"properties": {"a": {"type": "object"}}},
                    ]
                },
                "p1": {
                    "anyOf": [{"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}],
                    "not": {"type": "object", "required": ["x"]},
                },
                "p2": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"x": {"type": "integer"}}},
                    "contains": {"type": "object", "required": ["x"]},
                },
                "p3": {
                    "type": "object",
                    "properties": {"ab": {"type": "object", "properties": {"x": {"type": "integer"}}}},
                    "patternProperties": {"^a": {"type": "object"}},
                },
            },
        },
        [{"q": {"a": {"x": 1}}}, {"p1": {"x": 1}}, {"p2": [{"x": 1}]}, {"p3": {"ab": {"x": 1}}}],
    ),
    (
        "draft-07",
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "definitions": {"pos": {"type": "integer", "minimum": 0}},
            "type": "object",
            "properties": {
                "t": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}], "additionalItems": False},
                # Keywords of later drafts (prefixItems, dependentRequired, minContains) and validation
                # keywords beside $ref are generation errors under draft-07: see tests/test_generator.py.
                "c": {"type": "array", "contains": {"type": "integer"}},
                "r": {"$ref": "#/definitions/pos"},
                "e": {"type": "integer", "exclusiveMaximum": 5},
            },
        },
        [
            {"t": ["a", 1]},
            {"t": ["a", 1, 2]},
            {"t": [1]},
            {"c": [1]},
            {"c": ["x"]},
            {"r": 5},
            {"r": -1},
            {"e": 5},
            {"e": 4.0},
        ],
    ),
    (
        "draft-04",
        {
            "$schema": "http://json-schema.org/draft-04/schema#",
            "type": "object",
            "properties": {
                "i": {"type": "integer"},
                "x": {"type": "number", "maximum": 5, "exclusiveMaximum": True},
                "y": {"type": "number", "minimum": 1, "exclusiveMinimum": True},
            },
        },
        [{"i": 2}, {"i": 2.0}, {"x": 5}, {"x": 4.5}, {"y": 1}, {"y": 1.5}],
    ),
    (
        # A nested object whose class name shadows a name the module imports from typing.
        "shadowing-class-names",
        {
            "type": "object",
            "properties": {
                "class_var": {"type": "object", "properties": {"x": {"type": "integer"}}},
                "n": {"type": "integer"},
            },
        },
        [{"n": 1}, {"class_var": {"x": 1}}],
    ),
    (
        "shadowing-literal",
        {
            "type": "object",
            "properties": {
                "literal": {"type": "object", "properties": {"x": {"type": "integer"}}},
                "choice": {"enum": ["a", "b"]},
            },
        },
        [{"choice": "a"}, {"literal": {"x": 1}}],
    ),
    (
        "formats",
        {
            "type": "object",
            "properties": {
                "image": {"type": "string", "format": "image_uri"},
                "video": {"type": "string", "format": "video_uri"},
                "audio": {"type": "string", "format": "audio_uri"},
                "images": {"type": "array", "format": "image_uris"},
                "link": {"type": "string", "format": "uri"},
            },
        },
        [],
    ),
]
SYNTHETIC_IDS = [name for name, _, _ in SYNTHETIC]
SYNTHETIC_BY_NAME = {name: (schema, examples) for name, schema, examples in SYNTHETIC}


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synthetic")


_SYNTHETIC_MODULES: dict[str, Any] = {}  # name → module, or the exception generating/importing it raised


def synthetic_module(root: Path, name: str) -> Any:
    """Generate the model of one synthetic schema (alone: a broken one cannot hide the others) into its
    own directory and import its module under a fresh name. It imports the installed ``runcomfy``
    runtime, which ``test_synthetic_runtime_is_the_installed_one`` checks is the one just generated."""
    if name not in _SYNTHETIC_MODULES:
        try:
            _SYNTHETIC_MODULES[name] = _generate_and_import(root, name)
        except Exception as exc:
            _SYNTHETIC_MODULES[name] = exc
    found = _SYNTHETIC_MODULES[name]
    if isinstance(found, Exception):
        raise found
    return found


def _generate_and_import(root: Path, name: str) -> Any:
    from runcomfy_codegen.pipeline import generate

    schema, _ = SYNTHETIC_BY_NAME[name]
    model_id = f"synthetic/{name}"
    base = root / name
    schema_file = base / "schemas" / f"{model_id}.json"
    schema_file.parent.mkdir(parents=True)
    schema_file.write_text(json.dumps({"model_id": model_id, "input_schema": schema}), encoding="utf-8")
    generate(base / "schemas", base / "out")
    path = base / "out" / "runcomfy" / "models" / "synthetic" / (name.replace("-", "_") + ".py")
    module_name = f"_contract_synthetic_{name.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses looks the module up while building the classes
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def synthetic_subject(root: Path, name: str) -> Subject:
    schema, _ = SYNTHETIC_BY_NAME[name]
    module = synthetic_module(root, name)
    schema_oracle = oracle.Oracle(schema)
    fillers = {prop: oracle.filler_for(schema_oracle.schema, prop) for prop in schema_oracle.schema["properties"]}
    return Subject(module.MODEL_ID, module, schema_oracle, oracle.instances(schema_oracle), fillers)


def test_synthetic_runtime_is_the_installed_one(synthetic_root: Path) -> None:
    synthetic_module(synthetic_root, "combinators")
    fresh = synthetic_root / "combinators" / "out" / "runcomfy"
    installed = Path(runcomfy.__file__).parent
    for name in ("__init__.py", "_types.py", "errors.py", "_validation.py", "_output.py"):
        assert (fresh / name).read_bytes() == (installed / name).read_bytes(), (
            f"runcomfy/{name} differs between templates/runtime and generated/: regenerate generated/"
        )


@pytest.mark.parametrize("name", SYNTHETIC_IDS)
def test_synthetic_structure(synthetic_root: Path, name: str) -> None:
    schema, _ = SYNTHETIC_BY_NAME[name]
    module = synthetic_module(synthetic_root, name)
    check_structure(module, schema, same_names=False)
    assert oracle.identical(module.INPUT_SCHEMA, schema)


@pytest.mark.parametrize("name", SYNTHETIC_IDS)
def test_synthetic_examples(synthetic_root: Path, name: str) -> None:
    subj = synthetic_subject(synthetic_root, name)
    _, examples = SYNTHETIC_BY_NAME[name]
    problems = [subj.compare(example, "hand-picked instance") for example in examples]
    fail_with([p for p in problems if p])


@pytest.mark.parametrize("name", SYNTHETIC_IDS)
def test_synthetic_differential(synthetic_root: Path, name: str) -> None:
    subj = synthetic_subject(synthetic_root, name)
    properties = list(subj.oracle.schema.get("properties", {}))

    @settings(max_examples=SYNTHETIC_EXAMPLES, **SETTINGS, **NO_SHRINK)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        instance = data.draw(subj.strategy, label="instance")
        # hypothesis-jsonschema does not know every keyword (prefixItems, dependentRequired...).
        assume(subj.oracle.is_valid(instance))
        problems = [subj.compare(instance, "drawn valid instance")]
        mutations = [
            *oracle.object_mutations(subj.oracle.schema, instance, subj.fillers),
            *oracle.structural_mutations(instance),
        ]
        for label, mutated in mutations:
            problems.append(subj.compare(mutated, label))
        prop = data.draw(st.sampled_from(properties), label="property")
        value = data.draw(oracle.json_values, label="random value")
        problems.append(subj.compare({**instance, prop: value}, f"{prop!r} := random value"))
        path = data.draw(st.sampled_from(list(oracle.paths(instance))), label="path")
        problems.append(subj.compare(oracle.replace_at(instance, path, value), f"{path} := random value"))
        fail_with([p for p in problems if p])

    check()


# === the URI formats, on their own =================================================================

URI_CORPUS = [
    "https://example.com", "http://a", "HTTPS://EXAMPLE.COM/X", "https://a?", "https://a#", "https://a/b c",
    "https://", "https:///x", "https://a\tb", "https://a\u00a0b", "https://a\u200bb", "https://a\x1cb",
    "https://ex\u00e4mple.com/\u00fc", "http:/a", "https:/", "ftp://a", "mailto:x@y", "x:", "1:x", "a+b.c-d:x",
    "data:image/png;base64,AAAA", "data:image/png;base64,AAA=", "data:image/png;base64,AA==",
    "data:image/png;base64,A===", "data:image/png;base64,=", "data:image/png;base64,", "data:image/png;base64,A A",
    "data:Image/PNG;base64,AAAA", "data:image/svg+xml;base64,AAAA", "data:image/-png;base64,AAAA",
    "data:image/png;name=a.png;base64,AAAA", "data:image/png;name=;base64,AAAA", "data:image/png;=x;base64,AAAA",
    "data:image/png;base64;base64,AAAA", "data:image/png,AAAA", "data:image/png;base64,AA/+",
    "data:video/mp4;base64,AAAA", "data:audio/mpeg;base64,AAAA", "data:text/plain;base64,AAAA",
    "data:image/png;base64,AAAA\n", "\nhttps://a", "https://a\n",
    # Non-ASCII letters that Unicode case-insensitive matching folds onto ASCII ones
    # (U+017F long s, U+0131 dotless i, U+0130 dotted I, U+212A Kelvin sign).
    "data:image/\u017fvg;base64,AAAA", "data:\u0131mage/png;base64,AAAA", "data:\u0130mage/png;base64,AAAA",
    "data:image/png;base64,\u212aAAA", "data:image/png;base64,AA\u017f=", "http\u017f://example.com",
    "HTTP\u017f://example.com/a.png",
    "data:image/png;ba\u017fe64,AAAA",
    "data:v\u0131deo/mp4;base64,AAAA",
]  # fmt: skip
URI_FIELDS = ["image", "video", "audio", "images", "link"]


@pytest.mark.parametrize("field", URI_FIELDS)
def test_uri_formats_on_edge_cases(synthetic_root: Path, field: str) -> None:
    subj = synthetic_subject(synthetic_root, "formats")
    problems = []
    for text in URI_CORPUS:
        instance = {field: [text] if field == "images" else text}
        problems.append(subj.compare(instance, f"{field} edge case {text!r}"))
    fail_with([p for p in problems if p])


# Fragments to build near-URIs from. "data:" and ";base64," are only spelled in lower case, and parameter
# names only with letters: the documented format does not say whether other spellings are allowed.
URI_FRAGMENTS = st.sampled_from(
    ["https://", "http://", "HtTp://", "data:", "image", "video", "audio", "IMAGE", "/", ";", ";base64,", ",",
     "=", "==", "AA", "a", "Z9", ".", "+", "-", "?", "#", " ", "\t", "\n", "x=y", "é", ":", "png", "\u00a0",
     "\u017f", "\u0131", "\u212a", "s", "i", "http", "HTTP", "://", "data:image/"]
)  # fmt: skip


@pytest.mark.parametrize("field", URI_FIELDS)
def test_uri_formats_fuzzed(synthetic_root: Path, field: str) -> None:
    subj = synthetic_subject(synthetic_root, "formats")

    @settings(max_examples=300, **SETTINGS)
    @given(st.lists(URI_FRAGMENTS, max_size=10).map("".join))
    def check(text: str) -> None:
        instance = {field: [text] if field == "images" else text}
        fail_with([p for p in (subj.compare(instance, f"{field} = {text!r}"),) if p])

    check()
