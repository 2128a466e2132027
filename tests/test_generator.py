"""The generator as a maintainer uses it: check mode, broken schemas, determinism, the real catalog."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
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
        outputs.append(tree_digest(out))
    assert outputs[0] == outputs[1]
    # and byte for byte the committed generated/ (the nox sessions run this on every supported Python)
    assert outputs[0] == tree_digest(ROOT / "generated")


def test_every_file_is_formatted_wherever_the_temporary_folder_is(tmp_path, monkeypatch):
    """ruff walking a folder skips what a git work tree ignores (nox's TMPDIR lies in .nox/, which ignores
    itself) and folders it excludes by default (``dist``): every generated file must be formatted all the same."""
    from runcomfy_codegen.formatting import RUFF_ARGS, ruff_binary

    schemas = write_schemas(tmp_path / "schemas", {"acme/a": SIMPLE, "acme/dist/b": SIMPLE})
    generate(schemas, tmp_path / "plain")
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "--quiet", str(repo)], check=True)
    (repo / "ignored").mkdir()
    (repo / "ignored" / ".gitignore").write_text("*\n")
    monkeypatch.setattr(tempfile, "tempdir", str(repo / "ignored"))
    generate(schemas, tmp_path / "ignored")
    assert tree_digest(tmp_path / "ignored") == tree_digest(tmp_path / "plain")
    files = [str(path) for path in sorted((tmp_path / "plain/runcomfy/models").rglob("*.py"))]
    assert any(path.endswith("acme/dist/b.py") for path in files)
    check = [ruff_binary(), "format", "--check", *RUFF_ARGS, *files]
    assert subprocess.run(check, capture_output=True, text=True, check=False).returncode == 0


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


# --- a run killed between two file writes ----------------------------------------------------------------


class Killed(BaseException):
    """The process killed before a file operation (nothing after it runs, no cleanup either)."""


V1_HISTORY = {"acme/a": SIMPLE, "acme/b": SIMPLE, "acme/gone": SIMPLE}
V2_HISTORY = {
    "acme/a": {**SIMPLE, "properties": {"prompt": {"type": "string", "maxLength": 10}}},  # breaking
    "acme/b": {
        "type": "object",
        "required": ["prompt", "seed"],  # breaking: a new required field
        "properties": {"prompt": {"type": "string"}, "seed": {"type": "integer"}},
    },
    "acme/a/child": SIMPLE,  # acme/a's module becomes a package
    "acme/new": SIMPLE,
}  # and acme/gone is gone (breaking)


def v1_package_with_v2_schemas(directory: Path) -> tuple[Path, Path]:
    schemas, out = write_schemas(directory / "schemas", V1_HISTORY), directory / "out"
    assert main(["generate", "--schemas", str(schemas), "--out", str(out)]) == 0
    (schemas / "acme/gone.json").unlink()
    write_schemas(schemas, V2_HISTORY)
    return schemas, out


def kill_at_operation(monkeypatch: pytest.MonkeyPatch, out: Path, kill_at: int) -> None:
    """Raise :class:`Killed` instead of the ``kill_at``-th file write or removal below ``out``."""
    from runcomfy_codegen import history, writer

    count = iter(range(10**6))

    def counted(operation):  # type: ignore[no-untyped-def]
        def run(path: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
            if Path(path).is_relative_to(out) and next(count) == kill_at:
                raise Killed(f"killed before {operation.__name__} {path}")
            return operation(path, *args, **kwargs)

        return run

    monkeypatch.setattr(writer, "write_file", counted(writer.write_file))
    monkeypatch.setattr(history, "write_file", counted(history.write_file))
    monkeypatch.setattr(Path, "unlink", counted(Path.unlink))


def test_a_run_killed_between_any_two_writes_still_records_every_change(tmp_path, monkeypatch, capsys):
    """Killed after writing the modules but before CHANGES.md, a run left a package whose rerun said "up to
    date": the breaking changes were never recorded. Wherever it is killed now, the next run ends with the
    same files and the same CHANGES.md as an uninterrupted run."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    schemas, out = v1_package_with_v2_schemas(tmp_path / "reference")
    assert main(["generate", "--schemas", str(schemas), "--out", str(out)]) == 0
    expected = tree_digest(out)
    history = (out / "CHANGES.md").read_text()
    assert "3 breaking" in history and "`acme/gone`" in history and "maxLength none → 10" in history, history
    kills = 0
    while True:
        schemas, out = v1_package_with_v2_schemas(tmp_path / f"killed{kills}")
        args = ["generate", "--schemas", str(schemas), "--out", str(out)]
        with monkeypatch.context() as patch:
            kill_at_operation(patch, out, kills)
            try:
                main(args)
            except Killed:
                pass
            else:
                break  # no operation was left to kill the run at
        recorded = (out / "CHANGES.md").exists()
        assert main([*args, "--check"]) == (0 if recorded else 1), kills  # never "up to date" while unrecorded
        assert main(args) == 0
        assert tree_digest(out) == expected, f"killed before file operation {kills}"
        kills += 1
    # the saved baseline, each write and removal of a module or reference page, the stamp, CHANGES.md, the
    # baseline's removal
    assert kills == 18
    capsys.readouterr()


