"""Where the generated models go: the ``runcomfy`` package itself (its runtime, models and API reference),
or a package of the user's own (``--package myapp.runcomfy_models``: the model modules and their registry
only, importing the installed ``runcomfy`` runtime)."""

from __future__ import annotations

import dataclasses
import re

OWN_PACKAGE = "runcomfy.models"
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


@dataclasses.dataclass(frozen=True)
class Target:
    package: str = OWN_PACKAGE
    """The dotted package the model modules go below (its registry is the package's ``__init__.py``)."""

    @property
    def own(self) -> bool:
        """Whether this is the ``runcomfy`` package itself (with the runtime copied in, and the reference)."""
        return self.package == OWN_PACKAGE

    @property
    def directory(self) -> str:
        return self.package.replace(".", "/")

    @property
    def registry(self) -> str:
        """The registry module's file below the output directory."""
        return f"{self.directory}/__init__.py"

    @property
    def stamp(self) -> str:
        """The stamp's file below the output directory."""
        return "runcomfy/.codegen-stamp.json" if self.own else f"{self.directory}/.codegen-stamp.json"

    @property
    def roots(self) -> tuple[str, ...]:
        """The folders below the output directory whose every file the generator owns."""
        return ("runcomfy", "reference") if self.own else (self.directory,)


DEFAULT = Target()


def package_target(package: str | None) -> Target:
    """The target of ``--package`` (``None``: the runcomfy package); ``ValueError`` for a name that is not a
    dotted Python package name, or one inside ``runcomfy`` other than its own models package."""
    if package is None or package == OWN_PACKAGE:
        return DEFAULT
    if not _DOTTED.fullmatch(package):
        raise ValueError(f"--package {package!r}: expected a dotted Python package name such as myapp.runcomfy_models")
    if package.split(".")[0] == "runcomfy":
        raise ValueError(f"--package {package!r}: the runcomfy package is the runtime's; choose a package of your own")
    return Target(package)
