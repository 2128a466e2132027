"""IR nodes → straight-line Python that validates a value, and the type annotation that goes with it.

The emitted statements check one local variable, append an ``ErrorDetail`` to ``_e`` for every
violation, and may rebind the variable to its normalised value (``2.0`` → ``2`` for an integer, a copied
list, a dict turned into its nested dataclass). Builtins are reached through ``_``-prefixed module aliases
(``_isinstance``, ``_len``...), so a field may be called ``type`` or ``len`` without shadowing anything.

The hot path stays inline in ``__init__``; only what needs an error list of its own (``anyOf``, ``oneOf``,
``not``, ``contains``) becomes a module-level ``_check_N`` function.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from . import regex
from .ir import MEDIA_ARRAY_FORMATS, Node
from .literals import py_literal, py_tuple

INDENT = "    "
MAX_INLINE_DEPTH = 6  # nested arrays/objects checked inline; deeper ones go to _check_N functions
MAX_LITERAL_VALUES = 256

TYPE_TESTS = {
    "null": "{v} is None",
    "boolean": "{v} is True or {v} is False",
    "integer": "_type({v}) is _int or _v.is_integer({v})",
    # a finite float (``v - v`` is NaN for NaN and the infinities, which JSON cannot carry), an int, or
    # (rarely) an int or float subclass, which ``is_number`` checks the same way
    "number": "(_type({v}) is _float and {v} - {v} == 0.0) or _type({v}) is _int or _v.is_number({v})",
    "string": "_isinstance({v}, _str)",
    # any Sequence but a str; a list first, with no tuple of types built at each call
    "array": "_type({v}) is _list or _isinstance({v}, _tuple) or _v.is_array({v})",
    "object": "_isinstance({v}, _dict) or _v.is_mapping({v})",
}
TYPE_WORDS = {
    "null": "null",
    "boolean": "a boolean",
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "array": "an array",
    "object": "an object",
}
PY_TYPES = {"null": "None", "boolean": "bool", "integer": "int", "number": "float", "string": "str"}
MEDIA_WORDS = {"image": "an image", "video": "a video", "audio": "an audio"}
# The standard formats: the ``runcomfy._formats`` function that checks a string, and what it expects.
FORMAT_CHECKS = {
    "date-time": ("is_date_time", "an RFC 3339 date-time (2024-01-31T12:00:00Z)"),
    "date": ("is_date", "an RFC 3339 full-date (2024-01-31)"),
    "time": ("is_time", "an RFC 3339 full-time with an offset (12:00:00Z)"),
    "duration": ("is_duration", "an ISO 8601 duration (P1DT2H, PT30S)"),
    "email": ("is_email", "an email address"),
    "hostname": ("is_hostname", "an RFC 1123 host name"),
    "idn-hostname": ("is_idn_hostname", "an internationalized host name (IDNA2008)"),
    "ipv4": ("is_ipv4", "an IPv4 address (dotted quad)"),
    "ipv6": ("is_ipv6", "an IPv6 address"),
    "uri": ("is_uri", "an absolute URI (RFC 3986)"),
    "uri-reference": ("is_uri_reference", "a URI reference (RFC 3986)"),
    "uuid": ("is_uuid", "a UUID (RFC 4122)"),
    "regex": ("is_regex", "a valid regular expression"),
}


def effective_types(node: Node) -> tuple[str, ...] | None:
    """The node's types with ``integer`` folded into ``number`` when both are allowed."""
    if node.types is None:
        return None
    if "number" in node.types:
        return tuple(t for t in node.types if t != "integer")
    return node.types


def describe(node: Node) -> str:
    """What a node accepts, in a few words, for error messages and docstrings."""
    if node.never:
        return "no value"
    if node.ref is not None:
        return f"a value valid against {node.ref.pointer or '/'}"
    if node.enum is not None:
        return one_of_text(node.enum)
    if node.model is not None:
        text = f"a {node.model.class_name} object"
        return text + " or null" if node.types and "null" in node.types else text
    if node.format in ("image_uri", "video_uri", "audio_uri"):
        return media_text(node.format)
    types = effective_types(node)
    if types is None:
        branches = node.any_of or node.one_of
        return " or ".join(describe(b) for b in branches) if branches else "any value"
    return " or ".join(TYPE_WORDS[t] for t in types)


