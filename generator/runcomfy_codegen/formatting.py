"""ruff, run once over every generated file: the same bytes whatever the caller's ruff config."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

RUFF_ARGS = ["--isolated", "--no-cache", "--line-length", "110", "--target-version", "py310"]


def ruff_binary() -> str:
    from ruff.__main__ import find_ruff_bin  # the pinned ruff of the codegen extra

    return str(find_ruff_bin())


def format_sources(sources: dict[str, str]) -> dict[str, str]:
    """Format ``{relative path: source}`` with ``ruff format`` (and sort imports with ``ruff check``).

    ruff is given every file by name, not the temporary folder: walking a folder, it skips what a git work tree
    ignores (nox's TMPDIR is inside .nox/, which ignores itself) and folders it excludes by default (``dist``,
    ``build``, ``venv``... in a model's path), and would leave those files unformatted without a word."""
    python = {path: text for path, text in sources.items() if path.endswith(".py")}
    with tempfile.TemporaryDirectory(prefix="runcomfy-codegen-") as tmp:
        root = Path(tmp)
        for path, text in python.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        files = [str(root / path) for path in sorted(python)]
        binary = ruff_binary()
        fix = [
            binary,
            "check",
            *RUFF_ARGS,
            "--select",
            "I,F401,RUF022",
            "--fix",
            "--exit-zero",
            "--quiet",
            *files,
        ]
        fmt = [binary, "format", *RUFF_ARGS, "--quiet", *files]
        for command in (fix, fmt):
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.stderr.write(done.stdout + done.stderr)
                raise RuntimeError(f"ruff failed on the generated code: {' '.join(command[1:3])}")
        formatted = {path: (root / path).read_text(encoding="utf-8") for path in python}
    return {**sources, **formatted}
