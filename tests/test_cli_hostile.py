"""The command line on hostile schemas: property names that collide once turned into flags, enum values
that argparse's usage formatter chokes on, and schema text holding terminal escapes and bidi overrides.

The schemas are generated into a temporary package, whose own ``runcomfy`` runs in a fresh process.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import write_schemas
from runcomfy_codegen.pipeline import generate

EVIL = "\x1b]0;pwned\x07 \x1b[2J hidden \u202e reversed \u2066isolate\u2069 \x9b31m C1 \x7f del \r over \x00nul"
ESCAPED = r"\x1b]0;pwned\x07 \x1b[2J hidden \u202e reversed \u2066isolate\u2069 \x9b31m C1 \x7f del over \x00nul"
ODD_CHOICES = [
    "a [b]",
    "(c)",
    "d e",
    "50%",
    "",
    "x\ny",
    "\x1b[31mred\x1b[0m",
    "[",
    "]",
    ")(",
    "%(prog)s",
    "%s",
    "\u202e",
]
# What may reach the terminal: no control character but newlines, no bidi control.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

NAMES = "acme/hostile-names"
ENUMS = "acme/hostile-enums"
TEXTS = "acme/hostile-texts"
# Property name → the flag it gets (in schema order, the first keeps the plain flag).
FLAGS = {
    "a-b": "--a-b",
    "a_b": "--a_b",  # collides with a-b: its original spelling
    "a b": "--a-b-2",  # collides again, and has no other spelling: numbered
    "": "--field",
    "input": "--field-input",  # a reserved option
    "field-input": "--field-input-2",
    "flag": "--flag",  # a boolean: also --no-flag
    "no-flag": "--no-flag-2",
    "no_flag": "--no_flag",
    "-dash": "--dash",
    "x=y": "--x-y",
    "50%": "--50",
    "\x1b[31mname": "--31mname",
}
SCHEMAS: dict[str, dict[str, Any]] = {
    NAMES: {
        "type": "object",
        "required": ["a-b"],
        "properties": {
            name: {"type": "boolean" if name == "flag" else "integer" if name == "no_flag" else "string"}
            for name in FLAGS
        },
    },
    ENUMS: {
        "type": "object",
        "properties": {
            "choice": {"type": "string", "enum": ODD_CHOICES, "description": "pick one"},
            "many": {"type": "array", "items": {"type": "string", "enum": ODD_CHOICES}},
        },
    },
    TEXTS: {
        "model_id": TEXTS,
        "display_name": "\x1b[31mEvil\x1b[0m \u202egnp",
        "output_type": "IMAGE",
        "input_schema": {
            "type": "object",
            "required": ["prompt\x1b[8m"],
            "properties": {
                "prompt\x1b[8m": {"type": "string", "description": EVIL, "title": EVIL},
                "style": {"type": "string", "title": EVIL, "enum": ["ok", "\u202eko"]},
                "steps": {"type": "integer", "minimum": 1, "maximum": 9, "default": 3},
            },
        },
    },
}

# Runs the generated package's command line; with a second argument, inside an emulator of that package,
# writing the inputs of the jobs it received to that file.
PRELUDE = """
import json, os, sys
sys.path.insert(0, sys.argv.pop(1))
jobs = sys.argv.pop(1)
from runcomfy.cli import main
if not jobs:
    sys.exit(main())
from runcomfy.testing import Emulator
with Emulator(processing_time=0.0, max_side=16) as emu:
    os.environ.update(RUNCOMFY_API_TOKEN=emu.token, RUNCOMFY_BASE_URL=emu.base_url)
    code = main()
    with open(jobs, "w", encoding="utf-8") as file:
        json.dump([job.input for job in emu.jobs.values()], file)
sys.exit(code)
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile-cli")
    generate(write_schemas(root / "schemas", SCHEMAS), root / "out")
    return root / "out"


