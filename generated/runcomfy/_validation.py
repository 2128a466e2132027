"""Validation helpers shared by every generated model module.

The generated ``__init__`` methods check the common cases inline (type tests, bounds, lengths, enum
membership); they call in here for what is rarer or longer: JSON-equality, media URIs, ``multipleOf``,
``anyOf``/``oneOf``/``not``, building nested dataclasses, error messages. Semantics follow JSON Schema
as the ``jsonschema`` package implements it (``True`` is not ``1``, ``2.0`` is an integer, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from . import _files
from ._files import is_local
from ._types import REQUIRED, UNSET, Model
from .errors import MISSING, UNKNOWN_FIELD, ErrorDetail, ValidationError, suggest

__all__ = ["BUILTINS", "MISSING", "ErrorDetail", "ValidationError", "is_local"]

# The builtins the generated checks call, under ``_``-prefixed aliases (so a field called ``type`` or
# ``len`` cannot shadow them) and typed ``Any`` (the checks are defensive: they run on values that may
# not be what the annotations say).
BUILTINS: tuple[Any, ...] = (isinstance, len, type, int, float, str, list, tuple, dict, enumerate)

Path = tuple[str | int, ...]
Check = Callable[[Any, Path, list[ErrorDetail]], Any]
_M = TypeVar("_M")

# A media field's value: an http(s) URL with a host and no whitespace, or a base64 data URI of the
# field's kind. Generated modules call these patterns' ``fullmatch`` directly (one C call per value).
MEDIA_URI = {
    kind: re.compile(
        r"(?ai:https?)://[^\s/?#]+(?:[/?#]\S*)?"
        rf"|(?ai:data:{kind})/[A-Za-z0-9][A-Za-z0-9.+-]*(?:;[A-Za-z0-9.+-]+=[^;,\s]*)*(?ai:;base64),[A-Za-z0-9+/]+={{0,2}}"
    )
    for kind in ("image", "video", "audio")
}


# --- types -----------------------------------------------------------------------------------------


def is_integer(value: object) -> bool:
    """JSON Schema's integer: an ``int`` that is not a ``bool``, or a ``float`` with no fraction."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and value.is_integer()


def is_int(value: object) -> bool:
    """Draft 4's integer: an ``int`` that is not a ``bool`` (``2.0`` is a number, not an integer)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """JSON's number: an ``int`` that is not a ``bool``, or a finite ``float`` (JSON has no NaN nor
    infinity: such a value could not be sent)."""
    if isinstance(value, float):
        return value - value == 0.0
    return isinstance(value, int) and not isinstance(value, bool)


def is_array(value: object) -> bool:
    """A JSON array besides a list or tuple: any other sequence but a string (``str``, ``bytes``)."""
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def is_mapping(value: object) -> bool:
    """A JSON object: a mapping, or a generated dataclass (seen by the checks as its JSON form)."""
    return isinstance(value, (Mapping, Model))


def as_dict(value: Any) -> dict[str, Any]:
    """A fresh dict of a JSON object (a generated dataclass gives its ``to_dict()``)."""
    return value.to_dict() if isinstance(value, Model) else dict(value)


def to_int(value: Any) -> Any:
    """``2.0`` → ``2`` (an integer is sent as one); int subclasses → plain ``int``."""
    return int(value)


# --- values ----------------------------------------------------------------------------------------


def json_equal(one: Any, two: Any) -> bool:
    """Equality as JSON Schema defines it: ``1 == 1.0``, but ``True != 1``; containers compared deeply."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    if isinstance(one, (list, tuple)) and isinstance(two, (list, tuple)):
        return len(one) == len(two) and all(json_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, Model):
        return json_equal(one.to_dict(), two)
    if isinstance(two, Model):
        return json_equal(one, two.to_dict())
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return one.keys() == two.keys() and all(json_equal(one[k], two[k]) for k in one)
    if isinstance(one, (list, tuple, Mapping)) or isinstance(two, (list, tuple, Mapping)):
        return False
    return bool(one == two)


def json_in(value: Any, values: Sequence[Any]) -> bool:
    return any(json_equal(value, candidate) for candidate in values)