def one_of_text(values: tuple[Any, ...]) -> str:
    shown = ", ".join(py_literal(v) for v in values[:12])
    more = f", ... ({len(values) - 12} more)" if len(values) > 12 else ""
    return f"{py_literal(values[0])}" if len(values) == 1 else f"one of {shown}{more}"


def media_text(fmt: str) -> str:
    kind = fmt.split("_")[0]
    return f"{MEDIA_WORDS[kind]} URL (https://, http://) or data:{kind}/...;base64, URI"


MEDIA_FORMATS = ("image_uri", "video_uri", "audio_uri")


def annotation(node: Node, *, local: bool = False) -> str:
    """The Python type of values the node accepts (``local``: as a parameter, where media fields also
    take local files, and arrays and objects are any ``Sequence`` and ``Mapping``: they are copied into a
    ``list`` and a ``dict``)."""
    return " | ".join(annotation_members(node, local=local))


def annotation_members(node: Node, *, local: bool = False) -> list[str]:
    """The members of the node's type union, each a whole annotation: unions are built from these
    lists, never by splitting text (an enum value may well contain " | ")."""
    if node.never or node.ref is not None:
        return ["Any"]
    nullable = node.types is not None and "null" in node.types
    if local and node.format in MEDIA_FORMATS and node.types is not None and set(node.types) <= {"string", "null"}:
        return ["str", "LocalMedia"] + (["None"] if nullable else [])
    if node.model is not None:
        return [node.model.class_name] + (["None"] if nullable else [])
    if node.enum is not None and len(node.enum) <= MAX_LITERAL_VALUES:
        literal = [v for v in node.enum if v is None or isinstance(v, (str, int))]
        if len(literal) == len(node.enum):
            values = [v for v in literal if v is not None]
            members = [f"Literal[{', '.join(py_literal(v) for v in values)}]"] if values else []
            return members + (["None"] if None in node.enum else [])
    types = effective_types(node)
    if types is None:
        branches = node.any_of or node.one_of
        return _union([annotation_members(b) for b in branches]) if branches else ["Any"]
    members = []
    for kind in types:
        if kind == "array":
            items = annotation(node.items, local=local) if node.items is not None and not node.prefix_items else "Any"
            members.append(f"{'Sequence' if local else 'list'}[{items}]")
        elif kind == "object":
            members.append("Mapping[str, Any]" if local else "dict[str, Any]")
        else:
            members.append(PY_TYPES[kind])
    return _union([members])


def _union(groups: list[list[str]]) -> list[str]:
    unique = list(dict.fromkeys(member for group in groups for member in group))
    if "Any" in unique or not unique:
        return ["Any"]
    return unique


def needs_conversion(node: Node) -> bool:
    """Whether ``to_dict`` has to walk the value (nested dataclasses, copies of containers)."""
    types = node.types
    if node.ref is not None:
        return True
    return not (types is not None and set(types) <= {"null", "boolean", "integer", "number", "string"})


@dataclasses.dataclass
class Path:
    """A path expression under construction: code parts of a tuple (``'"loras"'``, ``'_i1'``, ``'*_p'``)."""

    parts: tuple[str, ...]

    def child(self, part: str) -> Path:
        return Path((*self.parts, part))

    def code(self) -> str:
        if not self.parts:
            return "()"
        return "(" + ", ".join(self.parts) + ("," if len(self.parts) == 1 else "") + ")"


