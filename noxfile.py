"""The tests on every Python version the package claims (its classifiers in pyproject.toml).

``make test`` runs the whole suite on the main version (.venv's, 3.11 on CI); the ``subset`` sessions here run a
representative part of it on each other supported version, each in its own virtual environment under ``.nox/``::

    nox -s subset             # every other supported version (``make test`` runs this)
    nox -s subset-3.13        # one of them
    nox -s subset-3.12 -- -k batch   # arguments after -- are added to pytest's

The interpreters are found on ``PATH`` as ``python3.X``, pyenv's installed releases first
(``$PYENV_ROOT/versions/3.X.Y/bin``, the newest patch release of each version first): pyenv's shims only run
the versions ``pyenv global`` selects, and CI's machines select 3.11 alone. A missing interpreter fails the run
(``error_on_missing_interpreters``): CI must not pass by skipping a version.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
MAIN = f"{sys.version_info.major}.{sys.version_info.minor}"
"""The version nox itself runs on: ``make test`` runs .venv's nox, and the whole suite on .venv's Python (3.11
on CI), so the sessions cover every other version."""

SUPPORTED = nox.project.python_versions(nox.project.load_toml(ROOT / "pyproject.toml"))
OTHERS = [version for version in SUPPORTED if version != MAIN]

SUBSET = [
    "tests/test_client.py",
    "tests/test_async.py",
    "tests/test_cli.py",
    "tests/test_golden.py",
    "tests/test_emulator.py",
    "tests/test_batch.py",
    "tests/test_install.py",
    # generates the 92 models with this interpreter: byte for byte the committed generated/
    "tests/test_generator.py::test_output_is_deterministic_across_hash_seeds_and_file_order",
]
"""What each other version runs: the client (sync and async), the CLI, the golden files, the emulator,
batches, the wheels installed into a fresh environment, and the generator's output."""

nox.options.sessions = ["subset"]
nox.options.error_on_missing_interpreters = True
nox.options.download_python = "never"  # the machine's own interpreters, or a clear failure
nox.options.reuse_venv = "yes"  # a second run only reinstalls the two editable projects


def _version_key(directory: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in directory.name.split("."))


def pyenv_interpreter_dirs(root: Path) -> list[Path]:
    """The ``bin`` folders of pyenv's CPython releases (``versions/3.X.Y``), the newest first."""
    releases = [path for path in (root / "versions").glob("3.*") if re.fullmatch(r"3\.\d+\.\d+", path.name)]
    return [path / "bin" for path in sorted(releases, key=_version_key, reverse=True) if (path / "bin").is_dir()]


def _put_pyenv_first_on_path() -> None:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    pyenv = [str(path) for path in pyenv_interpreter_dirs(root)]
    rest = [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry not in pyenv]
    os.environ["PATH"] = os.pathsep.join([*pyenv, *rest])


_put_pyenv_first_on_path()


@nox.session(python=OTHERS, allow_parallel=True)
def subset(session: nox.Session) -> None:
    """The representative subset of the test suite (``SUBSET``) on one of the other supported versions."""
    session.install("-e", "./generator", "-e", ".[test]")  # as .venv has it: the test extra installs everywhere
    basetemp = Path(session.create_tmp()) / "pytest"  # per session: parallel sessions share no temp folders
    session.run("pytest", "-q", f"--basetemp={basetemp}", *SUBSET, *session.posargs)
