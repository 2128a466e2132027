"""What a job costs: a model's catalog price (:class:`Pricing`), and the estimate of one input's cost.

RunComfy's catalog prices a model in USD per ``output`` (each generated file: images) or per ``second``
(of generated video or audio). A generated module's ``PRICING`` is the price its schema file carries
(``runcomfy-codegen pull`` keeps the catalog's ``base_price_usd``, ``price_unit`` and ``pricing_note``);
``None`` when the file has none. ``Input.estimate_cost()`` multiplies it by the number of outputs or the
seconds the input asks for (:func:`estimate`, with the fields the generator chose: :class:`CostBasis`).
What a job really cost is what the API reports on its result (``Result.cost``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ._types import Unset

__all__ = ["OUTPUT", "SECOND", "CostBasis", "Pricing", "estimate", "reported_cost", "usd"]

OUTPUT = "output"
"""The unit of a price per generated file."""
SECOND = "second"
"""The unit of a price per second of generated video or audio."""

_SECONDS_TEXT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds?)?\s*", re.IGNORECASE)


def _non_negative(value: object) -> float | None:
    """``value`` as a float when it is a finite number ≥ 0 (not a bool), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None


class Pricing:
    """A model's price as RunComfy's catalog gives it: ``base_price_usd`` per ``unit`` (``"output"``: per
    generated file; ``"second"``: per second of output), and the catalog's ``note``. Immutable."""

    __slots__ = ("base_price_usd", "note", "unit")
    base_price_usd: float
    unit: str
    note: str | None

    def __init__(self, base_price_usd: float, unit: str, note: str | None = None) -> None:
        price = _non_negative(base_price_usd)
        if price is None:
            raise ValueError(f"base_price_usd must be a finite number >= 0, got {base_price_usd!r}")
        if not isinstance(unit, str) or not unit:
            raise ValueError(f"unit must be a non-empty string such as 'output' or 'second', got {unit!r}")
        if note is not None and not isinstance(note, str):
            raise ValueError(f"note must be a string or None, got {note!r}")
        object.__setattr__(self, "base_price_usd", price)
        object.__setattr__(self, "unit", unit)
        object.__setattr__(self, "note", note or None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Pricing is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Pricing is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pricing):
            return NotImplemented
        return (self.base_price_usd, self.unit, self.note) == (other.base_price_usd, other.unit, other.note)

    def __hash__(self) -> int:
        return hash((self.base_price_usd, self.unit, self.note))

    def __repr__(self) -> str:
        note = f", note={self.note!r}" if self.note is not None else ""
        return f"Pricing(base_price_usd={self.base_price_usd!r}, unit={self.unit!r}{note})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Pricing, (self.base_price_usd, self.unit, self.note))

    def __str__(self) -> str:
        """``USD 0.04 per output``, ``USD 0.1 per second``."""
        return f"{usd(self.base_price_usd)} per {self.unit}"


class CostBasis:
    """What an estimate multiplies the price by, as the generator chose it from the schema (by field
    name): ``count`` is the attribute holding the number of outputs (``num_images``...; ``None``: the
    model makes one), ``seconds`` the one holding the output's length (``duration``...; ``None``: none
    known, so a per-second price cannot be estimated), each with the schema's default for when it is
    unset (``None``: no default) and, for ``seconds``, the seconds one unit of it is (``0.001`` for
    milliseconds)."""

    __slots__ = ("count", "count_default", "seconds", "seconds_default", "seconds_scale")

    def __init__(
        self,
        *,
        count: str | None = None,
        count_default: object = None,
        seconds: str | None = None,
        seconds_default: object = None,
        seconds_scale: float = 1.0,
    ) -> None:
        self.count = count
        self.count_default = count_default
        self.seconds = seconds
        self.seconds_default = seconds_default
        self.seconds_scale = seconds_scale

    def __repr__(self) -> str:
        return (
            f"CostBasis(count={self.count!r}, count_default={self.count_default!r}, seconds={self.seconds!r}, "
            f"seconds_default={self.seconds_default!r}, seconds_scale={self.seconds_scale!r})"
        )


def _count(value: object, default: object) -> int | None:
    """The number of outputs an input asks for: its value, else the schema's default, else 1."""
    for candidate in (value, default):
        if candidate is None or isinstance(candidate, Unset):
            continue
        if isinstance(candidate, bool) or not isinstance(candidate, int):
            return None
        return candidate if candidate >= 0 else None
    return 1


def seconds_of(value: object) -> float | None:
    """Seconds from a duration field's value: a number ≥ 0, or a numeric string (``"5"``, ``"5s"``,
    ``"7.5 seconds"``); ``None`` for anything else (``"auto"``)."""
    if isinstance(value, str):
        match = _SECONDS_TEXT.fullmatch(value)
        return float(match.group(1)) if match else None
    return _non_negative(value)


def estimate(pricing: Pricing | None, basis: CostBasis, values: Any) -> float | None:
    """The estimated USD of one job: ``pricing``'s base price × the outputs (per ``output``) or × the
    seconds (per ``second``) that ``values`` (an ``Input``: its attributes named by ``basis``) asks for,
    unset fields taking the schema's default. ``None`` when it cannot be told: no price, another unit,
    a per-second price without a duration field, or a duration that is not a number (``"auto"``)."""
    if pricing is None:
        return None
    if pricing.unit == OUTPUT:
        value = getattr(values, basis.count) if basis.count is not None else None
        count = _count(value, basis.count_default)
        return None if count is None else _rounded(pricing.base_price_usd * count)
    if pricing.unit == SECOND and basis.seconds is not None:
        value = getattr(values, basis.seconds)
        seconds = seconds_of(basis.seconds_default if value is None or isinstance(value, Unset) else value)
        return None if seconds is None else _rounded(pricing.base_price_usd * seconds * basis.seconds_scale)
    return None


def _rounded(amount: float) -> float:
    """USD to a millionth of a cent's precision: ``0.04 * 3`` is ``0.12``, not ``0.12000000000000001``."""
    return round(amount, 8)


def reported_cost(body: Any) -> float | None:
    """The ``cost`` (USD) of a result answer (``?include_cost=true``): a finite number ≥ 0, else ``None``
    (absent, or a value no bill could be: a string, a negative number, NaN)."""
    return _non_negative(body.get("cost")) if isinstance(body, Mapping) else None


def usd(amount: float | None) -> str:
    """``USD 0.04``; ``USD ?`` for an unknown amount. Up to six decimals, trailing zeros cut (never
    fewer than two)."""
    if amount is None:
        return "USD ?"
    text = f"{amount:.6f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"USD {whole}.{cents.ljust(2, '0')}"