def cli(package: Path, *args: str, jobs: Path | None = None, columns: int = 200) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNCOMFY_")}
    env["COLUMNS"] = str(columns)
    done = subprocess.run(
        [sys.executable, "-I", "-B", "-c", PRELUDE, str(package), str(jobs or ""), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=package.parent,  # `run` downloads its outputs into the working directory
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert not RAW_CONTROL.search(done.stdout + done.stderr), (done.stdout + done.stderr)[:3000]
    return done


@pytest.mark.parametrize("columns", [200, 40])
def test_help_gives_every_field_its_own_flag(package: Path, columns: int) -> None:
    """``a-b`` and ``a_b`` both became ``--a-b``: argparse raised on the conflict."""
    done = cli(package, "run", NAMES, "--help", columns=columns)
    assert done.returncode == 0, done.stderr
    for flag in FLAGS.values():
        assert re.search(rf"^\s+{re.escape(flag)}\b", done.stdout, re.M), (flag, done.stdout)
    assert "--flag, --no-flag" in done.stdout


@pytest.mark.parametrize("columns", [200, 40])
def test_help_of_enum_values_with_brackets_spaces_and_percents(package: Path, columns: int) -> None:
    """Such values in the metavar broke argparse's usage formatter (an assertion when the usage wraps)."""
    done = cli(package, "run", ENUMS, "--help", columns=columns)
    assert done.returncode == 0, done.stderr
    assert "[--choice CHOICE]" in done.stdout and "[--many CHOICE [CHOICE ...]]" in done.stdout.replace("\n", " ")
    if columns == 200:  # narrower, argparse breaks the long values
        choices = '(choices: "a [b]", "(c)", "d e", "50%", "", "x\\ny", "\\u001b[31mred\\u001b[0m", "[", "]", ")(",'
        assert choices + ' "%(prog)s", "%s", "\\u202e")' in done.stdout


def test_help_and_describe_escape_schema_text(package: Path) -> None:
    done = cli(package, "run", TEXTS, "--help")
    assert done.returncode == 0, done.stderr
    assert ESCAPED in done.stdout and "--prompt-8m TEXT" in done.stdout
    assert '(choices: ok, "\\u202eko")' in done.stdout
    done = cli(package, "describe", TEXTS)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{TEXTS}: \\x1b[31mEvil\\x1b[0m \\u202egnp (IMAGE)\n")
    assert "prompt\\x1b[8m (string, required)  --prompt-8m" in done.stdout and ESCAPED in done.stdout
    assert json.loads(cli(package, "describe", TEXTS, "--json").stdout)["required"] == ["prompt\x1b[8m"]


def test_describe_shows_the_flags_that_run_takes(package: Path) -> None:
    done = cli(package, "describe", NAMES)
    assert done.returncode == 0, done.stderr
    shown = re.findall(r"^  (.*) \((?:string|boolean|integer)[^)]*\)  (--\S+)$", done.stdout, re.M)
    escaped = {name.encode("unicode_escape").decode() if "\x1b" in name else name: flag for name, flag in FLAGS.items()}
    assert dict(shown) == escaped


def test_models_list_escapes_schema_text(package: Path) -> None:
    done = cli(package, "models")
    assert done.returncode == 0, done.stderr
    assert "required: prompt\\x1b[8m" in done.stdout


def test_run_sends_each_field_under_its_own_flag(package: Path, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.json"
    args = ["--a-b", "1", "--a_b", "2", "--a-b-2", "3", "--field", "4", "--field-input", "5"]
    args += ["--field-input-2", "6", "--no-flag", "--no-flag-2", "7", "--no_flag", "8", "--dash", "9"]
    args += ["--x-y", "10", "--50", "11", "--31mname", "12"]
    done = cli(package, "run", NAMES, *args, "--quiet", jobs=jobs)
    assert done.returncode == 0, done.stderr
    expected = dict(zip(FLAGS, ["1", "2", "3", "4", "5", "6", False, "7", 8, "9", "10", "11", "12"], strict=True))
    assert json.loads(jobs.read_text()) == [expected]
    done = cli(package, "run", ENUMS, "--choice", "a [b]", "--many", "", "%s", "x\ny", "--quiet", jobs=jobs)
    assert done.returncode == 0, done.stderr
    assert json.loads(jobs.read_text()) == [{"choice": "a [b]", "many": ["", "%s", "x\ny"]}]


def test_error_messages_escape_schema_text(package: Path, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.json"
    done = cli(package, "run", TEXTS, "--prompt-8m", "hi", "--style", "ko", jobs=jobs)
    assert done.returncode == 65  # input data that does not match the schema
    assert "style: expected one of 'ok', '\\u202eko'" in done.stderr, done.stderr
    done = cli(package, "run", ENUMS, "--choice", "x\x1b[2Jy", jobs=jobs)
    assert done.returncode == 65 and "got 'x\\x1b[2Jy'" in done.stderr, done.stderr
    assert json.loads(jobs.read_text()) == []  # nothing was sent
