"""runcomfy-codegen: RunComfy model schemas → the typed, validated ``runcomfy`` package.

Where things are: :mod:`.loader` reads schema files, :mod:`.parser` turns JSON Schema into the
:mod:`.ir`, :mod:`.checks` emits validation code, :mod:`.render` fills the jinja templates in
``templates/``, :mod:`.formatting` runs ruff, :mod:`.writer` updates ``generated/``;
:mod:`.pipeline` chains them and :mod:`.cli` is the command line.
"""

from .errors import GenerationError, SchemaError
from .pipeline import Result, generate

__all__ = ["GenerationError", "Result", "SchemaError", "generate"]
