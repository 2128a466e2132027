"""runcomfy-codegen: RunComfy model schemas → the typed, validated ``runcomfy`` package.

Where things are: :mod:`.loader` reads schema files, :mod:`.parser` turns JSON Schema into the
:mod:`.ir`, :mod:`.checks` emits validation code, :mod:`.render` fills the jinja templates in
``templates/`` (found by :mod:`.resources`), :mod:`.formatting` runs ruff, :mod:`.writer` updates ``generated/``;
:mod:`.pipeline` chains them and :mod:`.cli` is the command line.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"

__all__ = ["GenerationError", "Result", "SchemaError", "__version__", "generate"]


def __getattr__(name: str) -> Any:
    """The API, imported on first use: the command line's no-change check needs none of it."""
    if name in ("GenerationError", "SchemaError"):
        from . import errors

        return getattr(errors, name)
    if name in ("Result", "generate"):
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
