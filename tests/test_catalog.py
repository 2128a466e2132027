"""Keeping up with the catalog: the runtime's catalog calls, ``pull`` / ``add``, and the v1 → v2 scenario
(emulator with schema set v1 → pull → generate → emulator with v2 → pull → generate → report), offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import import_file, write_schemas
from runcomfy import Client, NotFoundError, catalog
from runcomfy.models import MODELS
from runcomfy.testing import Emulator
from runcomfy_codegen.cli import main
from runcomfy_codegen.pull import canonical

EDIT = "google/nano-banana-2/edit"

CATALOGS = Path(__file__).resolve().parent / "catalog"  # the README's walkthrough uses the same two sets


def schema_set(name: str) -> dict[str, dict[str, Any]]:
    root = CATALOGS / name
    return {
        p.relative_to(root).as_posix().removesuffix(".json"): json.loads(p.read_text()) for p in root.rglob("*.json")
    }


V1 = schema_set("v1")
V2 = schema_set("v2")


@pytest.fixture
def emulator():
    with Emulator() as emu:
        yield emu


def codegen(*args: str) -> int:
    return main(list(args))


# --- the runtime's catalog calls -------------------------------------------------------------------


def test_list_models_pages_through_the_whole_catalog(emulator):
    client = Client(emulator.token, base_url=emulator.base_url)
    entries = list(catalog.list_models(client=client, page_size=7))
    assert [entry.model_id for entry in entries] == list(MODELS)
    pages = [call for call in emulator.calls if call.path == "/v1/models"]
    assert len(pages) == -(-len(MODELS) // 7)
    assert all(entry.input_schema is None for entry in entries)
    found = list(catalog.list_models(client=client, search="nano-banana-2", include_schema=True))
    assert EDIT in [entry.model_id for entry in found]
    assert all("nano-banana-2" in entry.model_id and entry.input_schema for entry in found)
    videos = list(catalog.list_models(client=client, category="image-to-video"))
    assert videos and all(entry.output_type == "VIDEO" for entry in videos)


def test_get_model_returns_the_schema_and_unknown_ids_are_typed_errors(emulator):
    client = Client(emulator.token, base_url=emulator.base_url)
    entry = catalog.get_model(EDIT, client=client)
    assert entry.model_id == EDIT and entry.output_type == "IMAGE"
    assert entry.input_schema is not None and "image_urls" in entry.input_schema["properties"]
    with pytest.raises(NotFoundError):
        catalog.get_model("acme/none", client=client)


def test_emulator_serves_a_catalog_from_a_schema_directory(tmp_path, emulator):
    emulator.catalog = write_schemas(tmp_path / "v1", V1)
    client = Client(emulator.token, base_url=emulator.base_url)
    entries = {entry.model_id: entry for entry in catalog.list_models(client=client, include_schema=True)}
    assert list(entries) == ["acme/img/edit", "acme/old/model"]
    assert entries["acme/img/edit"].input_schema == V1["acme/img/edit"]["input_schema"]
    assert (
        entries["acme/old/model"].categories == ("text-to-video",) and entries["acme/old/model"].output_type == "VIDEO"
    )


# --- pull and add ----------------------------------------------------------------------------------


def test_canonical_sorts_keywords_but_keeps_field_order_and_data():
    schema = {"type": "object", "properties": {"z": {"type": "string", "default": {"b": 1, "a": 2}}, "a": {}}}
    result = canonical(schema)
    assert list(result) == ["properties", "type"]
    assert list(result["properties"]) == ["z", "a"]
    assert list(result["properties"]["z"]) == ["default", "type"]
    assert list(result["properties"]["z"]["default"]) == ["b", "a"]  # a value, not a schema: as it came


def test_pull_writes_stable_checked_files(tmp_path, emulator):
    emulator.catalog = write_schemas(tmp_path / "v1", V1)
    schemas = tmp_path / "schemas"
    pull = ["pull", "--schemas", str(schemas), "--base-url", emulator.base_url, "--token", emulator.token]
    assert codegen(*pull) == 0
    written = {p.relative_to(schemas).as_posix(): p.read_bytes() for p in schemas.rglob("*.json")}
    assert sorted(written) == ["acme/img/edit.json", "acme/old/model.json"]
    data = json.loads(written["acme/img/edit.json"])
    assert data["input_schema"] == V1["acme/img/edit"]["input_schema"]
    assert data["source"].startswith("RunComfy catalog")
    assert codegen(*pull) == 0  # re-pulling an unchanged catalog changes no byte
    assert {p.relative_to(schemas).as_posix(): p.read_bytes() for p in schemas.rglob("*.json")} == written


def test_pull_keeps_the_local_output_schema_and_notes(tmp_path, emulator):
    output_schema = {"type": "object", "properties": {"images": {"type": "array", "items": {"type": "string"}}}}
    remote = {**V1["acme/img/edit"], "notes": "the catalog's notes", "output_schema": {"type": "object"}}
    emulator.catalog = write_schemas(tmp_path / "v1", {"acme/img/edit": remote})
    schemas = tmp_path / "schemas"
    local = {**V1["acme/img/edit"], "output_schema": output_schema, "notes": "ours"}
    write_schemas(schemas, {"acme/img/edit": local})
    assert codegen("pull", "--schemas", str(schemas), "--base-url", emulator.base_url, "--token", emulator.token) == 0
    pulled = json.loads((schemas / "acme/img/edit.json").read_text())
    assert pulled["output_schema"] == output_schema and pulled["notes"] == "ours"


def test_paging_stops_when_a_server_ignores_the_offset(emulator):
    real = emulator._catalog

    def first_page_always(request):
        request.query = {**request.query, "offset": "0"}
        return real(request)

    method, pattern, _ = emulator._routes[0]
    emulator._routes[0] = (method, pattern, first_page_always)
    client = Client(emulator.token, base_url=emulator.base_url)
    entries = list(catalog.list_models(client=client, page_size=10))
    assert len(entries) == 10 and len({entry.model_id for entry in entries}) == 10


HOSTILE_CATALOG = {
    "traversal": {"model_id": "../../escaped", "input_schema": {"type": "object"}},
    "absolute": {"model_id": "/tmp/escaped/x", "input_schema": {"type": "object"}},
    "dots": {"model_id": "acme/../../escaped", "input_schema": {"type": "object"}},
    "not-a-schema": {"model_id": "acme/broken", "input_schema": {"type": "object", "properties": {"a": {"type": 5}}}},
    "no-schema": {"model_id": "acme/empty", "input_schema": "nothing"},
    "good": {"model_id": "acme/good", "input_schema": {"type": "object", "properties": {"a": {"type": "string"}}}},
}


def test_pull_rejects_hostile_entries_and_writes_nothing_outside(tmp_path, emulator, capsys):
    catalog_dir = tmp_path / "catalog"
    for name, entry in HOSTILE_CATALOG.items():
        (catalog_dir / f"{name}.json").parent.mkdir(parents=True, exist_ok=True)
        (catalog_dir / f"{name}.json").write_text(json.dumps(entry))
    emulator.catalog = catalog_dir
    schemas = tmp_path / "work" / "schemas"
    broken_before = b'{"model_id": "acme/broken", "input_schema": {"type": "object"}}'
    (schemas / "acme").mkdir(parents=True)
    (schemas / "acme/broken.json").write_bytes(broken_before)
    before = {p for p in tmp_path.rglob("*")}
    assert codegen("pull", "--schemas", str(schemas), "--base-url", emulator.base_url, "--token", emulator.token) == 1
    err = capsys.readouterr().err
    assert err.count("skipped") == 5
    assert "'../../escaped'" in err and "at /model_id" in err
    assert "acme/broken" in err and "/input_schema/properties/a/type" in err
    assert "acme/empty" in err and "at /input_schema" in err
    created = {p for p in tmp_path.rglob("*")} - before
    assert created == {schemas / "acme/good.json"}
    assert (schemas / "acme/broken.json").read_bytes() == broken_before  # the local file is kept as it was
    assert not (tmp_path / "escaped").exists() and not Path("/tmp/escaped").exists()


def test_add_from_a_file_and_from_the_catalog(tmp_path, emulator, capsys):
    schemas = tmp_path / "schemas"
    source = tmp_path / "downloaded.json"
    source.write_text(json.dumps(V1["acme/old/model"]))
    assert codegen("add", str(source), "--schemas", str(schemas)) == 0
    assert (
        json.loads((schemas / "acme/old/model.json").read_text())["input_schema"]
        == V1["acme/old/model"]["input_schema"]
    )
    add = ["--schemas", str(schemas), "--base-url", emulator.base_url, "--token", emulator.token]
    assert codegen("add", EDIT, *add) == 0
    pulled = json.loads((schemas / f"{EDIT}.json").read_text())
    assert pulled["display_name"] == "Nano Banana 2 Edit" and pulled["output_type"] == "IMAGE"
    assert codegen("add", "acme/none", *add) == 2
    assert "invalid model id" in capsys.readouterr().err
    assert codegen("add", "../../x", *add) == 1
    assert "not a file" in capsys.readouterr().err


def test_prune_needs_the_whole_catalog(tmp_path, emulator, capsys):
    args = ["--schemas", str(tmp_path), "--base-url", emulator.base_url, "--token", emulator.token]
    assert codegen("pull", "--search", "kling", "--prune", *args) == 2
    assert "--prune needs the whole catalog" in capsys.readouterr().err


# --- the v1 → v2 scenario --------------------------------------------------------------------------


def load_module(out: Path, model_id: str, tag: str) -> Any:
    return import_file(out / "runcomfy/models" / (model_id.replace("-", "_") + ".py"), f"_catalog_{tag}")


def test_catalog_v1_to_v2_end_to_end(tmp_path, emulator, capsys, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")  # 2026-09-21
    schemas, out = tmp_path / "schemas", tmp_path / "generated"
    connect = ["--schemas", str(schemas), "--base-url", emulator.base_url, "--token", emulator.token]
    generate = ["generate", "--schemas", str(schemas), "--out", str(out)]

    emulator.catalog = CATALOGS / "v1"
    assert codegen("pull", *connect) == 0
    assert codegen(*generate) == 0
    assert "API change" not in capsys.readouterr().out  # the first generation has nothing to compare with
    assert not (out / "CHANGES.md").exists()
    v1 = load_module(out, "acme/img/edit", "v1")
    assert v1.Input(prompt="a cat", seed=3).to_dict() == {"prompt": "a cat", "seed": 3}

    emulator.catalog = CATALOGS / "v2"
    assert codegen("pull", "--prune", *connect) == 0
    pulled = capsys.readouterr().out
    assert "removed" in pulled and "acme/old/model.json" in pulled
    assert codegen(*generate) == 0
    captured = capsys.readouterr()
    assert "'type: float' read as 'number'" in captured.err
    report = captured.out
    expected = [
        ("acme/img/edit", "BREAKING", "image_url: a new required field"),
        ("acme/img/edit", "compatible", "loras: a new optional field"),
        ("acme/img/edit", "BREAKING", "prompt: maxLength 100 → 50"),
        ("acme/img/edit", "compatible", "seed: type integer → number"),
        ("acme/img/edit", "compatible", "seed: minimum 0 → none"),
        ("acme/img/edit", "BREAKING", "style: values removed: ['sketch']"),
        ("acme/img/edit", "compatible", "style: values added: ['cinematic']"),
        ("acme/img/edit", "BREAKING", 'style: default "photo" → "anime"'),
        ("acme/img/edit", "BREAKING", "steps: now required"),
        ("acme/img/edit", "compatible", "steps: maximum 50 → 100"),
        ("acme/img/edit", "BREAKING", "negative: renamed-looking: negative → avoid"),
        ("acme/img/edit", "BREAKING", "options.strength: maximum 1 → 0.8"),
        ("acme/new/one", "compatible", "a new model"),
        ("acme/old/model", "BREAKING", "the model is gone"),
    ]
    for _, label, text in expected:
        assert f"{label:<10} {text}" in report, (label, text, report)
    assert "14 API changes, 8 breaking" in report
    history = (out / "CHANGES.md").read_text()
    assert history.startswith("# API changes\n")
    assert "## 2026-09-21: 14 changes in 3 models, 8 breaking" in history
    assert "- **breaking**: `options.strength`: maximum 1 → 0.8" in history

    v2 = load_module(out, "acme/img/edit", "v2")
    job = v2.Input(
        prompt="a cat", image_url="https://x.test/a.png", steps=30, seed=1.5, loras=[{"path": "a.safetensors"}]
    )
    assert job.loras[0].path == "a.safetensors" and job.to_dict()["loras"] == [{"path": "a.safetensors"}]
    assert not (out / "runcomfy/models/acme/old").exists()
    assert (out / "runcomfy/models/acme/new/one.py").exists()

    assert codegen("pull", *connect) == 0  # the same catalog again: no byte changes, no new history entry
    assert "0 written" in capsys.readouterr().out
    assert codegen(*generate) == 0
    assert "is up to date" in capsys.readouterr().out
    assert (out / "CHANGES.md").read_text() == history
