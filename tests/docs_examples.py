"""Run the code blocks of README.md and docs/*.md against the emulator; rewrite their transcripts.

Used by ``tests/test_docs_examples.py`` and, as a script, by ``make transcripts``
(``python tests/docs_examples.py [--write] [PAGE ...]``). The generated model pages (docs/reference) are
not read. Per page: a started :class:`runcomfy.testing.Emulator` (short processing times),
``RUNCOMFY_BASE_URL``/``RUNCOMFY_API_TOKEN`` pointing at it, and a temporary folder as the working
directory. Per fenced block, by its language:

- ``python``: run in order in one namespace shared by the page's python blocks, like a session;
- ``sh`` (``bash``, ``shell``): run through ``bash -e`` with the virtualenv's bin first on PATH; must succeed;
- ``console``: a transcript. Each ``$ `` line is a command (a line ending in ``\\`` continues it), the
  lines after it its expected output, stdout and stderr together. Compared with the real output after
  :func:`normalise` (request ids, durations, ports, the temporary folder); ``--write`` puts the real
  output in place where it differs;
- anything else (``text``, ``json``, ``markdown``...) is data: not run.

HTML comments right before a block (one per line) are directives:

- ``<!-- not-run: REASON -->``: skip the block (REASON is required);
- ``<!-- file: NAME -->``: write the block to NAME in the working folder instead of running it;
- ``<!-- emulator: NAME=VALUE -->``: set an attribute of the page's emulator first (``catalog`` is a
  path relative to the repository).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN_LANGUAGES = {"python", "sh", "bash", "shell", "console"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)(?P<lang>[\w+-]*)[^\n]*$")
DIRECTIVE = re.compile(r"^\s*<!--\s*(?P<key>[\w-]+):\s*(?P<value>.*?)\s*-->\s*$")
PROMPT = "$ "
COMMAND_TIMEOUT = 60.0
EMULATOR_OPTIONS: dict[str, Any] = {"processing_time": 0.1, "max_side": 128}
FIRST_POLL = 0.2  # the default clients' first poll (1 s in the client): the pages run in seconds, not minutes


@dataclasses.dataclass
class Block:
    """One fenced code block: where it is, its language, its code (dedented), its directives."""

    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    indent: str
    body: tuple[int, int]  # line indexes (0-based, end exclusive) of the body in the page
    directives: dict[str, str]

    @property
    def where(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page.name
        return f"{page}:{self.line}"


@dataclasses.dataclass
class Outcome:
    """What running one block gave: ``ran``, ``skipped`` (with the reason), ``failed`` or ``stale``."""

    block: Block
    state: str
    message: str = ""
    output: str | None = None  # a transcript's real text (commands and output), for --write


def parse(page: Path) -> list[Block]:
    """The fenced blocks of ``page``, with the directives in the comment lines just above each."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        directives: dict[str, str] = {}
        above = index - 1
        while above >= 0 and (found := DIRECTIVE.match(lines[above])):
            directives.setdefault(found["key"], found["value"])
            above -= 1
        body = "\n".join(line[len(indent) :] if line.startswith(indent) else line for line in lines[index + 1 : end])
        blocks.append(Block(page, index + 1, opening["lang"].lower(), body, indent, (index + 1, end), directives))
        index = end + 1
    return blocks


def normalise(text: str, folder: str) -> str:
    """``text`` with what changes from run to run replaced by placeholders; trailing blanks dropped."""
    text = text.replace(os.path.realpath(folder), "<TMP>").replace(folder, "<TMP>")
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<ID>", text)
    text = re.sub(r"(127\.0\.0\.1|localhost):\d+", r"\1:<PORT>", text)
    text = re.sub(r"\b\d+(\.\d+)?\s?(s|ms|seconds)\b", "<T>", text)
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


# --- running -------------------------------------------------------------------------------------------


def commands_of(transcript: str) -> list[tuple[str, str]]:
    """``[(command, expected output)]`` of a console block; a ``\\`` at the end of a line continues it."""
    pairs: list[tuple[str, list[str]]] = []
    continuing = False
    for line in transcript.splitlines():
        if continuing:
            pairs[-1] = (pairs[-1][0] + "\n" + line, pairs[-1][1])
            continuing = line.endswith("\\")
        elif line.startswith(PROMPT):
            pairs.append((line[len(PROMPT) :], []))
            continuing = line.endswith("\\")
        elif pairs:
            pairs[-1][1].append(line)
        elif line.strip():
            raise ValueError(f"output before the first {PROMPT!r} command: {line!r}")
    return [(command, "\n".join(output)) for command, output in pairs]


def shell_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("RUNCOMFY_LOG", None)
    env["NO_COLOR"] = "1"
    return env


