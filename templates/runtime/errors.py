"""The exceptions of the ``runcomfy`` package, all under :class:`RunComfyError`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["ErrorDetail", "RunComfyError", "ValidationError"]

_MAX_VALUE_REPR = 80
UNKNOWN_FIELD = "unknown field"


class RunComfyError(Exception):
    """Base class of every error this package raises on purpose."""


class ErrorDetail:
    """One problem found while validating: where, what was given, and what was expected.

    ``path`` is a tuple of JSON keys and list indexes from the root of the input (``("image_urls", 2)``);
    ``value`` is the offending value itself; ``expected`` says in words what would have been valid.
    """

    __slots__ = ("expected", "path", "value")

    def __init__(self, path: Sequence[str | int], value: object, expected: str) -> None:
        self.path: tuple[str | int, ...] = tuple(path)
        self.value = value
        self.expected = expected

    @property
    def location(self) -> str:
        """The path as text: ``image_urls[2]``, ``loras[0].scale``, or ``<input>`` for the root."""
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        return text or "<input>"

    def prefixed(self, prefix: Sequence[str | int]) -> ErrorDetail:
        """The same detail, located below ``prefix``."""
        return ErrorDetail((*prefix, *self.path), self.value, self.expected)

    def __str__(self) -> str:
        if self.expected.startswith(UNKNOWN_FIELD):
            return f"{self.location}: {self.expected}"
        if self.value is MISSING:
            return f"{self.location}: missing, expected {self.expected}"
        return f"{self.location}: expected {self.expected}, got {describe_value(self.value)}"

    def __repr__(self) -> str:
        return f"ErrorDetail(path={self.path!r}, value={self.value!r}, expected={self.expected!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ErrorDetail):
            return NotImplemented
        return (self.path, self.expected) == (other.path, other.expected) and (
            self.value is other.value or self.value == other.value
        )

    __hash__ = None  # type: ignore[assignment]


class _Missing:
    """The value of an :class:`ErrorDetail` for a required field that was not given."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "nothing"


MISSING = _Missing()


def describe_value(value: object) -> str:
    """A short, safe rendering of a value for an error message (long values are cut)."""
    if value is MISSING:
        return "nothing"
    text = repr(value)
    if len(text) > _MAX_VALUE_REPR:
        text = text[: _MAX_VALUE_REPR - 15] + "..." + text[-12:]
    return f"{text} ({type(value).__name__})" if isinstance(value, (bool, float)) else text


class ValidationError(RunComfyError, ValueError):
    """An input did not match its model's schema. Raised before any network call.

    ``errors`` holds every problem found in one construction (not just the first), each an
    :class:`ErrorDetail` with ``path``, ``value`` and ``expected``.
    """

    def __init__(self, errors: Iterable[ErrorDetail], *, model: str | None = None) -> None:
        self.errors: list[ErrorDetail] = list(errors)
        self.model = model
        super().__init__(self._message())

    def _message(self) -> str:
        count = len(self.errors)
        where = f" for {self.model}" if self.model else ""
        head = f"{count} validation error{'s' if count != 1 else ''}{where}"
        return "\n  ".join([head + ":", *(str(error) for error in self.errors)])

    def prefixed(self, prefix: Sequence[str | int]) -> list[ErrorDetail]:
        """The errors, located below ``prefix`` (used when a nested object is validated)."""
        return [error.prefixed(prefix) for error in self.errors]

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_validation_error, (self.errors, self.model))


def _rebuild_validation_error(errors: list[ErrorDetail], model: str | None) -> ValidationError:
    return ValidationError(errors, model=model)
