"""JSON Schema → :mod:`ir` nodes. Each schema keyword is read in exactly one place, here.

The raw schema is first normalised (``"type": "float"``), then checked against its draft's metaschema
with ``jsonschema`` (so a schema that is not a JSON Schema is reported with its JSON path, never coerced,
and every keyword of the draft has a value of the right shape from then on), then indexed (the base URI
of every subschema, its ``$id`` resources and anchors), then walked into the IR. A keyword the generated
code could not enforce exactly (a non-local ``$ref``, ``$dynamicRef``, a keyword of another draft that
the schema's draft would ignore) is an error with the file and JSON path: nothing passes silently. An
unknown keyword is an annotation (a warning, unless it starts with ``x-``), as JSON Schema defines it; so
is an unknown ``format``.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import jsonschema
import jsonschema.validators

from . import regex
from .errors import SchemaError, json_pointer
from .ir import ASSERTED_FORMATS, JSON_TYPES, Field, Node, ObjectModel
from .naming import class_name, field_names, unique_class_name

MAX_DEPTH = 40

Path = tuple[str | int, ...]

# Drafts by jsonschema validator class name, and the keywords that exist only from (or until) one.
DRAFTS = {"Draft4Validator": 4, "Draft6Validator": 6, "Draft7Validator": 7, "Draft201909Validator": 2019,
          "Draft202012Validator": 2020}  # fmt: skip
SINCE_DRAFT = {"const": 6, "contains": 6, "propertyNames": 6, "if": 7, "then": 7, "else": 7,
               "dependentRequired": 2019, "dependentSchemas": 2019, "minContains": 2019, "maxContains": 2019,
               "unevaluatedProperties": 2019, "unevaluatedItems": 2019, "prefixItems": 2020}  # fmt: skip
UNTIL_DRAFT = {"additionalItems": 2019, "dependencies": 7}

VALIDATION_KEYWORDS = frozenset(
    {
        "type", "enum", "const", "nullable", "$ref",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "minLength", "maxLength", "pattern", "format",
        "items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems",
        "contains", "minContains", "maxContains", "unevaluatedItems",
        "properties", "required", "additionalProperties", "patternProperties", "propertyNames",
        "minProperties", "maxProperties", "dependentRequired", "dependentSchemas", "dependencies",
        "unevaluatedProperties",
        "anyOf", "oneOf", "allOf", "not", "if", "then", "else",
    }
)  # fmt: skip
# Validation keywords the generator knows and refuses: what they check depends on the dynamic scope.
UNSUPPORTED_KEYWORDS = {
    "$dynamicRef": "$dynamicRef is not supported (its target depends on the dynamic scope)",
    "$recursiveRef": "$recursiveRef is not supported (its target depends on the dynamic scope)",
}
ANNOTATION_KEYWORDS = frozenset(
    {
        "title", "description", "default", "examples", "example", "$comment", "deprecated",
        "readOnly", "writeOnly", "$schema", "$id", "id", "$anchor", "$dynamicAnchor", "$recursiveAnchor",
        "$defs", "definitions", "$vocabulary", "contentEncoding", "contentMediaType", "contentSchema",
        "discriminator",
        "validations",  # RunComfy: rules on file contents the client cannot see; kept as metadata
    }
)  # fmt: skip

# Where subschemas sit: keywords holding one schema, a list of schemas, or a name → schema map.
SCHEMA_ONE = ("items", "additionalItems", "contains", "additionalProperties", "propertyNames", "not", "if",
              "then", "else", "unevaluatedItems", "unevaluatedProperties", "contentSchema")  # fmt: skip
SCHEMA_LIST = ("items", "prefixItems", "allOf", "anyOf", "oneOf")
SCHEMA_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies")

# Keywords that apply to the very value their schema applies to: an object schema under one of them
# stays open (its siblings and the schema around it add properties).
IN_PLACE = frozenset({"allOf", "if", "then", "else", "not", "dependentSchemas", "dependencies"})
# Keywords whose subschemas apply to a part of the value (a property, an item, a key).
DESCENDING = frozenset(
    {"items", "properties", "additionalProperties", "patternProperties", "propertyNames", "contains"}
)
ANNOTATED = frozenset({"title", "description", "default", "validations"})  # what _read_annotations reads

DEFAULT_BASE = "runcomfy:input-schema"  # the base URI of a schema without a root $id


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def join_uri(base: str, reference: str) -> str:
    """``reference`` resolved against ``base`` (RFC 3986; a fragment-only reference keeps any scheme)."""
    if reference.startswith("#"):
        return base.partition("#")[0] + reference
    if urlsplit(reference).scheme:
        return reference
    return urljoin(base, reference)


def subschemas(raw: dict[str, Any]) -> Iterator[tuple[Path, Any]]:
    """(relative path, subschema) of every schema directly inside ``raw``."""
    for key in SCHEMA_ONE:
        if key in raw and isinstance(raw[key], (dict, bool)):
            yield (key,), raw[key]
    for key in SCHEMA_LIST:
        if isinstance(raw.get(key), list):
            for index, item in enumerate(raw[key]):
                yield (key, index), item
    for key in SCHEMA_MAP:
        if isinstance(raw.get(key), dict):
            for name, item in raw[key].items():
                if isinstance(item, (dict, bool)):
                    yield (key, name), item


@functools.cache
def _format_checker(validator: Any) -> jsonschema.FormatChecker:
    """The metaschema's format checker, with ``regex`` meaning ECMA-262 (not Python's ``re``)."""
    checker = jsonschema.FormatChecker(formats=[name for name in validator.FORMAT_CHECKER.checkers if name != "regex"])
    checker.checks("regex")(regex.is_valid_syntax)
    return checker


class SchemaParser:
    """Parses one model's input schema. Collects nested object models as it goes."""

    def __init__(self, file: str, root: dict[str, Any], base: Path) -> None:
        self.file = file
        self.root = root
        self.base = base
        self.models: list[ObjectModel] = []
        self.notes: list[str] = []
        self._class_names: set[str] = set()
        self.draft = 2020
        # the reference index: base URI of every subschema, resources by URI, anchors by (URI, name)
        self._bases: dict[Path, str] = {}
        self._resources: dict[str, Path] = {}
        self._anchors: dict[tuple[str, str], Path] = {}
        # $ref targets: the node read for each target, the ones being read, placeholders waiting for them
        self._built: dict[tuple[Path, bool], Node] = {}
        self._reading: list[tuple[Path, bool]] = []
        self._waiting: dict[tuple[Path, bool], list[Node]] = {}
        self._placeholders: list[Node] = []
        # how many keywords that descend into the value (properties, items...) enclose the node being read,
        # and that count when each target in _reading was entered (equal again: a loop in place)
        self._descent = 0
        self._descents: list[int] = []

    # --- entry point -------------------------------------------------------------------------------

    def parse_input(self) -> tuple[ObjectModel, list[ObjectModel]]:
        """The ``Input`` model and the nested models, each class after the ones it uses."""
        self._normalise(self.root, ())
        self._check_depth(self.root, (), 0)
        self._check_metaschema()
        self._index(self.root, (), DEFAULT_BASE)
        node = self._node(self.root, (), context="root")
        if node.model is None:
            raise self.error((), "the input schema must be an object schema with 'properties'")
        input_model = node.model
        input_model.class_name = "Input"
        self.models.remove(input_model)
        self._assign_field_names([input_model, *self.models])
        return input_model, self.models

    # --- errors and notes --------------------------------------------------------------------------

    def error(self, path: Path, message: str) -> SchemaError:
        return SchemaError(self.file, json_pointer(self.base + path), message)

    def note(self, path: Path, message: str) -> None:
        self.notes.append(f"{self.file}: at {json_pointer(self.base + path)}: {message}")

    # --- whole-schema checks -----------------------------------------------------------------------

    def _normalise(self, raw: Any, path: Path) -> None:
        """Rewrite what the live catalog is known to send that is not JSON Schema, with a note."""
        if isinstance(raw, dict):
            kind = raw.get("type")
            if kind == "float" or (isinstance(kind, list) and "float" in kind):
                raw["type"] = "number" if kind == "float" else ["number" if k == "float" else k for k in kind]
                self.note(path, "'type: float' read as 'number'")
            for key, value in raw.items():
                self._normalise(value, (*path, key))
        elif isinstance(raw, list):
            for index, value in enumerate(raw):
                self._normalise(value, (*path, index))

    def _check_depth(self, raw: Any, path: Path, depth: int) -> None:
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

    # --- references --------------------------------------------------------------------------------

    def _index(self, raw: Any, path: Path, base: str) -> None:
        """Record the base URI of every subschema, the resources its ``$id`` s make and its anchors."""
        if not isinstance(raw, dict):
            return
        legacy = self.draft <= 7
        identifier = raw.get("id" if self.draft == 4 else "$id")
        if isinstance(identifier, str) and not (legacy and "$ref" in raw):  # drafts <= 7 ignore $ref's siblings
            if legacy and identifier.startswith("#"):
                self._anchors.setdefault((base.partition("#")[0], identifier[1:]), path)
            else:
                uri, _, fragment = join_uri(base, identifier).partition("#")
                base = uri
                self._resources.setdefault(uri, path)
                if legacy and fragment:
                    self._anchors.setdefault((uri, fragment), path)
        if not legacy:
            for keyword in ("$anchor", "$dynamicAnchor"):
                if isinstance(raw.get(keyword), str):
                    self._anchors.setdefault((base, raw[keyword]), path)
        self._bases[path] = base
        if path == ():
            self._resources.setdefault(base, path)
        for relative, sub in subschemas(raw):
            self._index(sub, path + relative, base)

    def _base_of(self, path: Path) -> str:
        while path not in self._bases:
            path = path[:-1]
        return self._bases[path]

    def _resolve(self, ref: str, path: Path) -> Path:
        """The document path a ``$ref`` at ``path`` points to; an error for anything not in this schema."""
        where = (*path, "$ref")
        uri, _, fragment = join_uri(self._base_of(path), ref).partition("#")
        if uri not in self._resources:
            raise self.error(where, f"reference {ref!r} is not in this schema: only references into the schema "
                             "itself are supported (nothing is ever fetched)")  # fmt: skip
        target = self._resources[uri]
        fragment = unquote(fragment)
        if fragment.startswith("/"):
            target = (*target, *(token.replace("~1", "/").replace("~0", "~") for token in fragment[1:].split("/")))
            try:
                self._at(target)
            except (KeyError, IndexError, TypeError, ValueError):
                raise self.error(where, f"reference {ref!r} points to nothing") from None
            return tuple(int(part) if isinstance(self._at(target[:n]), list) else part
                         for n, part in enumerate(target))  # fmt: skip
        if fragment:
            if (uri, fragment) not in self._anchors:
                raise self.error(where, f"reference {ref!r} points to nothing (no such anchor)")
            return self._anchors[(uri, fragment)]
        return target

    def _at(self, parts: Path) -> Any:
        value: Any = self.root
        for part in parts:
            if isinstance(value, list):
                if not (isinstance(part, int) or (part.isdigit() and (part == "0" or part[0] != "0"))):
                    raise ValueError(part)
                value = value[int(part)]
            else:
                value = value[part]
        return value

    def _ref_node(self, raw: dict[str, Any], path: Path, *, in_place: bool) -> Node:
        """The node a ``$ref`` points to: read once per target (one class per definition) and use (a
        target applied in place, as an allOf branch or beside other keywords, stays open like one); a
        reference back into a target still being read is a placeholder node, linked to it when done."""
        key = (self._resolve(raw["$ref"], path), in_place)
        if key in self._reading:
            if self._descents[self._reading.index(key)] == self._descent:
                raise self.error((*path, "$ref"), f"reference {raw['$ref']!r} leads back to itself without "
                                 "descending into the value: checking would never end")  # fmt: skip
            placeholder = Node(json_pointer(self.base + path))
            self._waiting.setdefault(key, []).append(placeholder)
            self._placeholders.append(placeholder)
            return placeholder
        if key not in self._built:
            self._reading.append(key)
            self._descents.append(self._descent)
            try:
                target = self._node(self._at(key[0]), key[0], context="allOf" if in_place else "$ref")
            finally:
                self._reading.pop()
                self._descents.pop()
            for placeholder in self._waiting.pop(key, []):  # (a loop in place was refused above)
                placeholder.ref = target
            self._built[key] = target
        return self._built[key]

    # --- nodes -------------------------------------------------------------------------------------

    def _node(self, raw: Any, path: Path, context: str) -> Node:
        """One schema node. ``context`` is the keyword it sits under (``allOf`` branches stay open)."""
        descends = context in DESCENDING
        self._descent += descends
        try:
            return self._read_node(raw, path, context)
        finally:
            self._descent -= descends

    def _read_node(self, raw: Any, path: Path, context: str) -> Node:
        pointer = json_pointer(self.base + path)
        if raw is True:
            return Node(pointer)
        if raw is False:
            return Node(pointer, never=True)
        if not isinstance(raw, dict):  # pragma: no cover - the metaschema check comes first
            raise self.error(path, f"expected a schema (an object or a boolean), got {raw!r}")
        self._check_keywords(raw, path)
        target = None
        if "$ref" in raw:
            validating = any(key in VALIDATION_KEYWORDS and key != "$ref" for key in raw)
            target = self._ref_node(raw, path, in_place=validating or context in IN_PLACE)
            if not validating:
                if target in self._placeholders or not ANNOTATED.intersection(raw):
                    return target
                node = copy.copy(target)  # the same checks, this place's description and default
                self._read_annotations(node, raw)
                return node
        node = Node(pointer, integral_floats=self.draft > 4)
        self._read_annotations(node, raw)
        self._read_type(node, raw)
        self._read_numbers(node, raw)
        self._read_strings(node, raw, path)
        self._read_arrays(node, raw, path)
        self._read_objects(node, raw, path, context)
        self._read_combinators(node, raw, path)
        if target is not None:  # $ref beside other validation keywords: both apply (draft 2019-09 and later)
            node.all_of = (target, *node.all_of)
            self._drop_model(node)
        return node

    def _check_keywords(self, raw: dict[str, Any], path: Path) -> None:
        for key in raw:
            if (key in SINCE_DRAFT and self.draft < SINCE_DRAFT[key]) or (
                key in UNTIL_DRAFT and self.draft > UNTIL_DRAFT[key]
            ):
                raise self.error((*path, key), f"keyword {key!r} is not part of the schema's draft ({self.draft}): "
                                 "a validator would ignore it")  # fmt: skip
            if key in UNSUPPORTED_KEYWORDS:
                raise self.error((*path, key), UNSUPPORTED_KEYWORDS[key])
            if key in VALIDATION_KEYWORDS or key in ANNOTATION_KEYWORDS or key.startswith("x-"):
                continue
            self.note((*path, key), f"unknown keyword {key!r} kept as an annotation (not checked)")
        if "$ref" in raw and self.draft <= 7:
            ignored = sorted(key for key in raw if key in VALIDATION_KEYWORDS and key != "$ref")
            if ignored:
                raise self.error((*path, "$ref"), f"{', '.join(ignored)} beside $ref: draft {self.draft} ignores them")
        if "nullable" in raw and not isinstance(raw["nullable"], bool):
            raise self.error((*path, "nullable"), f"nullable must be true or false, not {raw['nullable']!r}")

    # --- keyword groups ----------------------------------------------------------------------------

    def _read_annotations(self, node: Node, raw: dict[str, Any]) -> None:
        node.title = raw["title"] if isinstance(raw.get("title"), str) else node.title
        node.description = raw["description"] if isinstance(raw.get("description"), str) else node.description
        if "default" in raw:
            node.has_default, node.default = True, raw["default"]
        if isinstance(raw.get("validations"), list):
            node.validations = tuple(raw["validations"])

    def _read_type(self, node: Node, raw: dict[str, Any]) -> None:
        kinds = raw.get("type")
        if kinds is not None:
            listed = [kinds] if isinstance(kinds, str) else list(kinds)
            if "any" in listed:  # pragma: no cover - draft 3's "any" is not in the drafts' metaschemas
                listed = list(JSON_TYPES)
            node.types = tuple(t for t in JSON_TYPES if t in listed)
        if "enum" in raw:
            node.enum = tuple(raw["enum"])
            if not node.enum:
                node.never = True  # an empty enum admits no value
        if raw.get("nullable") is True:
            # OpenAPI 3.0: "nullable: true" admits null beside the declared type and enum (not const).
            if node.types is not None and "null" not in node.types:
                node.types = ("null", *node.types)
            if node.enum is not None and None not in node.enum:
                node.enum = (*node.enum, None)
                node.never = False
        if "const" in raw:
            enum = node.enum
            node.enum, node.is_const = (raw["const"],), True
            if enum is not None:  # both: only values in the enum and equal to the const
                node.all_of = (*node.all_of, self._enum_node(node.pointer + "/enum", enum))

    @staticmethod
    def _enum_node(pointer: str, values: tuple[Any, ...]) -> Node:
        return Node(pointer, enum=values, never=not values)

    def _read_numbers(self, node: Node, raw: dict[str, Any]) -> None:
        node.minimum = raw.get("minimum")
        node.maximum = raw.get("maximum")
        node.multiple_of = raw.get("multipleOf")
        for keyword, attribute, bound in (
            ("exclusiveMinimum", "exclusive_minimum", "minimum"),
            ("exclusiveMaximum", "exclusive_maximum", "maximum"),
        ):
            value = raw.get(keyword)
            if value is True and bound in raw:  # draft 4: a boolean that makes the bound exclusive
                setattr(node, attribute, raw[bound])
                setattr(node, bound, None)
            elif _is_number(value):
                setattr(node, attribute, value)

    def _read_strings(self, node: Node, raw: dict[str, Any], path: Path) -> None:
        node.min_length, node.max_length = raw.get("minLength"), raw.get("maxLength")
        if "pattern" in raw:
            node.pattern = self._regex(raw["pattern"], (*path, "pattern"))
        if "format" in raw:
            if raw["format"] in ASSERTED_FORMATS:
                node.format = raw["format"]
            else:
                self.note((*path, "format"), f"unknown format {raw['format']!r} kept as an annotation (not checked)")

    def _regex(self, pattern: str, path: Path) -> str:
        """A ``pattern`` or ``patternProperties`` key: an ECMA-262 regular expression that the generated
        code can check exactly and in linear time (see :mod:`regex`), or an error naming why not."""
        try:
            regex.check(pattern)
        except regex.RegexError as exc:
            raise self.error(path, f"pattern {pattern!r} is not a valid ECMA-262 regular expression: {exc}") from None
        except regex.UnsupportedRegexError as exc:
            raise self.error(path, f"pattern {pattern!r} is not supported: {exc}") from None
        return pattern

    def _read_arrays(self, node: Node, raw: dict[str, Any], path: Path) -> None:
        items = raw.get("items")
        if isinstance(items, list):  # draft 4 to 2019-09: a tuple of item schemas
            node.prefix_items = tuple(self._node(r, (*path, "items", i), "items") for i, r in enumerate(items))
            if "additionalItems" in raw:
                node.items = self._node(raw["additionalItems"], (*path, "additionalItems"), "items")
        elif "items" in raw:
            node.items = self._node(items, (*path, "items"), "items")
        if "prefixItems" in raw:
            node.prefix_items = tuple(
                self._node(r, (*path, "prefixItems", i), "items") for i, r in enumerate(raw["prefixItems"])
            )
        node.min_items, node.max_items = raw.get("minItems"), raw.get("maxItems")
        node.unique_items = raw.get("uniqueItems") is True
        if "contains" in raw:
            node.contains = self._node(raw["contains"], (*path, "contains"), "contains")
            node.min_contains = raw.get("minContains")
            node.max_contains = raw.get("maxContains")
        if "unevaluatedItems" in raw:
            node.unevaluated_items = self._node(raw["unevaluatedItems"], (*path, "unevaluatedItems"), "items")

    def _read_objects(self, node: Node, raw: dict[str, Any], path: Path, context: str) -> None:
        for name, sub in raw.get("properties", {}).items():
            node.properties[name] = self._node(sub, (*path, "properties", name), "properties")
        node.required = tuple(dict.fromkeys(raw.get("required", ())))
        if node.properties:  # a required name the properties do not list is a property of any value
            for name in node.required:
                node.properties.setdefault(name, Node(json_pointer(self.base + path) + "/required"))
        if "additionalProperties" in raw:
            node.additional = self._node(
                raw["additionalProperties"], (*path, "additionalProperties"), "additionalProperties"
            )
        for pattern, sub in raw.get("patternProperties", {}).items():
            self._regex(pattern, (*path, "patternProperties", pattern))
            node.pattern_properties[pattern] = self._node(
                sub, (*path, "patternProperties", pattern), "patternProperties"
            )
        if "propertyNames" in raw:
            node.property_names = self._node(raw["propertyNames"], (*path, "propertyNames"), "propertyNames")
        node.min_properties, node.max_properties = raw.get("minProperties"), raw.get("maxProperties")
        node.dependent_required = {k: tuple(v) for k, v in raw.get("dependentRequired", {}).items()}
        for keyword in ("dependentSchemas", "dependencies"):  # draft 7's dependencies: names or a schema
            for name, sub in raw.get(keyword, {}).items():
                if isinstance(sub, list):
                    node.dependent_required[name] = tuple(sub)
                else:
                    node.dependent_schemas[name] = self._node(sub, (*path, keyword, name), keyword)
        if "unevaluatedProperties" in raw:
            node.unevaluated_properties = self._node(
                raw["unevaluatedProperties"], (*path, "unevaluatedProperties"), "additionalProperties"
            )
        # The closing rule (README, "Closed objects"): an object schema with properties and no word on
        # other keys accepts no other keys, except in place (a branch of allOf, if/then/else, not, a
        # dependent schema), where siblings add properties. What its branches, $ref targets and
        # conditional schemas declare are known keys too.
        speaks = ("additionalProperties", "patternProperties", "unevaluatedProperties")
        closes = node.properties and not any(keyword in raw for keyword in speaks)
        if closes and context not in IN_PLACE:
            node.additional = Node(json_pointer(self.base + path) + "/additionalProperties", never=True)
            declared = self._declared_names(raw, path, set())
            node.known_names = tuple(name for name in declared if name not in node.properties)
        if self._is_model(node, raw, context):
            model = ObjectModel(self._class_name(self._name_hint(path, context)), node, [])
            node.model = model
            self.models.append(model)

    def _declared_names(self, raw: Any, path: Path, seen: set[Path]) -> list[str]:
        """The property names a schema declares: its ``properties`` and ``required``, and those of its
        ``allOf``/``anyOf``/``oneOf`` branches, conditional schemas and ``$ref`` targets."""
        if not isinstance(raw, dict) or path in seen:
            return []
        seen.add(path)
        names = [*raw.get("properties", {}), *raw.get("required", ())]
        for keyword in ("allOf", "anyOf", "oneOf"):
            for index, branch in enumerate(raw.get(keyword, ())):
                names += self._declared_names(branch, (*path, keyword, index), seen)
        for keyword in ("if", "then", "else"):
            if keyword in raw:
                names += self._declared_names(raw[keyword], (*path, keyword), seen)
        for keyword in ("dependentSchemas", "dependencies"):
            for name, sub in raw.get(keyword, {}).items():
                names += self._declared_names(sub, (*path, keyword, name), seen)
        if isinstance(raw.get("$ref"), str):
            target = self._resolve(raw["$ref"], path)
            names += self._declared_names(self._at(target), target, seen)
        return list(dict.fromkeys(names))

    def _is_model(self, node: Node, raw: dict[str, Any], context: str) -> bool:
        """Does this object node become a dataclass (rather than a validated ``dict``)?"""
        untyped_root = context == "root" and node.types is None and bool(node.properties)  # an object all the same
        if not untyped_root and (
            context in IN_PLACE or node.types is None or not {"object"} <= set(node.types) <= {"object", "null"}
        ):
            return False
        if node.enum is not None or node.never:
            return False
        if not (node.additional is not None and node.additional.never):
            return False
        if node.pattern_properties or node.property_names or node.dependent_required or node.dependent_schemas:
            return False
        if node.min_properties is not None or node.max_properties is not None or node.known_names:
            return False
        conditional = ("anyOf", "oneOf", "allOf", "not", "if", "$ref", "unevaluatedProperties", "unevaluatedItems")
        if node.any_of or node.one_of or node.all_of or node.not_ or any(key in raw for key in conditional):
            return False
        return bool(node.properties) or context == "root"

    def _read_combinators(self, node: Node, raw: dict[str, Any], path: Path) -> None:
        for keyword, attribute in (("anyOf", "any_of"), ("oneOf", "one_of"), ("allOf", "all_of")):
            if keyword in raw:
                branches = tuple(self._node(r, (*path, keyword, i), keyword) for i, r in enumerate(raw[keyword]))
                setattr(node, attribute, (*getattr(node, attribute), *branches))
        if "not" in raw:
            node.not_ = self._node(raw["not"], (*path, "not"), "not")
        if "if" in raw:  # then and else without if have no effect
            node.if_ = self._node(raw["if"], (*path, "if"), "if")
            node.then = self._node(raw["then"], (*path, "then"), "then") if "then" in raw else None
            node.else_ = self._node(raw["else"], (*path, "else"), "else") if "else" in raw else None
        if node.any_of or node.one_of or node.all_of or node.not_ or node.if_:
            self._drop_model(node)

    def _drop_model(self, node: Node) -> None:
        if node.model is not None:
            self.models.remove(node.model)
            node.model = None

    # --- names -------------------------------------------------------------------------------------

    @staticmethod
    def _name_hint(path: Path, context: str) -> str:
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