class Emitter:
    """Collects the module-level constants and helper functions that emitted checks refer to."""

    def __init__(self) -> None:
        self.constants: list[tuple[str, str]] = []  # (name, Python expression)
        self.functions: list[list[str]] = []
        self._function_names: dict[int, str] = {}
        self._seen_names: dict[tuple[int, str, bool], str] = {}
        self._counter = 0

    # --- module-level support ----------------------------------------------------------------------

    def _name(self, prefix: str) -> str:
        self._counter += 1
        return f"_{prefix}{self._counter}"

    def constant(self, prefix: str, expression: str) -> str:
        for name, existing in self.constants:
            if existing == expression and name.startswith("_" + prefix):
                return name
        name = self._name(prefix)
        self.constants.append((name, expression))
        return name

    def function(self, node: Node) -> str:
        """A ``_check_N(v, _p, _e) -> value`` function for a sub-schema checked with its own errors."""
        if id(node) in self._function_names:
            return self._function_names[id(node)]
        name = self._name("check_")
        self._function_names[id(node)] = name
        body = self.check(node, "v", Path(("*_p",)), depth=0)
        lines = [f"def {name}(v: Any, _p: tuple[str | int, ...], _e: list[_E]) -> Any:"]
        lines += [INDENT + line for line in body] + [INDENT + "return v"]
        self.functions.append(lines)
        return name

    def pattern_search(self, pattern: str) -> str:
        """The constant holding a callable that is truthy when the ECMA-262 ``pattern`` matches a string:
        an equivalent Python ``re`` search where that is linear, else the runtime's linear matcher."""
        translation = regex.translate(pattern)
        if translation.python is not None:
            return self.constant("PATTERN", f"_re.compile({py_literal(translation.python)}).search")
        return self.constant("PATTERN", f"_rx.Matcher({py_literal(translation.program)}).search")

    def media_invalid(self, kind: str, var: str, *, typed: bool) -> str:
        """A test that is true when ``var`` is not a valid media URI (``typed``: it is known to be a str).

        A plain ``https://host...`` URL is recognised with string methods (no whitespace: printable and no
        space); anything else goes to the full pattern, which alone decides."""
        match = self.constant("MEDIA_", f"_v.MEDIA_URI[{py_literal(kind)}].fullmatch")
        fast = f'{var}[:8] == "https://" and {var}[8:9] not in "/?#" and {var}.isprintable() and " " not in {var}'
        invalid = f"not ({fast}) and {match}({var}) is None"
        return invalid if typed else f"_type({var}) is not _str or ({invalid})"

    # --- statements --------------------------------------------------------------------------------

    def error(self, path: Path, var: str, expected: str) -> str:
        return f"_e.append(_E({path.code()}, {var}, {py_literal(expected)}))"

    def check(self, node: Node, var: str, path: Path, depth: int, store: str | None = None) -> list[str]:
        """Statements that validate ``var`` against ``node``. ``store`` is where ``var`` came from (a list
        item, a dict value), written when a local file in a media field becomes its data: URI."""
        if depth >= MAX_INLINE_DEPTH:  # deep schemas: a function per level keeps Python's block limits
            target = f"{var} = {store}" if store else var
            return [f"{target} = {self.function(node)}({var}, {path.code()}, _e)"]
        if node.never:
            return [self.error(path, var, "no value (the schema allows none here)")]
        if node.ref is not None:  # a recursive reference: the target's function checks it
            target = f"{var} = {store}" if store else var
            return [f"{target} = {self.function(node.ref)}({var}, {path.code()}, _e)"]
        if node.format in MEDIA_FORMATS and node.types is None:  # untyped: convert a local file first
            return [
                f"if not _isinstance({var}, _str) and _v.is_local({var}):",
                INDENT + self.local_media(node, var, path, store),
                *self._checks(node, var, path, depth, store),
            ]
        return self._checks(node, var, path, depth, store)

    def local_media(self, node: Node, var: str, path: Path, store: str | None) -> str:
        """A local file (Path, bytes, PIL image) in a media field becomes its data: URI, valid by
        construction; one that cannot be sent has its error recorded."""
        assert node.format is not None
        kind = py_literal(node.format.split("_")[0])
        target = f"{var} = {store}" if store else var
        return f"{target} = _v.local_media({var}, {kind}, {self.rules(node)}, {path.code()}, _e)"

    def rules(self, node: Node) -> str:
        """The constant holding a node's RunComfy ``validations`` (checked on local files)."""
        return self.constant("RULES", py_tuple(node.validations)) if node.validations else "()"

    def _checks(self, node: Node, var: str, path: Path, depth: int, store: str | None = None) -> list[str]:
        lines: list[str] = []
        types = effective_types(node)
        branches = self._typed_branches(node, var, path, depth, types)
        enum_line = self._enum_guard(node, var, path, types)
        chain = [enum_line] if enum_line else []
        if types is not None:
            for kind, body in branches:
                chain.append((self._type_test(node, kind, var), body))
            if node.format in MEDIA_FORMATS and "string" in types:
                chain.append((f"_v.is_local({var})", [self.local_media(node, var, path, store)]))
            chain.append(("else", [self.error(path, var, describe(node))]))
        lines += self._if_chain(chain)
        if types is None:
            for kind, body in branches:
                if body:
                    lines += self._if_chain([(self._type_test(node, kind, var), body)])
        lines += self._combinators(node, var, path, depth, store)
        return lines

    @staticmethod
    def _type_test(node: Node, kind: str, var: str) -> str:
        if kind == "object" and node.model is not None:
            return f"_isinstance({var}, ({node.model.class_name}, _dict)) or _v.is_mapping({var})"
        if kind == "integer" and not node.integral_floats:  # draft 4: 2.0 is not an integer
            return f"_type({var}) is _int or _v.is_int({var})"
        return TYPE_TESTS[kind].format(v=var)

    def _if_chain(self, chain: list[Any]) -> list[str]:
        if len(chain) == 2 and chain[1][0] == "else" and not chain[0][1]:
            # "if <valid>: pass / else: <error>" reads (and runs) better as "if not <valid>: <error>".
            return [f"if not ({chain[0][0]}):", *(INDENT + line for line in chain[1][1])]
        lines: list[str] = []
        for index, (test, body) in enumerate(chain):
            if test == "else":
                if index == 0:
                    return body  # pragma: no cover - a type list is never empty
                lines.append("else:")
            else:
                lines.append(f"{'if' if index == 0 else 'elif'} {test}:")
            lines += [INDENT + line for line in (body or ["pass"])]
        return lines

    def _enum_guard(self, node: Node, var: str, path: Path, types: tuple[str, ...] | None) -> Any:
        """A generic enum check, for enums the typed branches cannot check by set membership."""
        if node.enum is None or self._typed_enum_kind(node, types):
            return None
        values = self.constant("ENUM", py_tuple(node.enum))
        return (
            f"not _v.json_in({var}, {values})",
            [f"_e.append(_E({path.code()}, {var}, choices={values}))"],
        )

    @staticmethod
    def _typed_enum_kind(node: Node, types: tuple[str, ...] | None) -> str | None:
        """The type under which the enum can be checked with a set: one scalar type (and maybe null)."""
        if node.enum is None or types is None:
            return None
        scalar = [t for t in types if t != "null"]
        if len(scalar) != 1 or scalar[0] not in ("string", "integer", "number"):
            return None
        if "null" in types and None not in node.enum:
            return None
        return scalar[0]

    def _typed_branches(
        self, node: Node, var: str, path: Path, depth: int, types: tuple[str, ...] | None
    ) -> list[tuple[str, list[str]]]:
        """(type, statements) pairs: the constraints that apply to values of each JSON type."""
        if types is None:
            groups = [
                ("number", self._numeric(node, var, path, "a number")),
                ("string", self._string(node, var, path)),
                ("array", self._array(node, var, path, depth) if _has_array_keywords(node) else []),
                ("object", self._object(node, var, path, depth) if _has_object_keywords(node) else []),
            ]
            return [(kind, body) for kind, body in groups if body]
        enum_kind = self._typed_enum_kind(node, types)
        out: list[tuple[str, list[str]]] = []
        for kind in types:
            body: list[str] = []
            if kind == "integer":
                body += [f"if _type({var}) is not _int:", f"{INDENT}{var} = _v.to_int({var})"]
                body += self._numeric(node, var, path, "an integer")
            elif kind == "number":
                body += self._numeric(node, var, path, "a number")
            elif kind == "string":
                body += self._string(node, var, path)
            elif kind == "array":
                body += self._array(node, var, path, depth)
            elif kind == "object":
                body += self._object(node, var, path, depth)
            if enum_kind == kind:
                body = self._enum_membership(node, var, path, kind) + body
            out.append((kind, body))
        return out

    def _enum_membership(self, node: Node, var: str, path: Path, kind: str) -> list[str]:
        assert node.enum is not None
        ordered = self.constant("ENUM", py_tuple(node.enum))
        members = [v for v in node.enum if not isinstance(v, bool) and v is not None]
        if kind == "string":
            members = [v for v in members if isinstance(v, str)]
        else:
            members = [v for v in members if isinstance(v, (int, float))]
        allowed = self.constant(
            "ENUM",
            f"frozenset({ordered})" if members == list(node.enum) else f"frozenset({py_tuple(members)})",
        )
        return [
            f"if {var} not in {allowed}:",
            INDENT + f"_e.append(_E({path.code()}, {var}, choices={ordered}))",
        ]

    def _numeric(self, node: Node, var: str, path: Path, word: str) -> list[str]:
        lines: list[str] = []
        failing, text = [], []
        for value, op, shown in (
            (node.minimum, "<", ">="),
            (node.exclusive_minimum, "<=", ">"),
            (node.maximum, ">", "<="),
            (node.exclusive_maximum, ">=", "<"),
        ):
            if value is not None:
                failing.append(f"{var} {op} {py_literal(value)}")
                text.append(f"{shown} {py_literal(value)}")
        if failing:
            lines.append(f"if {' or '.join(failing)}:")
            lines.append(INDENT + self.error(path, var, f"{word} {' and '.join(text)}"))
        if node.multiple_of is not None:
            lines.append(f"if not _v.is_multiple_of({var}, {py_literal(node.multiple_of)}):")
            lines.append(INDENT + self.error(path, var, f"a multiple of {py_literal(node.multiple_of)}"))
        return lines

    def _length(self, var: str, path: Path, low: int | None, high: int | None, what: str, unit: str) -> list[str]:
        """One check of ``len(var)`` against min/max (length, items or properties)."""
        if low is None and high is None:
            return []
        if low is not None and high is not None:  # one len() call: a chained comparison
            test = f"not ({low} <= _len({var}) <= {high})"
        else:
            test = f"_len({var}) < {low}" if low is not None else f"_len({var}) > {high}"
        plural = "properties" if unit == "property" else unit + "s"
        if low is not None and high is not None:
            text = f"{what} of {low} to {high} {plural}"
        else:
            bound = low if low is not None else high
            text = f"{what} of {'at least' if low is not None else 'at most'} {bound} {unit if bound == 1 else plural}"
        return [f"if {test}:", INDENT + self.error(path, var, text)]

    def _string(self, node: Node, var: str, path: Path) -> list[str]:
        lines: list[str] = []
        lines += self._length(var, path, node.min_length, node.max_length, "a string", "character")
        if node.pattern is not None:
            lines += [f"if not {self.pattern_search(node.pattern)}({var}):"]
            lines += [INDENT + self.error(path, var, f"a string matching the pattern {node.pattern!r}")]
        if node.format in ("image_uri", "video_uri", "audio_uri"):
            test = self.media_invalid(node.format.split("_")[0], var, typed=True)
            lines += [f"if {test}:", INDENT + self.error(path, var, media_text(node.format))]
        elif node.format in FORMAT_CHECKS:
            function, expected = FORMAT_CHECKS[node.format]
            lines += [f"if not _f.{function}({var}):", INDENT + self.error(path, var, expected)]
        return lines

    def _array(self, node: Node, var: str, path: Path, depth: int) -> list[str]:
        lines = [f"{var} = _list({var})"]
        lines += self._length(var, path, node.min_items, node.max_items, "an array", "item")
        if node.unique_items:
            lines += [
                f"if not _v.is_unique({var}):",
                INDENT + self.error(path, var, "an array of unique items"),
            ]
        index, item = f"_i{depth + 1}", f"_x{depth + 1}"
        for position, sub in enumerate(node.prefix_items):
            body = self.check(sub, item, path.child(str(position)), depth + 1, f"{var}[{position}]")
            lines += [f"if _len({var}) > {position}:", f"{INDENT}{item} = {var}[{position}]"]
            lines += [INDENT + line for line in body] + [f"{INDENT}{var}[{position}] = {item}"]
        if node.format in ("image_uris", "video_uris", "audio_uris"):
            kind = node.format.split("_")[0]
            item_path = path.child(index)
            local = f"_v.local_media({item}, {py_literal(kind)}, {self.rules(node)}, {item_path.code()}, _e)"
            lines += [f"for {index}, {item} in _enumerate({var}):"]
            lines += [f"{INDENT}if _type({item}) is _str:"]
            lines += [f"{INDENT * 2}if {self.media_invalid(kind, item, typed=True)}:"]
            lines += [INDENT * 3 + self.error(item_path, item, media_text(kind + "_uri"))]
            lines += [f"{INDENT}elif _v.is_local({item}):", f"{INDENT * 2}{var}[{index}] = {local}"]
            lines += [f"{INDENT}else:", INDENT * 2 + self.error(item_path, item, media_text(kind + "_uri"))]
        if node.items is not None and not (node.items.types is None and not _constrains(node.items)):
            body = self.check(node.items, item, path.child(index), depth + 1, f"{var}[{index}]")
            start = len(node.prefix_items)
            source = f"_enumerate({var}[{start}:], {start})" if start else f"_enumerate({var})"
            lines += [f"for {index}, {item} in {source}:"]
            lines += [INDENT + line for line in body]
            if may_rebind(node.items):
                lines += [f"{INDENT}{var}[{index}] = {item}"]
        if node.contains is not None:
            check = self.function(node.contains)
            low = 1 if node.min_contains is None else node.min_contains
            lines += [f"_v.check_contains({var}, {path.code()}, _e, {check}, {low}, {py_literal(node.max_contains)})"]
        return lines

    def _object(self, node: Node, var: str, path: Path, depth: int) -> list[str]:
        if node.model is not None:
            cls = node.model.class_name
            return [
                f"if not _isinstance({var}, {cls}):",
                f"{INDENT}{var} = _v.build({cls}, {var}, {path.code()}, _e)",
            ]
        lines = [f"{var} = _v.as_dict({var})"]
        key, item = f"_k{depth + 1}", f"_x{depth + 1}"
        for name in node.required:
            lines += [f"if {py_literal(name)} not in {var}:"]
            lines += [
                INDENT
                + f"_e.append(_E({path.child(py_literal(name)).code()}, _v.MISSING, 'a value (required property)'))"
            ]
        for name, sub in node.properties.items():
            body = self.check(sub, item, path.child(py_literal(name)), depth + 1, f"{var}[{py_literal(name)}]")
            if not body:
                continue
            lines += [f"if {py_literal(name)} in {var}:", f"{INDENT}{item} = {var}[{py_literal(name)}]"]
            lines += [INDENT + line for line in body]
            if may_rebind(sub):
                lines += [f"{INDENT}{var}[{py_literal(name)}] = {item}"]
        for source, targets in node.dependent_required.items():
            for target in targets:
                lines += [f"if {py_literal(source)} in {var} and {py_literal(target)} not in {var}:"]
                lines += [
                    INDENT
                    + f"_e.append(_E({path.child(py_literal(target)).code()}, _v.MISSING, "
                    + py_literal(f"a value (required when {source!r} is given)")
                    + "))"
                ]
        for source, schema in node.dependent_schemas.items():
            lines += [
                f"if {py_literal(source)} in {var}:",
                f"{INDENT}{self.function(schema)}({var}, {path.code()}, _e)",
            ]
        lines += self._length(var, path, node.min_properties, node.max_properties, "an object", "property")
        if node.property_names is not None:
            check = self.function(node.property_names)
            lines += [f"for {key} in {var}:", f"{INDENT}{check}({key}, {path.code()}, _e)"]
        extra = node.additional
        if node.pattern_properties or extra is not None:
            known = self.constant("KEYS", f"frozenset({py_tuple([*node.properties, *node.known_names])})")
            lines += [f"for {key}, {item} in {var}.items():"]
            matched = f"_m{depth + 1}"
            inner: list[str] = [f"{matched} = {key} in {known}"] if extra is not None else []
            for pattern, sub in node.pattern_properties.items():
                sub_body = self.check(sub, item, path.child(key), depth + 1, f"{var}[{key}]")
                inner += [f"if {self.pattern_search(pattern)}({key}):"]
                inner += [INDENT + f"{matched} = True"] if extra is not None else []
                inner += [INDENT + line for line in sub_body] or [INDENT + "pass"]
                if may_rebind(sub):
                    inner += [f"{INDENT}{var}[{key}] = {item}"]
            if extra is not None:
                if extra.never:
                    inner += [
                        f"if not {matched}:",
                        INDENT + self.error(path.child(key), item, "no such property"),
                    ]
                else:
                    extra_body = self.check(extra, item, path.child(key), depth + 1, f"{var}[{key}]") or ["pass"]
                    inner += [f"if not {matched}:"] + [INDENT + line for line in extra_body]
                    if may_rebind(extra):
                        inner += [f"{INDENT}{var}[{key}] = {item}"]
            lines += [INDENT + line for line in inner]
        return lines

    def _combinators(self, node: Node, var: str, path: Path, depth: int, store: str | None) -> list[str]:
        lines: list[str] = []
        for branch in node.all_of:
            lines += self.check(branch, var, path, depth, store)
        for keyword, branches in (("any_of", node.any_of), ("one_of", node.one_of)):
            if branches:
                names = ", ".join(self.function(b) for b in branches)
                expected = " or ".join(describe(b) for b in branches)
                word = "at least one" if keyword == "any_of" else "exactly one"
                text = py_literal(f"a value matching {word} of: {expected}")
                lines.append(f"{var} = _v.{keyword}({var}, {path.code()}, _e, ({names},), {text})")
        if node.not_ is not None:
            name = self.function(node.not_)
            text = py_literal(f"a value that is not {describe(node.not_)}")
            lines.append(f"_v.not_({var}, {path.code()}, _e, {name}, {text})")
        if node.if_ is not None and (node.then is not None or node.else_ is not None):
            names = [self.function(n) if n is not None else "None" for n in (node.if_, node.then, node.else_)]
            lines.append(f"{var} = _v.if_then_else({var}, {path.code()}, _e, {', '.join(names)})")
        if node.unevaluated_properties is not None:
            seen, check = self.evaluated(node, "properties", top=True), self.function(node.unevaluated_properties)
            lines.append(f"_v.unevaluated_properties({var}, {path.code()}, _e, {seen}, {check})")
        if node.unevaluated_items is not None:
            seen, check = self.evaluated(node, "items", top=True), self.function(node.unevaluated_items)
            lines.append(f"_v.unevaluated_items({var}, {path.code()}, _e, {seen}, {check})")
        return lines

    # --- unevaluatedProperties / unevaluatedItems ----------------------------------------------------

    def evaluated(self, node: Node, kind: str, *, top: bool = False) -> str:
        """A ``_seen_N(v) -> set`` function: the keys (``kind`` "properties") or indices ("items") of
        ``v`` that ``node`` and its valid in-place subschemas evaluate (JSON Schema's annotations).
        ``top``: for the node whose own ``unevaluated*`` keyword asks (which then does not count)."""
        key = (id(node), kind, top)
        if key in self._seen_names:
            return self._seen_names[key]
        name = self._name("seen_")
        self._seen_names[key] = name
        body = self._evaluated_body(node, kind, top)
        lines = [f"def {name}(v: Any) -> set[Any]:"] + [INDENT + line for line in body]
        self.functions.append(lines)
        return name

    def _evaluated_body(self, node: Node, kind: str, top: bool) -> list[str]:
        if node.ref is not None:
            return [f"return {self.evaluated(node.ref, kind)}(v)"]
        if kind == "properties":
            lines = ["if not (_isinstance(v, _dict) or _v.is_mapping(v)):", INDENT + "return set()"]
            lines.append("v = _v.as_dict(v)")
            everything = node.additional is not None or (node.unevaluated_properties is not None and not top)
            if everything:
                return [*lines, "return set(v)"]
            keys = self.constant("KEYS", f"frozenset({py_tuple(list(node.properties))})")
            lines.append(f"s = {{k for k in v if k in {keys}}}")
            for pattern in node.pattern_properties:
                regex = self.constant("PATTERN", f"_re.compile({py_literal(pattern)})")
                lines.append(f"s.update(k for k in v if {regex}.search(k) is not None)")
        else:
            lines = ["if not _isinstance(v, (_list, _tuple)):", INDENT + "return set()"]
            everything = node.items is not None or (node.unevaluated_items is not None and not top)
            if everything:
                return [*lines, "return _v.indices(v)"]
            lines.append(f"s = _v.indices(v, {len(node.prefix_items)})")
            if node.contains is not None:
                lines.append(f"s.update(_v.matching(v, {self.function(node.contains)}))")
        for branch in node.all_of:
            lines.append(f"s |= {self.evaluated(branch, kind)}(v)")
        for branch in (*node.any_of, *node.one_of):
            lines.append(f"if _v.passes({self.function(branch)}, v):")
            lines.append(f"{INDENT}s |= {self.evaluated(branch, kind)}(v)")
        if node.if_ is not None:
            lines.append(f"if _v.passes({self.function(node.if_)}, v):")
            lines.append(f"{INDENT}s |= {self.evaluated(node.if_, kind)}(v)")
            if node.then is not None:
                lines.append(f"{INDENT}s |= {self.evaluated(node.then, kind)}(v)")
            if node.else_ is not None:
                lines += ["else:", f"{INDENT}s |= {self.evaluated(node.else_, kind)}(v)"]
        if kind == "properties":
            for source, schema in node.dependent_schemas.items():
                lines.append(f"if {py_literal(source)} in v:")
                lines.append(f"{INDENT}s |= {self.evaluated(schema, kind)}(v)")
        return [*lines, "return s"]


