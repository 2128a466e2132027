"""The generator as a maintainer uses it: check mode, broken schemas, determinism, the real catalog."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, write_schemas
from runcomfy_codegen.cli import main
from runcomfy_codegen.errors import GenerationError
from runcomfy_codegen.pipeline import generate

SIMPLE = {"type": "object", "required": ["prompt"], "properties": {"prompt": {"type": "string"}}}


def tree_digest(directory: Path) -> dict[str, str]:
    return {
        p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_check_mode_reports_stale_files(tmp_path, capsys):
    schemas = write_schemas(tmp_path / "schemas", {"acme/a": SIMPLE, "acme/b": SIMPLE})
    out = tmp_path / "out"
    assert main(["generate", "--schemas", str(schemas), "--out", str(out)]) == 0
    assert main(["generate", "--schemas", str(schemas), "--out", str(out), "--check"]) == 0
    before = tree_digest(out)
    write_schemas(schemas, {"acme/a": {**SIMPLE, "properties": {"prompt": {"type": "string", "maxLength": 5}}}})
    (schemas / "acme/b.json").unlink()
    write_schemas(schemas, {"acme/c": SIMPLE})
    capsys.readouterr()
    assert main(["generate", "--schemas", str(schemas), "--out", str(out), "--check"]) == 1
    err = capsys.readouterr().err
    assert "would be changed: runcomfy/models/acme/a.py" in err
    assert "would be removed: runcomfy/models/acme/b.py" in err
    assert "would be added: runcomfy/models/acme/c.py" in err
    assert tree_digest(out) == before  # --check writes nothing
    assert main(["generate", "--schemas", str(schemas), "--out", str(out)]) == 0
    assert not (out / "runcomfy/models/acme/b.py").exists()
    assert main(["generate", "--schemas", str(schemas), "--out", str(out), "--check"]) == 0


BROKEN = [
    ("{not json", "acme/bad.json: at / (line 1, column 2): invalid JSON"),
    ({"type": "object", "properties": {"a": {"type": "strin"}}}, "at /input_schema/properties/a/type: not a valid JSON Schema"),
    ({"type": "object", "properties": {"a": {"type": "array", "items": {"$dynamicRef": "#x"}}}}, "at /input_schema/properties/a/items/$dynamicRef: $dynamicRef is not supported"),
    ({"type": "object", "properties": {"a": {"minimum": "5"}}}, "at /input_schema/properties/a/minimum: not a valid JSON Schema"),
    ({"type": "object", "properties": {"a": {"$ref": "#/$defs/nope"}}}, "at /input_schema/properties/a/$ref: reference '#/$defs/nope' points to nothing"),
    ({"type": "object", "$defs": {"p": {"$ref": "#/$defs/q"}, "q": {"$ref": "#/$defs/p"}}, "properties": {"a": {"$ref": "#/$defs/p"}}},
     "at /input_schema/$defs/q/$ref: reference '#/$defs/p' leads back to itself without descending into the value"),
    ({"type": "object", "properties": {"a": {"$ref": "https://x/y.json"}}}, "at /input_schema/properties/a/$ref: reference 'https://x/y.json' is not in this schema"),
    ({"type": "object", "$defs": {"d": {"anyOf": [{"type": "string"}], "$ref": "#/$defs/d"}}, "properties": {"a": {"$ref": "#/$defs/d"}}},
     "at /input_schema/$defs/d/$ref: reference '#/$defs/d' leads back to itself without descending into the value"),
    ({"type": "object", "$defs": {"x": {"$id": "http://e.test/x", "$defs": {"y": {"type": "integer"}}, "$ref": "#/$defs/z"}},
      "properties": {"a": {"$ref": "http://e.test/x"}}}, "at /input_schema/$defs/x/$ref: reference '#/$defs/z' points to nothing"),
    ({"type": "object", "properties": {"a": {"type": "string", "pattern": "(["}}}, "at /input_schema/properties/a/pattern: not a valid JSON Schema: '([' is not a 'regex'"),
    ({"type": "string"}, "at /input_schema: the input schema must be an object schema with 'properties'"),
    ({"model_id": "acme/other", "input_schema": SIMPLE}, "at /model_id: model_id 'acme/other' does not match the file's path 'acme/bad'"),
    ({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {"a": {"type": "array", "prefixItems": [{}]}}},
     "at /input_schema/properties/a/prefixItems: keyword 'prefixItems' is not part of the schema's draft (7)"),
    ({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "definitions": {"p": {"type": "integer"}},
      "properties": {"a": {"$ref": "#/definitions/p", "maximum": 3}}},
     "at /input_schema/properties/a/$ref: maximum beside $ref: draft 7 ignores them"),
    ({"type": "object", "properties": {"a": {"type": "array", "additionalItems": False}}},
     "at /input_schema/properties/a/additionalItems: keyword 'additionalItems' is not part of the schema's draft (2020)"),
]  # fmt: skip


@pytest.mark.parametrize(("content", "message"), BROKEN, ids=[m.split(": ")[-1][:30] for _, m in BROKEN])
def test_broken_schema_names_file_and_path_and_writes_nothing(tmp_path, content, message):
    schemas = write_schemas(tmp_path / "schemas", {"acme/good": SIMPLE})
    out = tmp_path / "out"
    generate(schemas, out)
    before = tree_digest(out)
    bad = schemas / "acme/bad.json"
    if isinstance(content, str):
        bad.write_text(content)
    else:
        write_schemas(schemas, {"acme/bad": content})
        if "model_id" in content:
            bad.write_text(json.dumps(content))
    (schemas / "acme/good.json").write_text(
        json.dumps({"model_id": "acme/good", "input_schema": {**SIMPLE, "$dynamicRef": "#a"}})
    )
    with pytest.raises(GenerationError) as info:
        generate(schemas, out)
    text = str(info.value)
    assert message in text, text
    assert "acme/bad.json" in text
    assert "acme/good.json: at /input_schema/$dynamicRef: $dynamicRef is not supported" in text  # every file reported
    assert tree_digest(out) == before


def test_colliding_model_ids_are_an_error(tmp_path):
    schemas = write_schemas(tmp_path / "schemas", {"acme/v-1": SIMPLE, "acme/v.1": SIMPLE})
    with pytest.raises(GenerationError, match=r"model id 'acme/v\.1' maps to module runcomfy\.models\.acme\.v_1"):
        generate(schemas, tmp_path / "out")


def test_float_type_is_normalised_with_a_note(tmp_path, capsys):
    schema = {"type": "object", "properties": {"scale": {"type": "float", "minimum": 0}}}
    schemas = write_schemas(tmp_path / "schemas", {"acme/f": schema})
    assert main(["generate", "--schemas", str(schemas), "--out", str(tmp_path / "out")]) == 0
    assert "at /input_schema/properties/scale: 'type: float' read as 'number'" in capsys.readouterr().err
    assert "scale: float | Unset = UNSET" in (tmp_path / "out/runcomfy/models/acme/f.py").read_text()


def test_output_is_deterministic_across_hash_seeds_and_file_order(tmp_path):
    outputs = []
    for seed, order in (("0", None), ("12345", "reversed")):
        schemas = tmp_path / f"schemas-{seed}"
        files = sorted((ROOT / "schemas").rglob("*.json"))
        for path in reversed(files) if order else files:  # files created in a different order
            target = schemas / path.relative_to(ROOT / "schemas")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        out = tmp_path / f"out-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        command = [
            sys.executable,
            "-m",
            "runcomfy_codegen.cli",
            "generate",
            "--schemas",
            str(schemas),
            "--out",
            str(out),
        ]
        subprocess.run(command, check=True, env=env, capture_output=True)
        outputs.append(tree_digest(out / "runcomfy"))
    assert outputs[0] == outputs[1]
    assert outputs[0] == tree_digest(ROOT / "generated" / "runcomfy")  # and generated/ is current


def test_committed_package_is_current():
    assert main(["generate", "--schemas", str(ROOT / "schemas"), "--out", str(ROOT / "generated"), "--check"]) == 0


def test_import_runcomfy_is_light():
    code = (
        "import sys, runcomfy, runcomfy.models as m;"
        "assert 'requests' not in sys.modules;"
        "assert not [k for k in sys.modules if k.startswith('runcomfy.models.')], 'a model was imported';"
        "from runcomfy.models.google.nano_banana_2 import edit;"
        "loaded = [k for k in sys.modules if k.startswith('runcomfy.models.') and 'google' not in k];"
        "assert not loaded, loaded; assert 'requests' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_model_loads():
    import runcomfy.models as models

    assert len(models.MODELS) == len(list((ROOT / "schemas").rglob("*.json"))) == 92
    for model_id in models.MODELS:
        module = models.load(model_id)
        assert module.MODEL_ID == model_id
        assert module.Input.__doc__ and module.Output.from_dict({}).urls() == []
    with pytest.raises(KeyError, match="did you mean 'google/nano-banana-2/edit'"):
        models.load("google/nano-banana2/edit")


def test_removing_a_models_last_schema_removes_its_packages(tmp_path):
    schemas = write_schemas(tmp_path / "schemas", {"acme/a": SIMPLE, "other/deep/b": SIMPLE})
    out = tmp_path / "out"
    generate(schemas, out)
    subprocess.run(
        [sys.executable, "-c", "import compileall, sys; compileall.compile_dir(sys.argv[1], quiet=1)", str(out)],
        check=True,
    )
    (schemas / "other/deep/b.json").unlink()
    generate(schemas, out)
    assert not (out / "runcomfy/models/other").exists()
    assert (out / "runcomfy/models/acme/a.py").exists()


def test_no_change_runs_take_the_stamp_fast_path(tmp_path, capsys):
    schemas = write_schemas(tmp_path / "schemas", {"acme/a": SIMPLE})
    out = tmp_path / "out"
    assert main(["generate", "--schemas", str(schemas), "--out", str(out)]) == 0
    before = tree_digest(out)
    capsys.readouterr()
    for extra in ([], ["--check"]):
        assert main(["generate", "--schemas", str(schemas), "--out", str(out), *extra]) == 0
        assert "inputs and files match its stamp" in capsys.readouterr().out
    assert tree_digest(out) == before
    module = out / "runcomfy/models/acme/a.py"
    module.write_text(module.read_text() + "# edited by hand\n")  # a hand edit defeats the stamp...
    assert main(["generate", "--schemas", str(schemas), "--out", str(out), "--check"]) == 1
    assert "would be changed: runcomfy/models/acme/a.py" in capsys.readouterr().err  # ...and is reported
    assert main(["generate", "--schemas", str(schemas), "--out", str(out)]) == 0
    assert tree_digest(out) == before
    write_schemas(schemas, {"acme/a": {**SIMPLE, "required": []}})  # so does a changed schema
    assert main(["generate", "--schemas", str(schemas), "--out", str(out), "--check"]) == 1


def test_incremental_regeneration_matches_a_full_one(tmp_path, capsys):
    v1 = {f"acme/m{n}": {**SIMPLE, "properties": {"prompt": {"type": "string", "maxLength": n + 1}}} for n in range(6)}
    schemas = write_schemas(tmp_path / "schemas", v1)
    out = tmp_path / "out"
    assert generate(schemas, out).regenerated == 6
    (schemas / "acme/m0.json").unlink()
    write_schemas(schemas, {"acme/m1": {**SIMPLE, "required": []}, "acme/m1/child": SIMPLE, "acme/new": SIMPLE})
    result = generate(schemas, out)
    assert result.regenerated == 3  # m1 (changed), m1/child and new (added): the other four are reused
    assert result.models == 7
    fresh = tmp_path / "fresh"
    assert generate(schemas, fresh, full=True).regenerated == 7
    assert tree_digest(out) == {path: digest for path, digest in tree_digest(fresh).items()} | {
        "CHANGES.md": tree_digest(out)["CHANGES.md"]
    }
    assert {c.model_id: c.kind for c in result.changes} == {
        "acme/m0": "model-removed",
        "acme/m1": "required",
        "acme/m1/child": "model-added",
        "acme/new": "model-added",
    }
    module = out / "runcomfy/models/acme/m2.py"  # a hand-edited module is regenerated, not reused
    module.write_text(module.read_text() + "# edited\n")
    assert generate(schemas, out).regenerated == 1
    assert tree_digest(out) == tree_digest(fresh) | {"CHANGES.md": tree_digest(out)["CHANGES.md"]}
    assert main(["generate", "--schemas", str(schemas), "--out", str(out), "--full"]) == 0
    assert "(7 regenerated, 0 reused)" in capsys.readouterr().out


def test_names_do_not_depend_on_the_running_interpreter(monkeypatch):
    """Python 3.12 made ``type`` a soft keyword and 3.13 added builtins: the generator must not read the running
    interpreter's lists, or the generated bytes would depend on which Python generates them."""
    import builtins
    import keyword

    from runcomfy_codegen import naming

    monkeypatch.setattr(keyword, "softkwlist", [*keyword.softkwlist, "type", "prompt"])
    monkeypatch.setattr(keyword, "issoftkeyword", lambda name: True)
    monkeypatch.setattr(builtins, "Prompt", 1, raising=False)
    assert naming.field_names(["type", "prompt", "match", "class"]) == {
        "type": "type",
        "prompt": "prompt",
        "match": "match_",
        "class": "class_",
    }
    assert naming.unique_class_name("Prompt", set()) == "Prompt"
    assert naming.unique_class_name("TypeError", set()) == "TypeError2"
