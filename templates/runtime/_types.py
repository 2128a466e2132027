"""Shared sentinels and small types of the generated package.

``UNSET`` marks an optional input field the caller did not set: it is left out of the request body, so
the server's own default applies. It is falsy, a singleton that survives ``copy`` and ``pickle``.
``REQUIRED`` is the default a required field shows in the run-time signatures (``help(edit.run)``): a
call that leaves it there gets a :class:`runcomfy.ValidationError` naming the field, never a ``TypeError``.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar, Final, Generic, Literal, Protocol, TypeVar, Union

__all__ = ["REQUIRED", "UNSET", "ImageLike", "LocalMedia", "Model", "ModelInput", "Unset"]

O = TypeVar("O")  # noqa: E741 - the Output type of a model


class Unset:
    """The type of :data:`UNSET`, the "not given" marker of optional fields."""

    __slots__ = ()
    _instance: Unset | None = None

    def __new__(cls) -> Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> Literal[False]:
        return False

    def __copy__(self) -> Unset:
        return self

    def __deepcopy__(self, memo: object) -> Unset:
        return self

    def __reduce__(self) -> str:
        return "UNSET"


UNSET: Final[Unset] = Unset()


class _Required:
    """The type of :data:`REQUIRED`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "REQUIRED"

    def __reduce__(self) -> str:
        return "REQUIRED"


REQUIRED: Final[Any] = _Required()
"""The run-time default of a required field's parameter: "not given" (type checkers see no default).
Typed ``Any`` so that ``prompt: str = REQUIRED`` type-checks; never stored in a model."""


class Model:
    """Base of every generated dataclass (inputs and their nested objects): JSON objects to the checks."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - every generated class defines it
        raise NotImplementedError


class ModelInput(Model, Generic[O]):
    """Base of every generated ``Input``: ties it to its model id and its ``Output`` type, so that
    ``client.run(edit.Input(...))`` is typed ``Result[edit.Output]``."""

    __slots__ = ()
    _model_id: ClassVar[str]
    _output: ClassVar[type[Any]]


class ImageLike(Protocol):
    """An in-memory image with ``save(file, format=...)``, such as a ``PIL.Image.Image``."""

    @property
    def size(self) -> tuple[int, int]: ...

    def save(self, fp: Any, format: str | None = None, **params: Any) -> None: ...


LocalMedia = Union[os.PathLike[str], bytes, bytearray, ImageLike]  # noqa: UP007 - a runtime alias on 3.10
"""What a media field accepts besides a URL: a local file, its bytes, or an image; sent as a data: URI."""
