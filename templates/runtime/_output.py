"""The lenient parsing of a result's ``output`` object, shared by every model's ``Output`` class.

Known keys whose value has the expected shape (one URL string, or a list of URL strings) become typed
attributes; everything else, new keys included, is kept in ``extra``. Parsing never raises on content:
a result the API sends with new fields still parses.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

__all__ = ["OutputModel", "strings_in"]

_O = TypeVar("_O", bound="OutputModel")
MAX_DEPTH = 32
"""How deep :meth:`OutputModel.urls` looks for URLs in nested lists and objects."""


def strings_in(roots: Iterable[object], *, max_depth: int | None = None) -> Iterator[str]:
    """Every string in ``roots`` and the lists and objects nested in them, depth first in document order,
    without recursion (an answer nested deeply cannot exhaust the stack); ``max_depth`` levels at most."""
    levels: list[Iterator[object]] = [iter(roots)]
    while levels:
        for value in levels[-1]:
            if isinstance(value, str):
                yield value
            elif (max_depth is None or len(levels) <= max_depth) and isinstance(value, (list, Mapping)):
                levels.append(iter(value.values() if isinstance(value, Mapping) else value))
                break
        else:
            levels.pop()


def _fits(value: object, shape: str) -> bool:
    if shape == "url":
        return isinstance(value, str)
    if shape == "urls":
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    return True


class OutputModel:
    """Base of the generated ``Output`` dataclasses."""

    __slots__ = ()
    # JSON key → (attribute name, shape): set by each generated subclass.
    _SHAPES: ClassVar[Mapping[str, tuple[str, str]]] = {}

    @classmethod
    def from_dict(cls: type[_O], data: Mapping[str, Any] | None) -> _O:
        """Parse an ``output`` object. ``None`` or a non-object gives an empty ``Output``."""
        typed: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items() if isinstance(data, Mapping) else ():
            known = cls._SHAPES.get(key)
            if known is not None and _fits(value, known[1]):
                typed[known[0]] = list(value) if known[1] == "urls" else value
            else:
                extra[key] = value
        return cls(**typed, extra=extra)  # type: ignore[call-arg]  # the generated subclass has these fields

    def to_dict(self) -> dict[str, Any]:
        """The ``output`` object back as JSON data (unset keys left out, extra keys kept)."""
        data = {key: getattr(self, name) for key, (name, _) in self._SHAPES.items() if getattr(self, name) is not None}
        data.update(getattr(self, "extra", {}))
        return data

    def urls(self) -> list[str]:
        """Every output file URL (``http(s)`` only), typed attributes first, then any found in ``extra``
        (no deeper than :data:`MAX_DEPTH` levels); no duplicates. Linear in the size of the output."""
        values = [getattr(self, name) for name, _ in self._SHAPES.values()]
        strings = strings_in([*values, getattr(self, "extra", {})], max_depth=MAX_DEPTH)
        return list(dict.fromkeys(value for value in strings if value.startswith(("https://", "http://"))))