def _key(value: Any) -> Any:
    """A hashable key with JSON equality: equal keys ⇔ :func:`json_equal` values."""
    if isinstance(value, bool) or value is None:
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, (list, tuple)):
        return ("a", tuple(_key(item) for item in value))
    if isinstance(value, Mapping):
        return ("o", frozenset((key, _key(item)) for key, item in value.items()))
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None:
        return _key(to_dict())
    return ("?", id(value))


def is_unique(items: Sequence[Any]) -> bool:
    keys = [_key(item) for item in items]
    return len(set(keys)) == len(keys)


def is_multiple_of(value: float, divisor: float) -> bool:
    """``multipleOf``, computed the way ``jsonschema`` does (float quotient, exact on overflow)."""
    if isinstance(divisor, float):
        quotient = value / divisor
        try:
            return int(quotient) == quotient
        except OverflowError:
            from fractions import Fraction  # rare: keep `decimal` out of the import of every model

            return (Fraction(value) / Fraction(divisor)).denominator == 1
    return not value % divisor


def local_media(
    value: Any, kind: str, rules: Sequence[Mapping[str, Any]], path: Path, errors: list[ErrorDetail]
) -> Any:
    """A local file (``pathlib.Path``, bytes, a PIL image) in a media field → its ``data:`` URI; any other
    value unchanged. A file that cannot be sent records its error (and comes back unchanged)."""
    if not is_local(value):
        return value
    try:
        return _files.to_data_uri(value, kind, rules)
    except (_files.LocalMediaError, OSError) as exc:
        errors.append(ErrorDetail(path, value, f"{MEDIA_WORDS[kind]} file that can be sent inline: {exc}"))
        return value


MEDIA_WORDS = {"image": "an image", "video": "a video", "audio": "an audio"}


# --- combinators and nested objects ----------------------------------------------------------------


def any_of(value: Any, path: Path, errors: list[ErrorDetail], branches: Sequence[Check], expected: str) -> Any:
    for branch in branches:
        trial: list[ErrorDetail] = []
        result = branch(value, path, trial)
        if not trial:
            return result
    errors.append(ErrorDetail(path, value, expected))
    return value


def one_of(value: Any, path: Path, errors: list[ErrorDetail], branches: Sequence[Check], expected: str) -> Any:
    matches = []
    for branch in branches:
        trial: list[ErrorDetail] = []
        result = branch(value, path, trial)
        if not trial:
            matches.append(result)
    if len(matches) == 1:
        return matches[0]
    suffix = "" if not matches else f" (it matches {len(matches)})"
    errors.append(ErrorDetail(path, value, expected + suffix))
    return value


def not_(value: Any, path: Path, errors: list[ErrorDetail], branch: Check, expected: str) -> None:
    trial: list[ErrorDetail] = []
    branch(value, path, trial)
    if not trial:
        errors.append(ErrorDetail(path, value, expected))


def passes(branch: Check, value: Any) -> bool:
    """Whether ``value`` is valid against one subschema (its errors are not kept)."""
    trial: list[ErrorDetail] = []
    branch(value, (), trial)
    return not trial


def if_then_else(
    value: Any, path: Path, errors: list[ErrorDetail], if_: Check, then: Check | None, else_: Check | None
) -> Any:
    """``if``/``then``/``else``: ``then`` applies to a value valid against ``if``, ``else`` to any other."""
    branch = then if passes(if_, value) else else_
    return value if branch is None else branch(value, path, errors)


def indices(items: Sequence[Any], count: int | None = None) -> set[int]:
    """The indices of ``items`` (the first ``count`` only, when given)."""
    return set(range(len(items) if count is None else min(len(items), count)))


def matching(items: Sequence[Any], branch: Check) -> set[int]:
    """The indices of the items valid against ``branch`` (what ``contains`` evaluates)."""
    return {index for index, item in enumerate(items) if passes(branch, item)}


