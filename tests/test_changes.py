"""The API change report: every kind of change, classified breaking or compatible; the diff command."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import write_schemas
from runcomfy_codegen.changes import compare, report
from runcomfy_codegen.cli import main

BASE = {
    "type": "object",
    "required": ["prompt"],
    "properties": {
        "prompt": {"type": "string", "maxLength": 100},
        "seed": {"type": "integer", "description": "The seed.", "minimum": 0, "maximum": 10},
        "ratio": {"type": "string", "enum": ["1:1", "16:9"], "default": "1:1"},
        "scale": {"type": "integer"},
        "image": {"type": "string"},
    },
}


def changed(**edits: object) -> dict:
    schema = json.loads(json.dumps(BASE))
    for path, value in edits.items():  # "field": the property itself; "field__keyword": one of its keywords
        field, _, keyword = path.partition("__")
        target, key = (schema["properties"][field], keyword) if keyword else (schema["properties"], field)
        if value is None:
            del target[key]
        else:
            target[key] = value
    return schema


CASES = [
    ("field-added", changed(style={"type": "string"}), "style", False),
    ("field-removed", changed(scale=None), "scale", True),
    (
        "field-renamed",
        {
            **changed(seed=None),
            "properties": {**changed(seed=None)["properties"], "seed_value": BASE["properties"]["seed"]},
        },
        "seed",
        True,
    ),
    ("type", changed(scale__type="number"), "scale", False),  # integer → number widens
    ("type", changed(scale__type="string"), "scale", True),
    ("required", {**BASE, "required": ["prompt", "seed"]}, "seed", True),
    ("required", {**BASE, "required": []}, "prompt", False),
    ("enum-added", changed(ratio__enum=["1:1", "16:9", "4:3"]), "ratio", False),
    ("enum-removed", changed(ratio__enum=["1:1"]), "ratio", True),
    ("enum-added", changed(image__enum=["a"]), "image", True),  # a free field now limited
    ("bound-tightened", changed(seed__maximum=5), "seed", True),
    ("bound-loosened", changed(seed__maximum=50), "seed", False),
    ("bound-tightened", changed(prompt__minLength=3), "prompt", True),
    ("bound-loosened", changed(prompt__maxLength=None), "prompt", False),
    ("default", changed(ratio__default="16:9"), "ratio", True),
    ("format", changed(image__format="image_uri"), "image", True),
]


@pytest.mark.parametrize(("kind", "new", "field", "breaking"), CASES, ids=[f"{c[0]}-{c[2]}-{c[3]}" for c in CASES])
def test_each_kind_of_change_is_classified(kind, new, field, breaking):
    found = compare({"acme/m": BASE}, {"acme/m": new})
    assert [(c.kind, c.field, c.breaking) for c in found] == [(kind, field, breaking)], found


def test_models_added_and_removed():
    found = compare({"acme/old": BASE}, {"acme/new": BASE})
    assert [(c.model_id, c.kind, c.breaking) for c in found] == [
        ("acme/new", "model-added", False),
        ("acme/old", "model-removed", True),
    ]
    assert compare({"acme/m": BASE}, {"acme/m": BASE}) == []
    assert "2 API changes, 1 breaking" in report(found)


def test_diff_command_against_a_directory_and_a_git_revision(tmp_path, capsys):
    v1 = write_schemas(tmp_path / "v1", {"acme/m": BASE})
    v2 = write_schemas(tmp_path / "v2", {"acme/m": changed(seed__maximum=5, style={"type": "string"})})
    assert main(["diff", "--schemas", str(v2), "--against", str(v1)]) == 0
    text = capsys.readouterr().out
    assert (
        "acme/m" in text
        and "BREAKING   seed: maximum 10 → 5" in text
        and "compatible style: a new optional field" in text
    )
    assert main(["diff", "--schemas", str(v2), "--against", str(v1), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {(c["kind"], c["field"], c["breaking"]) for c in data} == {
        ("bound-tightened", "seed", True),
        ("field-added", "style", False),
    }
    repo = tmp_path / "repo"
    write_schemas(repo / "schemas", {"acme/m": BASE})
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], check=True)
    write_schemas(repo / "schemas", {"acme/m": changed(scale=None)})
    import os

    cwd = os.getcwd()
    os.chdir(repo)
    try:
        assert main(["diff", "--against", "HEAD"]) == 0
    finally:
        os.chdir(cwd)
    assert "BREAKING   scale: the field is gone" in capsys.readouterr().out


NESTED = {
    "type": "object",
    "$defs": {"Lora": {"type": "object", "required": ["path"], "properties": {"path": {"type": "string"}}}},
    "properties": {
        "loras": {"type": "array", "items": {"$ref": "#/$defs/Lora"}},
        "options": {"type": "object", "properties": {"steps": {"type": "integer", "maximum": 50}}},
    },
}


def nested(edit) -> dict:
    schema = json.loads(json.dumps(NESTED))
    edit(schema)
    return schema


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda s: s["$defs"]["Lora"]["properties"].update(scale={"type": "number"}),
            ("field-added", "loras[].scale", False),
        ),
        (lambda s: s["$defs"]["Lora"]["required"].append("scale"), ("field-added", "loras[].scale", True)),
        (lambda s: s["$defs"]["Lora"]["properties"]["path"].update(type="integer"), ("type", "loras[].path", True)),
        (lambda s: s["$defs"]["Lora"].update(required=[]), ("required", "loras[].path", False)),
        (
            lambda s: s["properties"]["options"]["properties"]["steps"].update(maximum=20),
            ("bound-tightened", "options.steps", True),
        ),
        (lambda s: s["properties"]["options"]["properties"].pop("steps"), ("field-removed", "options.steps", True)),
    ],
    ids=[
        "item-field-added",
        "item-field-required-added",
        "item-type",
        "item-optional",
        "object-bound",
        "object-removed",
    ],
)
def test_nested_objects_are_compared_field_by_field(edit, expected):
    new = nested(edit)
    if expected == ("field-added", "loras[].scale", True):
        new["$defs"]["Lora"]["properties"]["scale"] = {"type": "number"}
    found = compare({"acme/m": NESTED}, {"acme/m": new})
    assert [(c.kind, c.field, c.breaking) for c in found] == [expected], found


def test_arrays_of_plain_values_are_compared_by_their_items():
    old = {"type": "object", "properties": {"tags": {"type": "array", "items": {"enum": ["a", "b"]}}}}
    gone = json.loads(json.dumps(old))
    gone["properties"]["tags"]["items"]["enum"] = ["a"]
    assert [(c.kind, c.field, c.breaking) for c in compare({"m/x": old}, {"m/x": gone})] == [
        ("enum-removed", "tags[]", True)
    ]
    typed = {"type": "object", "properties": {"n": {"type": "array", "items": {"type": "string"}}}}
    retyped = {"type": "object", "properties": {"n": {"type": "array", "items": {"type": "integer"}}}}
    assert [(c.kind, c.field, c.breaking) for c in compare({"m/x": typed}, {"m/x": retyped})] == [("type", "n[]", True)]


def test_bounds_that_are_not_numbers_are_skipped_not_a_crash():
    old = {"type": "object", "properties": {"n": {"type": "integer", "maximum": "5"}}}  # diff reads files unchecked
    new = {"type": "object", "properties": {"n": {"type": "integer", "maximum": 3}}}
    assert compare({"m/x": old}, {"m/x": new}) == []


def test_an_unknown_format_is_reported_as_an_unchecked_annotation():
    from runcomfy_codegen.changes import compare

    before = {"acme/m": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}}}
    after = {"acme/m": {"type": "object", "properties": {"a": {"type": "string", "format": "int64"},
                                                          "b": {"type": "string", "format": "date"}}}}  # fmt: skip
    changes = {change.field: change for change in compare(before, after)}
    assert not changes["a"].breaking and "an unknown format: an annotation, not checked" in changes["a"].detail
    assert changes["b"].breaking  # a standard format is checked: values that passed may now fail
