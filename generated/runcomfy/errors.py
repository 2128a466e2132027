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

    __slots__ = ("_choices", "_expected", "path", "value")

    def __init__(
        self, path: Sequence[str | int], value: object, expected: str = "", *, choices: Sequence[object] = ()
    ) -> None:
        self.path: tuple[str | int, ...] = tuple(path)
        self.value = value
        self._expected = expected
        self._choices = choices  # for "one of ...": the text (with its "did you mean") is made when read

    @property
    def expected(self) -> str:
        if not self._expected and self._choices:
            self._expected = choices_text(self._choices, self.value)
        return self._expected

    @property
    def location(self) -> str:
        """The path as text: ``image_urls[2]``, ``loras[0].scale``, or ``<input>`` for the root."""
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        return text or "<input>"

    def prefixed(self, prefix: Sequence[str | int]) -> ErrorDetail:
        """The same detail, located below ``prefix``."""
        return ErrorDetail((*prefix, *self.path), self.value, self._expected, choices=self._choices)

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


def choices_text(values: Sequence[object], value: object) -> str:
    """``one of 'a', 'b', ...`` with a "did you mean" for a near miss."""
    shown = ", ".join(repr(v) if not isinstance(v, bool) else str(v).lower() for v in values[:12])
    if len(values) > 12:
        shown += f", ... ({len(values) - 12} more)"
    text = f"one of {shown}" if len(values) > 1 else shown
    hint = suggest(value, [v for v in values if isinstance(v, str)])
    return text + (f" (did you mean {hint!r}?)" if hint else "")


def suggest(value: object, candidates: Sequence[str]) -> str | None:
    """The candidate closest to ``value``, if one is close (same letters in another case, or difflib)."""
    if not isinstance(value, str) or not candidates:
        return None
    import difflib  # only on the error path

    lowered = {candidate.lower(): candidate for candidate in candidates}
    if value.lower() in lowered:
        return lowered[value.lower()]
    close = difflib.get_close_matches(value, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


class ValidationError(RunComfyError, ValueError):
    """An input did not match its model's schema. Raised before any network call.

    ``errors`` holds every problem found in one construction (not just the first), each an
    :class:`ErrorDetail` with ``path``, ``value`` and ``expected``.
    """

    def __init__(self, errors: Iterable[ErrorDetail], *, model: str | None = None) -> None:
        self.errors: list[ErrorDetail] = list(errors)
        self.model = model
        count = len(self.errors)
        super().__init__(f"{count} validation error{'s' if count != 1 else ''}" + (f" for {model}" if model else ""))

    def __str__(self) -> str:
        """Every error, one a line (made when read: raising and catching stays cheap)."""
        return "\n  ".join([f"{self.args[0]}:", *(str(error) for error in self.errors)])

    def prefixed(self, prefix: Sequence[str | int]) -> list[ErrorDetail]:
        """The errors, located below ``prefix`` (used when a nested object is validated)."""
        return [error.prefixed(prefix) for error in self.errors]

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_validation_error, (self.errors, self.model))


def _rebuild_validation_error(errors: list[ErrorDetail], model: str | None) -> ValidationError:
    return ValidationError(errors, model=model)