def unevaluated_properties(
    value: Any, path: Path, errors: list[ErrorDetail], seen: Callable[[Any], set[Any]], branch: Check
) -> None:
    """``unevaluatedProperties``: every key no keyword around it evaluated must be valid against it."""
    if not is_mapping(value):
        return
    data = as_dict(value)
    evaluated = seen(data)
    for key, item in data.items():
        if key not in evaluated:
            branch(item, (*path, key), errors)


def unevaluated_items(
    value: Any, path: Path, errors: list[ErrorDetail], seen: Callable[[Any], set[Any]], branch: Check
) -> None:
    """``unevaluatedItems``: every item no keyword around it evaluated must be valid against it."""
    if not isinstance(value, (list, tuple)):
        return
    evaluated = seen(value)
    for index, item in enumerate(value):
        if index not in evaluated:
            branch(item, (*path, index), errors)


def check_contains(
    items: Sequence[Any], path: Path, errors: list[ErrorDetail], branch: Check, low: int, high: int | None
) -> None:
    count = 0
    for index, item in enumerate(items):
        trial: list[ErrorDetail] = []
        branch(item, (*path, index), trial)
        count += not trial
    if count < low or (high is not None and count > high):
        bound = f"at least {low}" + (f" and at most {high}" if high is not None else "")
        errors.append(ErrorDetail(path, items, f"an array with {bound} matching items (found {count})"))


def build(cls: Callable[..., _M], data: Any, path: Path, errors: list[ErrorDetail]) -> Any:
    """A nested dataclass from a dict, its errors located under ``path``."""
    try:
        return cls.from_dict(as_dict(data) if isinstance(data, Model) else data)  # type: ignore[attr-defined]
    except ValidationError as exc:
        errors.extend(exc.prefixed(path))
        return data


# --- messages --------------------------------------------------------------------------------------


# --- dataclass support -----------------------------------------------------------------------------


def from_dict(cls: type[_M], data: Any, names: Mapping[str, str], model: str) -> _M:
    """Build ``cls`` from its JSON form (``names``: JSON name → field name): unknown keys are errors,
    reported together with those of the construction (missing required fields, bad values)."""
    if not isinstance(data, Mapping):
        raise ValidationError([ErrorDetail((), data, "an object (a dict of field values)")], model=model)
    keys = data.keys()
    if keys <= names.keys():
        return cls(**{names[key]: value for key, value in data.items()})
    errors = unknown_errors({key: data[key] for key in keys if key not in names}, list(names))
    try:
        cls(**{names[key]: data[key] for key in keys if key in names})
    except ValidationError as exc:
        errors += exc.errors
    raise ValidationError(errors, model=model)


def unknown_errors(unknown: Mapping[Any, Any], known: Sequence[str]) -> list[ErrorDetail]:
    """One error per unknown key or keyword, with the closest known name ("did you mean ...?") or,
    when none is close, the list of known names."""
    errors = []
    for key, value in unknown.items():
        hint = suggest(key, known) if isinstance(key, str) else None
        text = f"did you mean {hint!r}?" if hint else "known: " + (", ".join(known) or "none")
        errors.append(ErrorDetail((key,), value, f"{UNKNOWN_FIELD} ({text})"))
    return errors


# The default of a generated run-time ``__init__``'s first, positional-only parameter: any other value
# there means the call passed positional arguments (refused: fields are given by keyword).
NO_ARG: Any = object()


def keyword_signature(init: Callable[..., None]) -> Any:
    """The signature a generated run-time ``__init__`` shows (``help()``, ``inspect``): the call to make,
    as type checkers see it: the fields (and ``extra_body``) keyword-only, without the parameters that
    only catch a bad call (``_arg0``, ``*_args``, ``**_unknown``) to explain it."""
    import inspect  # already imported by dataclasses

    kinds = inspect.Parameter
    signature = inspect.signature(init)
    every = list(signature.parameters.values())
    keywords = [p.replace(kind=kinds.KEYWORD_ONLY) for p in every if p.kind is kinds.POSITIONAL_OR_KEYWORD]
    return signature.replace(parameters=[every[0], *keywords])