def test_a_killed_runs_changes_are_measured_from_the_last_complete_generation(tmp_path, monkeypatch):
    """Killed half-way to v2, then the schemas put back to v1: the rerun records nothing (v1 → v1), and the
    package is v1 again."""
    schemas, out = v1_package_with_v2_schemas(tmp_path)
    v1_tree = tree_digest(out)
    with monkeypatch.context() as patch:
        kill_at_operation(patch, out, 6)  # after the registry and a module, before the stamp
        with pytest.raises(Killed):
            main(["generate", "--schemas", str(schemas), "--out", str(out)])
    assert tree_digest(out) != v1_tree
    for model_id in V2_HISTORY:
        (schemas / f"{model_id}.json").unlink()
    write_schemas(schemas, V1_HISTORY)
    assert main(["generate", "--schemas", str(schemas), "--out", str(out)]) == 0
    assert tree_digest(out) == v1_tree and not (out / "CHANGES.md").exists()


def test_a_missing_dependency_gets_an_install_hint_not_a_traceback(tmp_path):
    code = (
        "import sys; sys.modules['jinja2'] = None\n"  # `import jinja2` now fails as if it were not installed
        "from runcomfy_codegen.cli import main\n"
        f"sys.exit(main(['generate', '--full', '--schemas', {str(ROOT / 'schemas')!r}, '--out', {str(tmp_path)!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "runcomfy-codegen: jinja2 is not installed: pip install --upgrade runcomfy-codegen "
        "(it brings the exact versions the generator needs)"
    )


def test_version():
    done = subprocess.run(
        [sys.executable, "-m", "runcomfy_codegen.cli", "--version"], capture_output=True, text=True, check=True
    )
    from runcomfy_codegen import __version__

    assert done.stdout.strip() == f"runcomfy-codegen {__version__}"


def test_models_generated_into_a_package_of_ones_own(tmp_path):
    """``--package`` writes the model modules and their registry below --out, importing the installed
    runtime: no runtime copy, no reference pages, and a clear error when the runtime is incompatible."""
    seed = Path("google/nano-banana-2/edit.json")
    (tmp_path / "schemas" / seed).parent.mkdir(parents=True)
    shutil.copy(ROOT / "schemas" / seed, tmp_path / "schemas" / seed)
    out = tmp_path / "src"
    args = ["generate", "--schemas", str(tmp_path / "schemas"), "--out", str(out), "--package", "myapp.rc_models"]
    assert main(args) == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [
        "myapp/rc_models/.codegen-stamp.json",
        "myapp/rc_models/__init__.py",
        "myapp/rc_models/google/__init__.py",
        "myapp/rc_models/google/nano_banana_2/__init__.py",
        "myapp/rc_models/google/nano_banana_2/edit.py",
    ]
    assert main([*args, "--check"]) == 0
    # the module is the committed one, but for the name of its package
    ours = (ROOT / "generated/runcomfy/models/google/nano_banana_2/edit.py").read_text()
    assert (out / "myapp/rc_models/google/nano_banana_2/edit.py").read_text() == ours
    script = (
        "import runcomfy\n"
        "from myapp.rc_models import MODELS, RUNTIME_API\n"
        "from myapp.rc_models.google.nano_banana_2 import edit\n"
        "from runcomfy.testing import Emulator\n"
        "assert MODELS == {'google/nano-banana-2/edit': 'myapp.rc_models.google.nano_banana_2.edit'}\n"
        "with Emulator(processing_time=0.01) as emu:\n"
        "    client = runcomfy.Client('test-token', base_url=emu.base_url)\n"
        "    print(edit.run(prompt='x', image_urls=['https://example.com/a.png'], client=client).status)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(out)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "succeeded", done.stderr
    from runcomfy._version import RUNTIME_API

    older = "import runcomfy._version as v; v.RUNTIME_API = (0, 9)\nimport myapp.rc_models.google.nano_banana_2.edit\n"
    done = subprocess.run([sys.executable, "-c", older], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert (
        "ImportError: myapp.rc_models was generated for the runcomfy runtime API "
        f"{RUNTIME_API[0]}.{RUNTIME_API[1]}, and the installed runcomfy provides 0.9" in done.stderr
    )


@pytest.mark.parametrize("package", ["runcomfy.extra", "my-app.models", "1x"])
def test_a_package_name_that_cannot_be_ours_is_refused(tmp_path, capsys, package):
    assert main(["generate", "--out", str(tmp_path), "--package", package]) == 2
    assert f"--package {package!r}" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
