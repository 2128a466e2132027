"""The intermediate representation: what the parser makes of a schema, and what the templates render.

A :class:`Node` is one JSON Schema, draft differences already resolved (draft-4 boolean exclusive bounds,
draft-7 tuple ``items``, OpenAPI ``nullable``) and ``$ref`` already followed, so the code emitter sees a
single vocabulary.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .pricing import Price

# The JSON types in the order the emitted type tests try them (integer before number).
JSON_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")

# Formats the generated code asserts: RunComfy's media formats (a URL or data: URI of the kind; the
# ``*_uris`` forms for a whole array) and the standard ones of JSON Schema's format vocabulary. Any other
# format is an annotation (as draft 2020-12 specifies): kept in the schema, not checked.
MEDIA_FORMATS = frozenset({"image_uri", "video_uri", "audio_uri"})
MEDIA_ARRAY_FORMATS = frozenset({"image_uris", "video_uris", "audio_uris"})
STANDARD_FORMATS = frozenset({
    "date-time", "date", "time", "duration", "email", "hostname", "idn-hostname", "ipv4", "ipv6", "uri",
    "uri-reference", "uuid", "regex",
})  # fmt: skip
ASSERTED_FORMATS = MEDIA_FORMATS | MEDIA_ARRAY_FORMATS | STANDARD_FORMATS


@dataclasses.dataclass(eq=False)
class Node:
    """One JSON Schema node. ``None`` means "keyword absent" throughout."""

    pointer: str
    types: tuple[str, ...] | None = None
    never: bool = False  # the boolean schema ``false``: no value is valid
    integral_floats: bool = True  # "integer" accepts 2.0 (draft 6 and later; draft 4 does not)
    enum: tuple[Any, ...] | None = None
    is_const: bool = False
    # numbers
    minimum: int | float | None = None
    maximum: int | float | None = None
    exclusive_minimum: int | float | None = None
    exclusive_maximum: int | float | None = None
    multiple_of: int | float | None = None
    # strings
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    format: str | None = None
    # arrays
    items: Node | None = None
    prefix_items: tuple[Node, ...] = ()
    min_items: int | None = None
    max_items: int | None = None
    unique_items: bool = False
    contains: Node | None = None
    min_contains: int | None = None
    max_contains: int | None = None
    # objects
    properties: dict[str, Node] = dataclasses.field(default_factory=dict)
    required: tuple[str, ...] = ()
    # ``additional``: None = any extra key allowed; a Node = extra keys must match it (``false`` = never).
    additional: Node | None = None
    pattern_properties: dict[str, Node] = dataclasses.field(default_factory=dict)
    property_names: Node | None = None
    min_properties: int | None = None
    max_properties: int | None = None
    dependent_required: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    dependent_schemas: dict[str, Node] = dataclasses.field(default_factory=dict)
    # Names that keep a closed object's other keys out besides ``properties``: what its ``allOf``/
    # ``anyOf``/``oneOf`` branches, ``$ref`` targets and conditional schemas declare (README, "Closed objects").
    known_names: tuple[str, ...] = ()
    unevaluated_properties: Node | None = None
    unevaluated_items: Node | None = None
    # combinators
    any_of: tuple[Node, ...] = ()
    one_of: tuple[Node, ...] = ()
    all_of: tuple[Node, ...] = ()
    not_: Node | None = None
    if_: Node | None = None
    then: Node | None = None
    else_: Node | None = None
    # A reference back into a schema still being read (a recursive ``$ref``): the node checks a value
    # against ``ref``, through a function, and has no keyword of its own.
    ref: Node | None = None
    # annotations
    title: str | None = None
    description: str | None = None
    has_default: bool = False
    default: Any = None
    validations: tuple[Any, ...] = ()
    # Set by the parser when this object node becomes a generated dataclass.
    model: ObjectModel | None = None


@dataclasses.dataclass(eq=False)
class Field:
    """One property of a generated dataclass."""

    json_name: str
    name: str  # the Python identifier
    node: Node
    required: bool


@dataclasses.dataclass(eq=False)
class ObjectModel:
    """A generated dataclass: the model's ``Input`` or a nested object type."""

    class_name: str
    node: Node
    fields: list[Field]


@dataclasses.dataclass(eq=False)
class OutputField:
    json_name: str
    name: str
    shape: str  # "url", "urls" or "any": what the lenient parser accepts for the typed attribute
    description: str | None


@dataclasses.dataclass(eq=False)
class ModelSpec:
    """Everything one generated model module is made of."""

    model_id: str
    source_file: str  # path of the schema file, relative to the schemas directory, with '/' separators
    module: str  # dotted module path, e.g. runcomfy.models.google.nano_banana_2.edit
    display_name: str | None
    output_type: str | None
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    input_model: ObjectModel
    nested_models: list[ObjectModel]  # in dependency order: a class before the classes that use it
    output_fields: list[OutputField]
    validations: dict[str, tuple[Any, ...]]  # JSON name of a field → its RunComfy validation rules
    price: Price | None = None  # the schema file's catalog price (``None``: it carries none)


def numeric_bounds(node: Node) -> list[tuple[str, int | float]]:
    """``(relation, bound)`` of a number node's bounds, in the order texts name them: ``>=``, ``>``, ``<=``, ``<``."""
    pairs = (
        (">=", node.minimum),
        (">", node.exclusive_minimum),
        ("<=", node.maximum),
        ("<", node.exclusive_maximum),
    )
    return [(relation, bound) for relation, bound in pairs if bound is not None]


def size_ranges(node: Node) -> list[tuple[int | None, int | None, str]]:
    """``(low, high, unit)`` of the node's length and item-count bounds that are set (``None``: no bound)."""
    ranges = ((node.min_length, node.max_length, "characters"), (node.min_items, node.max_items, "items"))
    return [(low, high, unit) for low, high, unit in ranges if low is not None or high is not None]
