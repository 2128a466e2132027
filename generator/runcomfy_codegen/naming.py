"""Names: model ids to module paths, JSON property names to Python identifiers, class names.

Every rule here is documented in the README ("Naming") and total: any input gives a valid, unique,
non-keyword ASCII identifier, or a :class:`ModelIdError` that the pipeline turns into a schema error.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Iterable

MODEL_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*){1,4}")

# Names a model module defines itself; a model id segment that maps to one of them gets a trailing "_"
# (a sub-model module would otherwise shadow the attribute of the parent model's package).
# The public names of every model module (its ``__all__``, with its class names).
MODULE_EXPORTS = (
    "MODEL_ID", "DISPLAY_NAME", "OUTPUT_TYPE", "INPUT_SCHEMA", "OUTPUT_SCHEMA", "VALIDATIONS",
    "Output", "submit", "run", "submit_async", "run_async",
)  # fmt: skip
MODULE_RESERVED = frozenset(
    {*MODULE_EXPORTS, "Input", "annotations", "models", "load", "MODELS"}
    # every name the module template imports or defines
    | {"dataclasses", "typing", "overload", "TYPE_CHECKING", "Any", "ClassVar", "Final", "Literal", "Mapping"}
    | {
        "UNSET",
        "Unset",
        "Model",
        "ModelInput",
        "LocalMedia",
        "Callable",
        "Client",
        "AsyncClient",
        "AsyncRequestHandle",
        "OnUpdate",
        "JobStatus",
        "RequestHandle",
        "Result",
    }
)
# Names a field may not take, or it would shadow what the class body and its annotations refer to:
# the dataclass's own members, the names its annotations use, and the module's globals. (Builtins the
# generated __init__ calls are reached through ``_``-prefixed aliases, so a field may be called ``type``.)
MEMBER_RESERVED = frozenset(
    {"self", "to_dict", "from_dict", "extra", "client", "timeout", "on_update"}
    | {"str", "int", "float", "bool", "list", "dict", "None", "Any", "Literal", "ClassVar", "Mapping"}
    | MODULE_RESERVED
)


BUILTIN_NAMES = frozenset(dir(builtins))


class ModelIdError(ValueError):
    """A name that cannot be mapped (bad model id, or two ids mapping to one module)."""


def identifier(text: str, *, digit_prefix: str) -> str:
    """A Python identifier for ``text``: ASCII letters, digits and ``_`` only, not starting with a digit.

    Every other character becomes ``_`` (runs collapse, ends are trimmed); a leading digit gets
    ``digit_prefix``; a keyword gets a trailing ``_``.
    """
    name = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")
    if not name:
        name = "field"
    if name[0].isdigit():
        name = digit_prefix + name
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name += "_"
    return name


def module_segment(segment: str) -> str:
    """``nano-banana-2`` → ``nano_banana_2``; ``seedance-2.5`` → ``seedance_2_5``; ``4K`` → ``_4k``."""
    name = identifier(segment.lower(), digit_prefix="_")
    return name + "_" if name in MODULE_RESERVED else name


def check_model_id(model_id: object) -> str:
    if not isinstance(model_id, str) or not MODEL_ID_RE.fullmatch(model_id):
        raise ModelIdError(
            f"invalid model_id {model_id!r}: expected 2 to 5 '/'-separated segments of letters, digits, "
            "'.', '-' and '_', each starting with a letter or digit"
        )
    return model_id


def module_path(model_id: str) -> tuple[str, ...]:
    """The module path below ``runcomfy.models`` for a model id."""
    return tuple(module_segment(segment) for segment in check_model_id(model_id).split("/"))


def field_names(json_names: Iterable[str], reserved: frozenset[str] = frozenset()) -> dict[str, str]:
    """JSON property name → unique Python parameter name, in the order given.

    Valid identifiers are kept as they are; reserved member names and keywords get ``_``; a leading digit
    gets ``field_``; a clash with an earlier name gets ``_2``, ``_3``... Leading underscores are dropped
    so no field looks private.
    """
    taken: set[str] = set()
    result: dict[str, str] = {}
    for json_name in json_names:
        base = identifier(json_name, digit_prefix="field_")
        if base in MEMBER_RESERVED or base in reserved:
            base += "_"
        name, counter = base, 2
        while name in taken:
            name, counter = f"{base}_{counter}", counter + 1
        taken.add(name)
        result[json_name] = name
    return result


def class_name(text: str) -> str:
    """``image_urls`` → ``ImageUrls``; ``multi-prompt`` → ``MultiPrompt``."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", text) if w]
    name = "".join(w[0].upper() + w[1:] for w in words) or "Object"
    if name[0].isdigit():
        name = "M" + name
    return name


def unique_class_name(candidate: str, taken: set[str]) -> str:
    """``candidate``, or ``candidate2``, ``candidate3``... : never a name already taken, a name the module
    uses, a keyword (``None``, ``True``) or a builtin (``TypeError``: generated code catches it)."""
    name, counter = candidate, 2
    while name in taken or name in MODULE_RESERVED or keyword.iskeyword(name) or name in BUILTIN_NAMES:
        name, counter = f"{candidate}{counter}", counter + 1
    taken.add(name)
    return name
