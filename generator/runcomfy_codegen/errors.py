"""Errors of the generator: each names the schema file and the JSON path of the problem."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def json_pointer(parts: Iterable[str | int]) -> str:
    """``("input_schema", "properties", "a/b")`` → ``/input_schema/properties/a~1b`` (RFC 6901)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


class SchemaError(Exception):
    """One problem in one schema file, located by JSON pointer."""

    def __init__(self, file: str, pointer: str, message: str) -> None:
        self.file = file
        self.pointer = pointer or "/"
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.file}: at {self.pointer}: {self.message}"


class GenerationError(Exception):
    """Generation stopped: nothing was written. ``errors`` lists every problem found."""

    def __init__(self, errors: Sequence[SchemaError]) -> None:
        self.errors = list(errors)
        count = len(self.errors)
        lines = [f"{count} schema error{'s' if count != 1 else ''}; nothing was written:"]
        lines += [f"  {error}" for error in self.errors]
        super().__init__("\n".join(lines))