def _constrains(node: Node) -> bool:
    """Whether an untyped node checks anything at all (``{}`` and annotation-only nodes do not)."""
    return bool(
        node.never or node.enum is not None or node.any_of or node.one_of or node.all_of or node.not_
        or node.ref is not None or node.if_ is not None or node.unevaluated_properties is not None
        or node.unevaluated_items is not None or node.dependent_schemas
        or node.minimum is not None or node.maximum is not None or node.exclusive_minimum is not None
        or node.exclusive_maximum is not None or node.multiple_of is not None
        or node.min_length is not None or node.max_length is not None or node.pattern or node.format
        or node.items is not None or node.prefix_items or node.min_items is not None
        or node.max_items is not None or node.unique_items or node.contains is not None
        or node.properties or node.required or node.additional is not None or node.pattern_properties
        or node.property_names is not None or node.min_properties is not None
        or node.max_properties is not None or node.dependent_required
    )  # fmt: skip


def _has_array_keywords(node: Node) -> bool:
    return bool(
        node.items is not None or node.prefix_items or node.min_items is not None or node.max_items is not None
        or node.unique_items or node.contains is not None
        or node.format in MEDIA_ARRAY_FORMATS
    )  # fmt: skip


def _has_object_keywords(node: Node) -> bool:
    return bool(
        node.properties or node.required or node.additional is not None or node.pattern_properties
        or node.property_names is not None or node.min_properties is not None
        or node.max_properties is not None or node.dependent_required or node.dependent_schemas
    )  # fmt: skip


def may_rebind(node: Node) -> bool:
    """Whether checking a value may replace it (int coercion, container copy, dataclass build). A local
    file turned into a data: URI writes its container itself (see ``store``)."""
    if node.any_of or node.one_of or node.all_of or node.ref is not None or node.if_ is not None:
        return True
    types = node.types
    if types is None:
        return _constrains(node)
    return bool({"integer", "array", "object"} & set(types))
