"""Every code block of README.md and docs/*.md runs against the emulator; every transcript is real output.

The runner is tests/docs_examples.py (see its docstring for the block languages and directives); when a
transcript is stale, ``make transcripts`` rewrites it from a real run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docs_examples import PAGES, ROOT, Block, commands_of, normalise, parse, run_page

# Written on other branches; the links to them are checked once they are merged.
PENDING_PAGES = {"cli.md", "distributed.md", "costs.md", "development.md"}
LINK = re.compile(r"\]\((?!https?://|#|mailto:)([^)#\s]+)(#[^)\s]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_every_block_of_the_page_runs(page: Path) -> None:
    outcomes = run_page(page)
    problems = [outcome.message for outcome in outcomes if outcome.state in {"failed", "stale"}]
    assert not problems, "\n\n".join(problems) + "\n\n(stale transcripts: run `make transcripts`)"


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_relative_links_point_to_files(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    missing = [
        target
        for target, _ in LINK.findall(text)
        if not (page.parent / target).exists() and Path(target).name not in PENDING_PAGES
    ]
    assert not missing, f"{page.name}: links to missing files: {missing}"


def test_no_issue_numbers_in_the_documentation() -> None:
    found = [page.name for page in PAGES if re.search(r"\bissues? \d", page.read_text(encoding="utf-8"))]
    assert not found


def test_a_skipped_block_says_why(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- not-run: -->\n```python\nraise SystemExit(3)\n```\n", encoding="utf-8")
    (outcome,) = run_page(page)
    assert outcome.state == "failed" and "no reason" in outcome.message


def test_a_failing_python_block_fails(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python\nvalue = 1\n```\n\ntext\n\n```python\nassert value == 2\n```\n", encoding="utf-8")
    first, second = run_page(page)
    assert first.state == "ran" and second.state == "failed" and "AssertionError" in second.message


def test_a_stale_transcript_is_found_and_rewritten(tmp_path: Path) -> None:
    from docs_examples import rewrite

    page = tmp_path / "page.md"
    page.write_text("# t\n\n```console\n$ echo 'job 1.5 s'\njob 9.9 s\n$ echo two\nthree\n```\n", encoding="utf-8")
    outcomes = run_page(page)
    assert [outcome.state for outcome in outcomes] == ["stale"] and "echo two" in outcomes[0].message
    assert rewrite(page, outcomes) == 1
    assert (
        page.read_text(encoding="utf-8") == "# t\n\n```console\n$ echo 'job 1.5 s'\njob 1.5 s\n$ echo two\ntwo\n```\n"
    )
    assert [outcome.state for outcome in run_page(page)] == ["ran"]


def test_transcripts_are_compared_after_normalising_what_varies() -> None:
    shown = "job 70dfe547-09ec-487e-9a43-112e57697f51 on http://127.0.0.1:8787 took 3.3 s /tmp/x/out"
    real = "job f9886d34-6904-4ecf-b597-016cc8755ea7 on http://127.0.0.1:44513 took 0.25s /tmp/x/out"
    assert (
        normalise(shown, "/tmp/x")
        == normalise(real, "/tmp/x")
        == "job <ID> on http://127.0.0.1:<PORT> took <T> <TMP>/out"
    )
    assert normalise("2 written", "/tmp/x") != normalise("3 written", "/tmp/x")


def test_parsing_commands_directives_and_indented_blocks(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("- item\n\n  <!-- file: a.py -->\n  ```python\n  x = 1\n  ```\n", encoding="utf-8")
    (block,) = parse(page)
    assert isinstance(block, Block) and block.code == "x = 1" and block.directives == {"file": "a.py"}
    assert commands_of("$ a \\\n  --b\nout\n$ c") == [("a \\\n  --b", "out"), ("c", "")]