def run_transcript(block: Block, folder: str) -> Outcome:
    """Run each command through one bash process and compare each output with the expected one."""
    pairs = commands_of(block.code)
    marker = "::docs-example-command-{}::"
    script = ["exec 2>&1"]
    for number, (command, _) in enumerate(pairs):
        script += [f"printf '%s\\n' '{marker.format(number)}'", command]
    completed = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=folder,
        env=shell_env(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    outputs = re.split(r"::docs-example-command-\d+::\n", completed.stdout)[1:]
    outputs = (outputs + [""] * len(pairs))[: len(pairs)]  # a command that ended the shell: no output after it
    real = "\n".join(
        f"{PROMPT}{command}\n{output}".rstrip("\n") for (command, _), output in zip(pairs, outputs, strict=True)
    )
    for (command, expected), output in zip(pairs, outputs, strict=True):
        if normalise(expected, folder) != normalise(output, folder):
            message = f"{block.where}: the output of `{command}` is stale:\n--- shown\n{expected}\n--- real\n{output}"
            return Outcome(block, "stale", message, real)
    return Outcome(block, "ran", output=real)


def run_shell(block: Block, folder: str) -> Outcome:
    completed = subprocess.run(
        ["bash", "-e", "-c", block.code],
        cwd=folder,
        env=shell_env(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if completed.returncode != 0:
        return Outcome(
            block, "failed", f"{block.where}: exit {completed.returncode}\n{completed.stdout}{completed.stderr}"
        )
    return Outcome(block, "ran")


def run_python(block: Block, namespace: dict[str, Any]) -> Outcome:
    import traceback

    try:
        exec(compile(block.code, block.where, "exec"), namespace)
    except BaseException as error:  # SystemExit and KeyboardInterrupt of an example are failures too
        if isinstance(error, KeyboardInterrupt):
            raise
        return Outcome(block, "failed", f"{block.where}:\n{traceback.format_exc()}")
    return Outcome(block, "ran")


def apply_directives(block: Block, emulator: Any, folder: str) -> Outcome | None:
    """Handle ``not-run``, ``file`` and ``emulator``; an :class:`Outcome` when the block is done with."""
    for key, value in block.directives.items():
        if key == "emulator":
            name, _, setting = value.partition("=")
            setattr(emulator, name.strip(), str(ROOT / setting.strip()) if name.strip() == "catalog" else setting)
        elif key not in {"not-run", "file"}:
            return Outcome(block, "failed", f"{block.where}: unknown directive {key!r}")
    if "not-run" in block.directives:
        reason = block.directives["not-run"]
        return Outcome(block, "skipped", reason) if reason else Outcome(block, "failed", f"{block.where}: no reason")
    if "file" in block.directives:
        Path(folder, block.directives["file"]).write_text(block.code + "\n", encoding="utf-8")
        return Outcome(block, "ran")
    return None


@contextlib.contextmanager
def page_context() -> Iterator[tuple[Any, str]]:
    """A started emulator, the environment and default clients pointing at it, a temporary folder as
    the working directory; all restored afterwards."""
    from runcomfy import async_client, client
    from runcomfy.client import PollSchedule
    from runcomfy.testing import Emulator

    saved_env = {name: os.environ.get(name) for name in ("RUNCOMFY_BASE_URL", "RUNCOMFY_API_TOKEN")}
    saved_cwd = os.getcwd()
    saved_defaults = client._default, async_client._default
    with tempfile.TemporaryDirectory(prefix="docs-example-") as folder, Emulator(**EMULATOR_OPTIONS) as emulator:
        os.environ["RUNCOMFY_BASE_URL"], os.environ["RUNCOMFY_API_TOKEN"] = emulator.base_url, emulator.token
        poll = PollSchedule(first=FIRST_POLL)
        client._default, async_client._default = client.Client(poll=poll), async_client.AsyncClient(poll=poll)
        os.chdir(folder)
        try:
            yield emulator, folder
        finally:
            os.chdir(saved_cwd)
            if client._default is not None:
                client._default.close()
            client._default, async_client._default = saved_defaults
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def run_page(page: Path) -> list[Outcome]:
    """Run every block of ``page`` in order; one :class:`Outcome` per block of a runnable language."""
    outcomes: list[Outcome] = []
    namespace: dict[str, Any] = {"__name__": "__docs_example__"}
    with page_context() as (emulator, folder):
        for block in parse(page):
            if block.lang not in RUN_LANGUAGES:
                continue
            outcome = apply_directives(block, emulator, folder)
            if outcome is None:
                if block.lang == "python":
                    outcome = run_python(block, namespace)
                elif block.lang == "console":
                    outcome = run_transcript(block, folder)
                else:
                    outcome = run_shell(block, folder)
            outcomes.append(outcome)
    return outcomes


def rewrite(page: Path, outcomes: list[Outcome]) -> int:
    """Put the real text of every stale transcript in place; returns how many were rewritten."""
    lines = page.read_text(encoding="utf-8").splitlines()
    stale = [outcome for outcome in outcomes if outcome.state == "stale" and outcome.output is not None]
    for outcome in sorted(stale, key=lambda outcome: -outcome.block.line):
        start, end = outcome.block.body
        assert outcome.output is not None
        lines[start:end] = [outcome.block.indent + line if line else line for line in outcome.output.splitlines()]
    if stale:
        page.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(stale)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the documentation's examples; --write refreshes transcripts.")
    parser.add_argument("--write", action="store_true", help="rewrite stale transcripts in place")
    parser.add_argument("pages", nargs="*", type=Path, help="pages (default: README.md and docs/*.md)")
    args = parser.parse_args(argv)
    failed = 0
    for page in [path.resolve() for path in args.pages] or PAGES:
        started = time.monotonic()
        outcomes = run_page(page)
        counts = {state: sum(outcome.state == state for outcome in outcomes) for state in ("ran", "skipped")}
        for outcome in outcomes:
            if outcome.state in {"failed", "stale"}:
                print(outcome.message, file=sys.stderr)
        problems = [outcome for outcome in outcomes if outcome.state == "failed"]
        rewritten = rewrite(page, outcomes) if args.write else 0
        stale = sum(outcome.state == "stale" for outcome in outcomes) - rewritten
        failed += len(problems) + stale
        print(
            f"{page.relative_to(ROOT)}: {counts['ran']} ran, {counts['skipped']} skipped, {len(problems)} failed, "
            f"{stale} stale, {rewritten} rewritten ({time.monotonic() - started:.1f} s)"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