def invalid(
    cls: type[Any], positional: bool, unknown: Mapping[str, Any], errors: list[ErrorDetail], model: str
) -> Exception:
    """What a generated ``__init__`` raises when its call had a problem: a ``TypeError`` for positional
    arguments (``positional``), else one :class:`ValidationError` with the unknown keywords (with a did-you-mean), the
    required fields left out (``REQUIRED``, reported as missing), then every other error."""
    if positional:
        return TypeError(
            f"{cls.__qualname__}() takes keyword arguments only, got positional ones "
            f"(a dict of field values goes to {cls.__qualname__}.from_dict(data))"
        )
    for error in errors:
        if error.value is REQUIRED:
            break
    else:
        if not unknown:  # the usual case (bad values only): as fast as raising the errors directly
            return ValidationError(errors, model=model)
    missing: dict[tuple[str | int, ...], ErrorDetail] = {}
    rest = []
    for error in errors:
        if error.value is REQUIRED and len(error.path) == 1:
            missing.setdefault(error.path, ErrorDetail(error.path, MISSING, "a value (required field)"))
        else:
            rest.append(error)
    return ValidationError([*unknown_errors(unknown, cls._FIELDS), *missing.values(), *rest], model=model)


def input_of(
    cls: type[_M],
    given: _M | None,
    fields: Mapping[str, Any],
    unknown: Mapping[str, Any],
    options: Sequence[str],
    extra_body: Mapping[str, Any] | None = None,
) -> _M:
    """The ``Input`` a per-model ``submit()``/``run()`` was called with: the one passed (with ``extra_body``
    added), or one built (and so validated) from its keyword arguments. Keywords that are neither a field
    nor one of ``options`` (``client``, ``timeout``...) are reported with a did-you-mean, together with the
    construction's errors."""
    model: str | None = getattr(cls, "_model_id", None)
    errors = unknown_errors(unknown, [*getattr(cls, "_FIELDS", ()), *options])
    if given is None:
        try:
            value = cls(**fields) if extra_body is None else cls(**fields, extra_body=extra_body)  # type: ignore[call-arg]
        except ValidationError as exc:
            errors += exc.errors
        if errors:
            raise ValidationError(errors, model=model)
        return value
    if errors:
        raise ValidationError(errors, model=model)
    passed = [name for name, value in fields.items() if value is not UNSET and value is not REQUIRED]
    if passed:
        raise TypeError(f"pass either an Input or its fields, not both (got {', '.join(passed)})")
    if not isinstance(given, cls):
        raise TypeError(f"expected {cls.__qualname__}, got {type(given).__name__}")
    if extra_body is None:
        return given
    if getattr(given, "extra_body", None) is not None:
        raise TypeError("the Input already has an extra_body: pass it in one place")
    import dataclasses  # every model module has imported it already

    return dataclasses.replace(given, extra_body=extra_body)  # type: ignore[type-var]


def extra_body(value: Any, names: Mapping[str, str], errors: list[ErrorDetail]) -> dict[str, Any] | None:
    """An ``Input``'s ``extra_body``: ``None`` or a copy of a mapping of string keys that no declared
    field has (its values are sent as they are, never checked)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        errors.append(ErrorDetail(("extra_body",), value, "a mapping of extra body keys to values, or None"))
        return None
    for key in value:
        if not isinstance(key, str):
            errors.append(ErrorDetail(("extra_body", key), value[key], "a string key (a JSON object key)"))
        elif key in names:
            field = f"the field {names[key]!r}" if names[key] != key else "that field"
            errors.append(ErrorDetail(("extra_body", key), value[key], f"a key no declared field has (use {field})"))
    return dict(value)


def to_json(value: Any) -> Any:
    """A field value as JSON data: nested dataclasses as dicts, containers copied."""
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, Mapping):
        return {key: to_json(item) for key, item in value.items()}
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None:
        return to_dict()
    return value


def fields_repr(obj: Any, names: Sequence[str]) -> str:
    """``Input(prompt='...', num_images=2)``: the fields that are set, in declaration order."""
    shown = ", ".join(f"{name}={getattr(obj, name)!r}" for name in names if getattr(obj, name) is not UNSET)
    return f"{type(obj).__name__}({shown})"
