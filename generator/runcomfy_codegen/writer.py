"""Comparing the planned tree with ``generated/`` and writing only what changed, each file atomically."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

PACKAGE = "runcomfy"
ROOTS = (PACKAGE, "reference")  # the package, and the API reference pages of the docs site


@dataclasses.dataclass
class Plan:
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: int

    @property
    def stale(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def existing_files(out_dir: Path, roots: tuple[str, ...] = ROOTS) -> set[str]:
    """Files below ``roots`` of ``out_dir`` (default: ``runcomfy`` and ``reference``) that the generator owns
    (caches and bytecode are not ours)."""
    found = set()
    for root in (out_dir / name for name in roots):
        for path in root.rglob("*") if root.is_dir() else ():
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
                found.add(path.relative_to(out_dir).as_posix())
    return found


def plan_changes(out_dir: Path, files: dict[str, bytes], roots: tuple[str, ...] = ROOTS) -> Plan:
    present = existing_files(out_dir, roots)
    added, changed, unchanged = [], [], 0
    for path in sorted(files):
        target = out_dir / path
        if path not in present:
            added.append(path)
        elif target.read_bytes() != files[path]:
            changed.append(path)
        else:
            unchanged += 1
    removed = sorted(present - files.keys())
    return Plan(added, changed, removed, unchanged)


def apply_plan(out_dir: Path, files: dict[str, bytes], plan: Plan, *, last: str | None = None) -> None:
    """Write added and changed files (temp file + rename), then delete the stale ones, then write ``last``
    (the stamp, which describes all the others: a run killed earlier leaves the previous one)."""
    written = [*plan.added, *plan.changed]
    for path in written:
        if path != last:
            write_file(out_dir / path, files[path])
    for path in plan.removed:
        (out_dir / path).unlink()
    remove_empty_dirs(out_dir, {(out_dir / path).parent for path in plan.removed})
    if last in written:
        write_file(out_dir / last, files[last])


def write_file(target: Path, data: bytes) -> None:
    """Write ``target`` atomically (a temporary file beside it, then a rename), as an ordinary 0644 file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_empty_dirs(out_dir: Path, directories: set[Path]) -> None:
    """Remove the directories (and then their parents) left holding nothing but bytecode caches."""
    for directory in sorted(directories, key=lambda d: len(d.parts), reverse=True):
        while directory != out_dir and directory.is_dir() and all(p.name == "__pycache__" for p in directory.iterdir()):
            shutil.rmtree(directory)
            directory = directory.parent
