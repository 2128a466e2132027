"""Where the generator's templates are: inside the installed package (the wheel carries them as package
data), or ``templates/`` of the checkout the generator runs from (an editable install)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def templates_dir() -> Path:
    """The templates, with the runtime support code below them in ``runtime/``."""
    installed = _PACKAGE / "templates"
    return installed if installed.is_dir() else _PACKAGE.parent.parent / "templates"
