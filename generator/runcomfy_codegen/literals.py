"""Schema text and values → Python source that can only ever be data.

Everything a schema supplies (descriptions, titles, enum values, defaults, patterns, the schemas themselves)
reaches generated code through these two functions and nowhere else: values as literals built from
``repr`` of plain JSON data, text as escaped docstring bodies. Neither can close its string or start a
statement, whatever the input holds.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any

_SAFE_CONTROL = {"\n": "\n", "\t": "\t"}


def py_literal(value: Any) -> str:
    """A Python expression that evaluates to the JSON value ``value`` (dicts, lists, str, numbers...)."""
    if value is None or value is True or value is False:
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else 'float("-inf")'
        return repr(float(value))
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(py_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(str(k))}: {py_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def py_tuple(values: Any) -> str:
    """A tuple literal of JSON values: ``("a", "b")``, ``("a",)``, ``()``."""
    items = [py_literal(value) for value in values]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def doc_text(text: str) -> str:
    """``text`` made safe as (part of) the body of a ``\"\"\"`` docstring: quotes, backslashes and
    control characters are escaped, so the text stays text."""
    out: list[str] = []
    for char in text.replace("\r\n", "\n"):
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char in _SAFE_CONTROL:
            out.append(char)
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)


def short(value: Any, limit: int = 60) -> str:
    """A value as it appears in a docstring (already made safe with :func:`doc_text`)."""
    text = py_literal(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text
