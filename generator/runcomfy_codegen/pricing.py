"""Pricing at generation time: a schema file's catalog price, and which input fields a cost estimate
multiplies it by (chosen here, by name, and recorded in the module as a ``CostBasis``).

Never a price the file does not carry: without ``base_price_usd`` a model's ``PRICING`` is ``None``.
"""

from __future__ import annotations

import dataclasses
import textwrap
from typing import TYPE_CHECKING, Any

from .literals import py_literal

if TYPE_CHECKING:  # light at run time: the stamp (the no-change fast path) imports Price
    from .ir import Field, Node, ObjectModel

COUNT_FIELDS = (
    "num_images", "num_outputs", "num_videos", "num_audios", "number_of_images", "number_of_outputs",
    "num_samples", "image_count", "output_count", "batch_size", "n",
)  # fmt: skip
"""Names of the integer field that says how many outputs a job makes, in order of preference."""
SECONDS_FIELDS = (
    "duration", "duration_seconds", "duration_sec", "duration_s", "seconds", "length", "length_seconds",
    "video_length", "video_duration", "audio_length", "audio_duration", "music_length", "music_duration",
)  # fmt: skip
"""Names of the field that says how many seconds of output a job makes, in order of preference; each
with ``_ms`` appended is the same in milliseconds."""


@dataclasses.dataclass(frozen=True)
class Price:
    """A schema file's price: ``base_price_usd`` per ``unit``, with the catalog's ``note``."""

    base_price_usd: float
    unit: str
    note: str | None

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Price | None:
        if not isinstance(data, dict):
            return None
        return cls(float(data["base_price_usd"]), str(data["unit"]), data.get("note"))

    def expression(self, name: str = "_pricing.Pricing") -> str:
        """The Python expression that builds it at run time (``runcomfy.pricing.Pricing``)."""
        args = f"{py_literal(self.base_price_usd)}, {py_literal(self.unit)}"
        return f"{name}({args}, {py_literal(self.note)})" if self.note else f"{name}({args})"

    def __str__(self) -> str:
        return f"USD {self.base_price_usd:g} per {self.unit}"


def price_of(data: dict[str, Any]) -> Price | None:
    """The price a schema file carries (checked by the loader), or ``None``."""
    if "base_price_usd" not in data:
        return None
    return Price(float(data["base_price_usd"]), str(data["price_unit"]), data.get("pricing_note") or None)


@dataclasses.dataclass(frozen=True)
class CostFields:
    """The fields an estimate uses: ``count`` (number of outputs) and ``seconds`` (output length), each
    with its schema default (``None``: none), and the seconds one unit of ``seconds`` is."""

    count: Field | None = None
    count_default: int | None = None
    seconds: Field | None = None
    seconds_default: float | str | None = None
    seconds_scale: float = 1.0

    def expression(self) -> str:
        """The ``runcomfy.pricing.CostBasis(...)`` that records them in the module."""
        parts = []
        if self.count is not None:
            parts += [f"count={py_literal(self.count.name)}", f"count_default={py_literal(self.count_default)}"]
        if self.seconds is not None:
            parts += [
                f"seconds={py_literal(self.seconds.name)}",
                f"seconds_default={py_literal(self.seconds_default)}",
                f"seconds_scale={py_literal(self.seconds_scale)}",
            ]
        return f"_pricing.CostBasis({', '.join(parts)})"


def _is_count(node: Node) -> bool:
    from . import checks

    if node.enum is not None:
        return bool(node.enum) and all(isinstance(v, int) and not isinstance(v, bool) for v in node.enum)
    return checks.effective_types(node) in (("integer",), ("integer", "null"), ("null", "integer"))


def _is_seconds(node: Node) -> bool:
    from . import checks

    if node.enum is not None:
        return bool(node.enum) and all(isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in node.enum)
    types = set(checks.effective_types(node) or ()) - {"null"}
    return bool(types) and types <= {"integer", "number", "string"}


def cost_fields(model: ObjectModel) -> CostFields:
    """The count and duration fields of a model's ``Input``, by name (first in :data:`COUNT_FIELDS` and
    :data:`SECONDS_FIELDS` order), with their schema defaults."""
    by_name = {field.json_name: field for field in model.fields}
    count = next((by_name[n] for n in COUNT_FIELDS if n in by_name and _is_count(by_name[n].node)), None)
    seconds, scale = None, 1.0
    for name, unit in [(n, 1.0) for n in SECONDS_FIELDS] + [(f"{n}_ms", 0.001) for n in SECONDS_FIELDS]:
        if name in by_name and _is_seconds(by_name[name].node):
            seconds, scale = by_name[name], unit
            break
    return CostFields(
        count=count,
        count_default=_default(count, lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0),
        seconds=seconds,
        seconds_default=_default(seconds, lambda v: isinstance(v, (int, float, str)) and not isinstance(v, bool)),
        seconds_scale=scale,
    )


def _default(field: Field | None, fits: Any) -> Any:
    if field is None or not field.node.has_default or not fits(field.node.default):
        return None
    return field.node.default


def estimate_doc(fields: CostFields) -> str:
    """The docstring of ``Input.estimate_cost``: what it multiplies the price by, and what it assumes."""
    if fields.count is not None:
        when_unset = fields.count_default if fields.count_default is not None else 1
        per_output = (
            f"the price times ``{fields.count.json_name}`` (the number of outputs asked for; "
            f"{py_literal(when_unset)} when unset)"
        )
    else:
        per_output = "the price itself (no input field asks for more than one output)"
    if fields.seconds is not None:
        unit = "milliseconds" if fields.seconds_scale != 1.0 else "seconds"
        unset = (
            f"{py_literal(fields.seconds_default)} when unset"
            if fields.seconds_default is not None
            else "``None`` when unset, as no default is known"
        )
        per_second = (
            f"the price times ``{fields.seconds.json_name}`` ({unit}; {unset}; ``None`` for a value that is "
            "not a number, such as ``auto``)"
        )
    else:
        per_second = "``None``, as no input field gives the output's length"
    paragraphs = [
        "Estimate what this input costs, in USD, from the model's price (``pricing``, default :data:`PRICING`): "
        f"for a price per output, {per_output}; for a price per second, {per_second}.",
        "``None`` when it cannot be estimated: no price is known (``PRICING`` is ``None`` until "
        "``runcomfy-codegen pull`` brings RunComfy's catalog prices into the schema file), or the price's unit "
        "is another. An estimate: ``Result.cost`` is what the API reports the job cost.",
    ]
    return "\n\n".join(textwrap.fill(text, width=100, break_on_hyphens=False) for text in paragraphs)
