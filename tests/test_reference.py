"""The API reference of the docs site: one page per model, generated from the same IR as the modules."""

from __future__ import annotations

import importlib
import json
import re
import shlex
from pathlib import Path

import pytest
from conftest import ROOT, write_schemas
from runcomfy.models import MODELS
from runcomfy_codegen import reference
from runcomfy_codegen.pipeline import generate, load_files, parse_all

PAGES = ROOT / "generated" / "reference"


def _specs():
    files, errors = load_files(ROOT / "schemas")
    assert not errors
    specs, _, errors = parse_all(files)
    assert not errors
    return specs


SPECS = _specs()


def test_one_page_per_model_and_an_index_listing_them_all():
    pages = sorted(
        path.relative_to(PAGES / "models").with_suffix("").as_posix() for path in PAGES.rglob("models/**/*.md")
    )
    assert pages == sorted(MODELS)
    index = (PAGES / "index.md").read_text(encoding="utf-8")
    for model_id in MODELS:
        assert f"](models/{model_id}.md)" in index


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.model_id)
def test_every_page_example_is_a_valid_input_for_its_model(spec):
    """The Python, CLI and curl examples of a page all send ``example_input``, which the model accepts."""
    body = reference.example_input(spec)
    module = importlib.import_module(spec.module)
    assert module.Input.from_dict(body).to_dict() == body or module.Input.from_dict(body)
    page = (PAGES / "models" / f"{spec.model_id}.md").read_text(encoding="utf-8")
    cli = re.search(r"--input (.+?) \\\n", page)
    assert cli is not None and json.loads(shlex.split(cli.group(1))[0]) == body
    curl = re.search(r"  -d (.+)\n", page)
    assert curl is not None and json.loads(shlex.split(curl.group(1))[0]) == body


def test_the_python_example_runs_against_the_emulator(tmp_path, monkeypatch):
    from runcomfy.testing import Emulator

    spec = next(spec for spec in SPECS if spec.model_id == "google/nano-banana-2/edit")
    code = reference.python_example(spec, reference.example_input(spec))
    with Emulator(processing_time=0.05, queue_time=0.0) as emu:
        monkeypatch.setenv("RUNCOMFY_API_TOKEN", "test-token")
        monkeypatch.setenv("RUNCOMFY_BASE_URL", emu.base_url)
        monkeypatch.setattr("runcomfy.client._default", None)
        monkeypatch.chdir(tmp_path)
        exec(compile(code, "<reference example>", "exec"), {})
    saved = list((tmp_path / "out").iterdir())
    assert len(saved) == 1 and saved[0].read_bytes().startswith(b"\x89PNG")


HOSTILE = {
    "type": "object",
    "title": "T",
    "required": ["p|x"],
    "properties": {
        "p|x": {
            "type": "string",
            "description": "<script>alert(1)</script> | ``` [link](javascript:alert(1)) \x1b]8;;x\x07 *b* \u202e",
            "enum": ["<b>", "a|b", "```"],
        },
        "n": {"type": "integer", "description": "line one\nline two", "default": 3},
    },
}


def test_schema_text_cannot_escape_its_cell_or_fence(tmp_path):
    schemas = write_schemas(tmp_path / "schemas", {"acme/evil": HOSTILE})
    generate(schemas, tmp_path / "out")
    page = (tmp_path / "out" / "reference" / "models" / "acme" / "evil.md").read_text(encoding="utf-8")
    prose = re.sub(r"(`{3,})\w*\n.*?\n\s*\1", "", page, flags=re.S)  # code blocks show text verbatim
    assert "<script>" not in prose and "<b>" not in prose
    assert "&lt;script&gt;" in prose
    assert "\x1b" not in page and "\u202e" not in page and "\x07" not in page
    # each input row has exactly the table's seven cell separators (escaped pipes aside)
    rows = [line for line in page.splitlines() if line.startswith(("| <code>p&#124;x</code>", "| <code>n</code>"))]
    assert len(rows) == 2
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 7 for row in rows)
    # the code fences of the examples are longer than any backtick run inside them
    for fence, body in re.findall(r"(`{3,})\w*\n(.*?)\n\s*\1", page, flags=re.S):
        assert fence not in body


def test_reference_pages_are_part_of_check_mode(tmp_path, capsys):
    schemas = write_schemas(tmp_path / "schemas", {"acme/one": HOSTILE})
    out = tmp_path / "out"
    generate(schemas, out)
    page = out / "reference" / "models" / "acme" / "one.md"
    page.write_text(page.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    result = generate(schemas, out, check=True)
    assert result.plan.changed == ["reference/models/acme/one.md"]


def test_docs_link_to_the_generated_reference():
    link = ROOT / "docs" / "reference"
    assert link.is_symlink() and link.resolve() == PAGES.resolve()
    assert Path(ROOT / "mkdocs.yml").read_text(encoding="utf-8").count("reference/index.md") == 1


def test_the_index_and_pages_give_the_categories_the_emulator_serves():
    from runcomfy.testing import Emulator

    index = (PAGES / "index.md").read_text(encoding="utf-8")
    with Emulator() as emu:
        import requests

        answer = requests.get(
            f"{emu.base_url}/v1/models", params={"limit": 500}, headers={"Authorization": f"Bearer {emu.token}"}
        ).json()
    served = {entry["model_id"]: entry["categories"] for entry in answer["models"]}
    assert len(served) == len(MODELS)
    for model_id, categories in served.items():
        assert f"](models/{model_id}.md) |" in index
        row = next(line for line in index.splitlines() if f"](models/{model_id}.md)" in line)
        assert row.split(" | ")[3] == ", ".join(categories), row
        page = (PAGES / "models" / f"{model_id}.md").read_text(encoding="utf-8")
        assert f"category: {', '.join(categories)} ·" in page
