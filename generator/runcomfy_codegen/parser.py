"""JSON Schema → :mod:`ir` nodes. Each schema keyword is read in exactly one place, here.

The raw schema is first normalised (``"type": "float"``), checked against its draft's metaschema with
``jsonschema`` (so a schema that is not a JSON Schema is reported with its JSON path, never coerced), then
parsed into datamodel-code-generator's typed ``JsonSchemaObject`` model, which this module walks to build
the IR. Anything the generated code could not enforce exactly (an unknown keyword or ``format``, a remote
``$ref``, a recursive schema) is an error with the file and JSON path: nothing passes silently.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from typing import Any

import jsonschema
import jsonschema.validators
import pydantic
from datamodel_code_generator.parser._schema_object import JsonSchemaObject

from . import regex
from .errors import SchemaError, json_pointer
from .ir import JSON_TYPES, Field, Node, ObjectModel
from .naming import class_name, field_names, unique_class_name

MAX_DEPTH = 40

# Drafts by jsonschema validator class name, and the keywords that exist only from (or until) one.
DRAFTS = {"Draft4Validator": 4, "Draft6Validator": 6, "Draft7Validator": 7, "Draft201909Validator": 2019,
          "Draft202012Validator": 2020}  # fmt: skip
SINCE_DRAFT = {"const": 6, "contains": 6, "propertyNames": 6, "dependentRequired": 2019, "minContains": 2019,
               "maxContains": 2019, "prefixItems": 2020}  # fmt: skip
UNTIL_DRAFT = {"additionalItems": 2019}

MEDIA_FORMATS = frozenset({"image_uri", "video_uri", "audio_uri"})
MEDIA_ARRAY_FORMATS = frozenset({"image_uris", "video_uris", "audio_uris"})
KNOWN_FORMATS = MEDIA_FORMATS | MEDIA_ARRAY_FORMATS | {"uri"}

VALIDATION_KEYWORDS = frozenset(
    {
        "type", "enum", "const", "nullable", "$ref",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "minLength", "maxLength", "pattern", "format",
        "items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems",
        "contains", "minContains", "maxContains",
        "properties", "required", "additionalProperties", "patternProperties", "propertyNames",
        "minProperties", "maxProperties", "dependentRequired",
        "anyOf", "oneOf", "allOf", "not",
    }
)  # fmt: skip
ANNOTATION_KEYWORDS = frozenset(
    {
        "title", "description", "default", "examples", "example", "$comment", "deprecated",
        "readOnly", "writeOnly", "$schema", "$id", "$anchor", "$defs", "definitions",
        "contentEncoding", "contentMediaType", "discriminator",
        "validations",  # RunComfy: rules on file contents the client cannot see; kept as metadata
    }
)  # fmt: skip


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _num(value: Any) -> int | float | None:
    """A bound as read by datamodel-code-generator (``UnionIntFloat`` or a plain number)."""
    return getattr(value, "value", value)


@functools.cache
def _format_checker(validator: Any) -> jsonschema.FormatChecker:
    """The metaschema's format checker, with ``regex`` meaning ECMA-262 (not Python's ``re``)."""
    checker = jsonschema.FormatChecker(formats=[name for name in validator.FORMAT_CHECKER.checkers if name != "regex"])
    checker.checks("regex")(regex.is_valid_syntax)
    return checker


class SchemaParser:
    """Parses one model's input schema. Collects nested object models as it goes."""

    def __init__(self, file: str, root: dict[str, Any], base: tuple[str | int, ...]) -> None:
        self.file = file
        self.root = root
        self.base = base
        self.models: list[ObjectModel] = []
        self.notes: list[str] = []
        self._class_names: set[str] = set()
        self._refs: dict[str, Node] = {}
        self._ref_stack: list[str] = []
        self.draft = 2020

    # --- entry point -------------------------------------------------------------------------------

    def parse_input(self) -> tuple[ObjectModel, list[ObjectModel]]:
        """The ``Input`` model and the nested models, each class after the ones it uses."""
        self._normalise(self.root, ())
        self._check_depth(self.root, (), 0)
        self._check_metaschema()
        try:
            parsed = JsonSchemaObject.model_validate(self.root)
        except pydantic.ValidationError as exc:  # pragma: no cover - the metaschema check comes first
            first = exc.errors()[0]
            raise self.error(tuple(first["loc"]), first["msg"]) from None
        node = self._node(parsed, self.root, (), context="root")
        if node.model is None:
            raise self.error((), "the input schema must be an object schema with 'properties'")
        input_model = node.model
        input_model.class_name = "Input"
        self.models.remove(input_model)
        self._assign_field_names([input_model, *self.models])
        return input_model, self.models

    # --- errors ------------------------------------------------------------------------------------

    def error(self, path: tuple[str | int, ...], message: str) -> SchemaError:
        return SchemaError(self.file, json_pointer(self.base + path), message)

    # --- whole-schema checks -----------------------------------------------------------------------

    def _normalise(self, raw: Any, path: tuple[str | int, ...]) -> None:
        """Rewrite what the live catalog is known to send that is not JSON Schema, with a note."""
        if isinstance(raw, dict):
            kind = raw.get("type")
            if kind == "float" or (isinstance(kind, list) and "float" in kind):
                raw["type"] = "number" if kind == "float" else ["number" if k == "float" else k for k in kind]
                self.notes.append(f"{self.file}: at {json_pointer(self.base + path)}: 'type: float' read as 'number'")
            for key, value in raw.items():
                self._normalise(value, (*path, key))
        elif isinstance(raw, list):
            for index, value in enumerate(raw):
                self._normalise(value, (*path, index))

    def _check_depth(self, raw: Any, path: tuple[str | int, ...], depth: int) -> None:
        if depth > MAX_DEPTH:
            raise self.error(path, f"schema nested deeper than {MAX_DEPTH} levels")
        children: Any = raw.items() if isinstance(raw, dict) else enumerate(raw) if isinstance(raw, list) else ()
        for key, value in children:
            self._check_depth(value, (*path, key), depth + 1)

    def _check_metaschema(self) -> None:
        if not isinstance(self.root, dict):
            raise self.error((), "the input schema must be a JSON object")
        try:
            validator = jsonschema.validators.validator_for(self.root, default=jsonschema.Draft202012Validator)
        except jsonschema.exceptions.SchemaError as exc:  # pragma: no cover - an unknown $schema
            raise self.error(("$schema",), str(exc.message)) from None
        if validator.__name__ not in DRAFTS:
            raise self.error(("$schema",), f"unsupported JSON Schema draft {self.root.get('$schema')!r} (4 to 2020-12)")
        self.draft = DRAFTS[validator.__name__]
        error = jsonschema.exceptions.best_match(
            validator(validator.META_SCHEMA, format_checker=_format_checker(validator)).iter_errors(self.root)
        )
        if error is not None:
            raise self.error(tuple(error.absolute_path), f"not a valid JSON Schema: {error.message}")

    # --- nodes -------------------------------------------------------------------------------------

    def _node(self, parsed: JsonSchemaObject | bool, raw: Any, path: tuple[str | int, ...], context: str) -> Node:
        """One schema node. ``context`` is the keyword it sits under (``allOf`` branches stay open)."""
        pointer = json_pointer(self.base + path)
        if parsed is True or raw is True:
            return Node(pointer)
        if parsed is False or raw is False:
            return Node(pointer, never=True)
        assert isinstance(parsed, JsonSchemaObject) and isinstance(raw, dict)
        self._check_keywords(raw, path)
        if "$ref" in raw:
            return self._ref_node(parsed, raw, path, context)
        node = Node(pointer, integral_floats=self.draft > 4)
        self._read_annotations(node, parsed, raw)
        self._read_type(node, parsed, raw, path)
        self._read_numbers(node, parsed, raw)
        self._read_strings(node, parsed, raw, path)
        self._read_arrays(node, parsed, raw, path)
        self._read_objects(node, parsed, raw, path, context)
        self._read_combinators(node, parsed, raw, path)
        return node

    def _check_keywords(self, raw: dict[str, Any], path: tuple[str | int, ...]) -> None:
        for key in raw:
            if (key in SINCE_DRAFT and self.draft < SINCE_DRAFT[key]) or (
                key in UNTIL_DRAFT and self.draft > UNTIL_DRAFT[key]
            ):
                raise self.error((*path, key), f"keyword {key!r} is not part of the schema's draft ({self.draft}): "
                                 "a validator would ignore it")  # fmt: skip
            if key in VALIDATION_KEYWORDS or key in ANNOTATION_KEYWORDS or key.startswith("x-"):
                continue
            raise self.error((*path, key), f"unsupported JSON Schema keyword {key!r}")
        if "$ref" in raw and self.draft <= 7:
            ignored = sorted(key for key in raw if key in VALIDATION_KEYWORDS and key != "$ref")
            if ignored:
                raise self.error((*path, "$ref"), f"{', '.join(ignored)} beside $ref: draft {self.draft} ignores them")

    def _ref_node(
        self, parsed: JsonSchemaObject, raw: dict[str, Any], path: tuple[str | int, ...], context: str
    ) -> Node:
        ref = raw["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise self.error((*path, "$ref"), f"only local references ('#/...') are supported, not {ref!r}")
        if ref in self._ref_stack:
            raise self.error((*path, "$ref"), f"recursive reference {ref!r} is not supported")
        if ref not in self._refs:
            target_path = self._resolve_pointer(ref, path)
            target_raw = self._at(target_path)
            target_parsed: Any = target_raw
            if isinstance(target_raw, dict):
                target_parsed = JsonSchemaObject.model_validate(target_raw)
            self._ref_stack.append(ref)
            try:
                target = self._node(target_parsed, target_raw, target_path, context="$ref")
            finally:
                self._ref_stack.pop()
            self._refs[ref] = target  # one node (and one class, named after the definition) per target
        target = self._refs[ref]
        siblings = {k: v for k, v in raw.items() if k != "$ref"}
        if not any(key in VALIDATION_KEYWORDS for key in siblings):
            if not siblings:
                return target
            node = copy.copy(target)
            self._read_annotations(node, parsed, raw)
            return node
        # $ref beside other validation keywords: both apply (draft 2019-09 and later).
        rest = self._node(JsonSchemaObject.model_validate(siblings), siblings, path, context)
        return Node(json_pointer(self.base + path), all_of=(target, rest), description=rest.description)

    def _resolve_pointer(self, ref: str, path: tuple[str | int, ...]) -> tuple[str | int, ...]:
        parts: list[str | int] = []
        for token in ref[1:].split("/")[1:] if ref != "#" else []:
            parts.append(token.replace("~1", "/").replace("~0", "~"))
        try:
            self._at(tuple(parts))
        except (KeyError, IndexError, TypeError, ValueError):
            raise self.error((*path, "$ref"), f"reference {ref!r} points to nothing") from None
        return tuple(parts)

    def _at(self, parts: tuple[str | int, ...]) -> Any:
        value: Any = self.root
        for part in parts:
            value = value[int(part)] if isinstance(value, list) else value[part]
        return value

    # --- keyword groups ----------------------------------------------------------------------------

    def _read_annotations(self, node: Node, parsed: JsonSchemaObject, raw: dict[str, Any]) -> None:
        node.title = parsed.title if isinstance(parsed.title, str) else node.title
        node.description = parsed.description if isinstance(parsed.description, str) else node.description
        if "default" in raw:
            node.has_default, node.default = True, raw["default"]
        if isinstance(raw.get("validations"), list):
            node.validations = tuple(raw["validations"])

    def _read_type(self, node: Node, parsed: JsonSchemaObject, raw: dict[str, Any], path: tuple) -> None:
        kinds = parsed.type
        if kinds is not None:
            listed = [kinds] if isinstance(kinds, str) else list(kinds)
            node.types = tuple(t for t in JSON_TYPES if t in listed)
        if "enum" in raw:
            node.enum = tuple(raw["enum"])
        if parsed.nullable:
            # OpenAPI 3.0: "nullable: true" admits null beside the declared type and enum (not const).
            if node.types is not None and "null" not in node.types:
                node.types = ("null", *node.types)
            if node.enum is not None and None not in node.enum:
                node.enum = (*node.enum, None)
        if "const" in raw:
            enum = node.enum
            node.enum, node.is_const = (raw["const"],), True
            if enum is not None:  # both: only values in the enum and equal to the const
                node.all_of = (*node.all_of, Node(node.pointer + "/enum", enum=enum))

    def _read_numbers(self, node: Node, parsed: JsonSchemaObject, raw: dict[str, Any]) -> None:
        node.minimum = _num(parsed.minimum)
        node.maximum = _num(parsed.maximum)
        # datamodel-code-generator turns draft-4 boolean exclusive bounds into numbers (moving the bound),
        # but reads numeric ones as floats: keep the schema's own number where there is one.
        exclusive = (("exclusiveMinimum", "exclusive_minimum"), ("exclusiveMaximum", "exclusive_maximum"))
        for keyword, attribute in exclusive:
            written = raw.get(keyword)
            value = written if _is_number(written) else _num(getattr(parsed, keyword))
            setattr(node, attribute, value if _is_number(value) else None)
        node.multiple_of = raw.get("multipleOf")

    def _read_strings(self, node: Node, parsed: JsonSchemaObject, raw: dict[str, Any], path: tuple) -> None:
        node.min_length, node.max_length = parsed.minLength, parsed.maxLength
        if parsed.pattern is not None:
            node.pattern = self._regex(parsed.pattern, (*path, "pattern"))
        if parsed.format is not None:
            if parsed.format not in KNOWN_FORMATS:
                known = ", ".join(sorted(KNOWN_FORMATS))
                raise self.error((*path, "format"), f"unknown format {parsed.format!r} (known: {known})")
            node.format = parsed.format

    def _regex(self, pattern: str, path: tuple[str | int, ...]) -> str:
        """A ``pattern`` or ``patternProperties`` key: an ECMA-262 regular expression that the generated
        code can check exactly and in linear time (see :mod:`regex`), or an error naming why not."""
        try:
            regex.check(pattern)
        except regex.RegexError as exc:
            raise self.error(path, f"pattern {pattern!r} is not a valid ECMA-262 regular expression: {exc}") from None
        except regex.UnsupportedRegexError as exc:
            raise self.error(path, f"pattern {pattern!r} is not supported: {exc}") from None
        return pattern

    def _read_arrays(self, node: Node, parsed: JsonSchemaObject, raw: dict[str, Any], path: tuple) -> None:
        items = raw.get("items")
        if isinstance(items, list):  # draft 4 to 2019-09: a tuple of item schemas
            node.prefix_items = tuple(
                self._node(p, r, (*path, "items", i), "items")
                for i, (p, r) in enumerate(zip(parsed.items or [], items, strict=False))  # type: ignore[arg-type]
            )
            if "additionalItems" in raw:
                node.items = self._node(
                    parsed.additionalItems, raw["additionalItems"], (*path, "additionalItems"), "items"
                )  # type: ignore[arg-type]
        elif "items" in raw:
            node.items = self._node(parsed.items, items, (*path, "items"), "items")  # type: ignore[arg-type]
        if "prefixItems" in raw:
            node.prefix_items = tuple(
                self._node(p, r, (*path, "prefixItems", i), "items")
                for i, (p, r) in enumerate(zip(parsed.prefixItems or [], raw["prefixItems"], strict=False))
            )
        node.min_items, node.max_items = parsed.minItems, parsed.maxItems
        node.unique_items = bool(parsed.uniqueItems)
        if "contains" in raw:
            node.contains = self._sub(raw["contains"], (*path, "contains"), "contains")
            node.min_contains = raw.get("minContains")
            node.max_contains = raw.get("maxContains")

    def _read_objects(
        self, node: Node, parsed: JsonSchemaObject, raw: dict[str, Any], path: tuple, context: str
    ) -> None:
        for name, (sub_parsed, sub_raw) in self._pairs(parsed.properties, raw.get("properties")):
            node.properties[name] = self._node(sub_parsed, sub_raw, (*path, "properties", name), "properties")
        node.required = tuple(dict.fromkeys(raw.get("required", ())))
        if node.properties:  # a required name the properties do not list is a property of any value
            for name in node.required:
                node.properties.setdefault(name, Node(json_pointer(self.base + path) + "/required"))
        if "additionalProperties" in raw:
            node.additional = self._node(
                parsed.additionalProperties,  # type: ignore[arg-type]
                raw["additionalProperties"],
                (*path, "additionalProperties"),
                "additionalProperties",
            )
        for pattern, (sub_parsed, sub_raw) in self._pairs(parsed.patternProperties, raw.get("patternProperties")):
            self._regex(pattern, (*path, "patternProperties", pattern))
            node.pattern_properties[pattern] = self._node(
                sub_parsed, sub_raw, (*path, "patternProperties", pattern), "patternProperties"
            )
        if "propertyNames" in raw:
            node.property_names = self._sub(raw["propertyNames"], (*path, "propertyNames"), "propertyNames")
        node.min_properties, node.max_properties = parsed.minProperties, parsed.maxProperties
        node.dependent_required = {k: tuple(v) for k, v in raw.get("dependentRequired", {}).items()}
        # The closing rule (README, "Closed objects"): an object schema with properties and no word on
        # other keys accepts no other keys, except as a branch of allOf, where siblings add properties.
        closes = node.properties and "additionalProperties" not in raw and "patternProperties" not in raw
        if closes and context != "allOf":
            node.additional = Node(json_pointer(self.base + path) + "/additionalProperties", never=True)
        if self._is_model(node, raw, context):
            model = ObjectModel(self._class_name(self._name_hint(path, context)), node, [])
            node.model = model
            self.models.append(model)

    def _is_model(self, node: Node, raw: dict[str, Any], context: str) -> bool:
        """Does this object node become a dataclass (rather than a validated ``dict``)?"""
        untyped_root = context == "root" and node.types is None and bool(node.properties)  # an object all the same
        if not untyped_root and (
            context == "allOf" or node.types is None or not {"object"} <= set(node.types) <= {"object", "null"}
        ):
            return False
        if node.enum is not None:
            return False
        if not (node.additional is not None and node.additional.never):
            return False
        if node.pattern_properties or node.property_names or node.dependent_required:
            return False
        if node.min_properties is not None or node.max_properties is not None:
            return False
        if node.any_of or node.one_of or node.all_of or node.not_ or "anyOf" in raw or "oneOf" in raw:
            return False
        return bool(node.properties) or context == "root"

    def _read_combinators(self, node: Node, parsed: JsonSchemaObject, raw: dict[str, Any], path: tuple) -> None:
        for keyword in ("anyOf", "oneOf", "allOf"):
            if keyword in raw:
                branches = tuple(
                    self._node(p, r, (*path, keyword, i), keyword)
                    for i, (p, r) in enumerate(zip(getattr(parsed, keyword), raw[keyword], strict=False))
                )
                setattr(node, {"anyOf": "any_of", "oneOf": "one_of", "allOf": "all_of"}[keyword], branches)
        if "not" in raw:
            node.not_ = self._sub(raw["not"], (*path, "not"), "not")
        if node.model is not None and (node.any_of or node.one_of or node.all_of or node.not_):
            self.models.remove(node.model)
            node.model = None

    def _sub(self, raw: Any, path: tuple[str | int, ...], context: str) -> Node:
        """A sub-schema that datamodel-code-generator keeps as raw data (``not``, ``contains``...)."""
        parsed = JsonSchemaObject.model_validate(raw) if isinstance(raw, dict) else raw
        return self._node(parsed, raw, path, context)

    @staticmethod
    def _pairs(parsed: dict[str, Any] | None, raw: dict[str, Any] | None) -> Iterator[tuple[str, tuple[Any, Any]]]:
        for name, sub_raw in (raw or {}).items():
            yield name, ((parsed or {}).get(name, sub_raw), sub_raw)

    # --- names -------------------------------------------------------------------------------------

    @staticmethod
    def _name_hint(path: tuple[str | int, ...], context: str) -> str:
        """A class name from where the object sits: ``properties/loras/items`` → ``LorasItem``."""
        if not path:
            return "Input"
        if context == "items":
            owner = path[-2] if len(path) >= 2 and isinstance(path[-2], str) else path[-1]
            if owner in ("items", "prefixItems"):
                owner = "array"
            return class_name(str(owner)) + "Item"
        return class_name(str(path[-1]))

    def _class_name(self, candidate: str) -> str:
        if candidate == "Input":
            candidate = "InputObject"
        return unique_class_name(candidate, self._class_names)

    def _assign_field_names(self, models: list[ObjectModel]) -> None:
        reserved = frozenset(model.class_name for model in models)
        for model in models:
            node = model.node
            names = field_names(node.properties, reserved)
            model.fields = [
                Field(json_name, names[json_name], sub, json_name in node.required)
                for json_name, sub in node.properties.items()
            ]
