"""The reference ("oracle") semantics the generated ``Input`` classes are tested against.

Plain JSON Schema as the ``jsonschema`` package implements it, plus exactly the documented deviations,
implemented here independently of the generator (nothing is imported from ``runcomfy_codegen``):

1. Closing rule: an object schema with non-empty ``properties`` and none of ``additionalProperties``,
   ``patternProperties``, ``unevaluatedProperties`` gets ``additionalProperties: false``, unless it applies
   in place (a branch of ``allOf``, ``if``/``then``/``else``, ``not``, a dependent schema); the names its
   ``required``, ``allOf``/``anyOf``/``oneOf`` branches, conditional schemas and ``$ref`` targets declare
   stay allowed.
2. OpenAPI ``nullable: true`` adds ``"null"`` to ``type`` (when present) and ``None`` to ``enum`` (when
   present).
3. The custom formats ``image_uri``/``video_uri``/``audio_uri`` and their ``*_uris`` list forms; the
   standard formats are asserted (checked here independently of ``runcomfy._formats``), other formats
   are annotations.
4. The draft comes from ``$schema``, 2020-12 by default.
5. ``pattern`` and ``patternProperties`` are ECMA-262 regular expressions (``u`` flag), not Python's: each is
   rewritten here into a Python ``re`` expression with the ECMA meaning (``$`` only at the very end, ASCII
   ``\\d``/``\\w``/``\\b``, ECMA's ``\\s``, ``.`` stopping at U+2028/U+2029, ``\\p{...}`` general categories) before
   ``jsonschema`` sees it. The rewrite is written independently of the generator's (a token rewrite, no
   syntax tree) and makes no attempt at linear time: the oracle runs only on test patterns.

Also here: hypothesis strategies for valid format values and JSON values, the mutations the differential
tests apply, and helpers that run the generated code and compare its verdict with the oracle's.
"""

from __future__ import annotations

import base64
import copy
import datetime
import functools
import ipaddress
import json
import math
import re
import string
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import idna
import jsonschema
import jsonschema.validators
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = ROOT / "schemas"
REFERENCE_OUTPUT_MODEL = "google/nano-banana-2/edit"  # its output_schema is the generic one


# --- schema files ----------------------------------------------------------------------------------


def schema_files() -> list[tuple[str, dict[str, Any]]]:
    """(model_id, file contents) of every schema file, sorted by model id."""
    found = []
    for path in sorted(SCHEMAS_DIR.rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found.append((data["model_id"], data))
    return sorted(found, key=lambda item: item[0])


# --- deviations 1 and 2: normalising a schema ------------------------------------------------------

# Keywords whose value is one schema, a list of schemas, or a name → schema mapping.
_ONE = ("additionalItems", "additionalProperties", "contains", "not", "propertyNames", "if", "then", "else",
        "unevaluatedItems", "unevaluatedProperties", "contentSchema")  # fmt: skip
_LIST = ("anyOf", "oneOf", "prefixItems")
_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


# Keywords whose subschemas apply to the very value of their parent: an object schema there stays open.
_IN_PLACE = ("allOf", "if", "then", "else", "not", "dependentSchemas", "dependencies")


def normalise(schema: Any) -> Any:
    """A copy of ``schema`` with the closing rule and ``nullable`` applied at every schema position."""
    return _normalise(schema, in_place=False, root=schema)


def _declared(node: Any, root: Any, seen: set[int]) -> list[str]:
    """The property names an object schema declares: its own and those of its in-place subschemas,
    ``anyOf``/``oneOf`` branches and local ``$ref`` targets (``#/...`` from the root)."""
    if not isinstance(node, dict) or id(node) in seen:
        return []
    seen.add(id(node))
    names = [*node.get("properties", {}), *node.get("required", [])]
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in node.get(key, []):
            names += _declared(branch, root, seen)
    for key in ("if", "then", "else"):
        names += _declared(node.get(key), root, seen)
    for key in ("dependentSchemas", "dependencies"):
        for sub in (node.get(key) or {}).values():
            names += _declared(sub, root, seen)
    names += _declared(_target(root, node.get("$ref")), root, seen)
    return names


def _target(root: Any, ref: Any) -> Any:
    """The subschema a local ``#/...`` reference points to (``None`` for any other reference)."""
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return None
    target: Any = root
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        target = target.get(token) if isinstance(target, dict) else None
    return target


_INLINING: list[int] = []  # targets being inlined (a reference back into one stays a reference)


# The keywords that check something (what makes a $ref's siblings more than annotations).
_VALIDATION = frozenset(
    {"type", "enum", "const", "nullable", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
     "multipleOf", "minLength", "maxLength", "pattern", "format", "items", "prefixItems", "additionalItems",
     "minItems", "maxItems", "uniqueItems", "contains", "minContains", "maxContains", "unevaluatedItems",
     "properties", "required", "additionalProperties", "patternProperties", "propertyNames", "minProperties",
     "maxProperties", "dependentRequired", "dependentSchemas", "dependencies", "unevaluatedProperties", "anyOf",
     "oneOf", "allOf", "not", "if", "then", "else"}
)  # fmt: skip


def _normalise(node: Any, *, in_place: bool, root: Any) -> Any:
    if not isinstance(node, dict):
        return copy.deepcopy(node)
    target = _target(root, node.get("$ref"))
    inlined = None
    if isinstance(target, dict) and (in_place or _VALIDATION & node.keys()) and id(target) not in _INLINING:
        # A $ref target applied in place (an allOf branch, beside other keywords) is not closed itself:
        # the same as an allOf branch holding a copy of it.
        _INLINING.append(id(target))
        try:
            inlined = _normalise(target, in_place=True, root=root)
        finally:
            _INLINING.pop()
        original, node = node, {key: value for key, value in node.items() if key != "$ref"}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "allOf" and isinstance(value, list):
            out[key] = [_normalise(branch, in_place=True, root=root) for branch in value]
        elif (key in _LIST and isinstance(value, list)) or (key == "items" and isinstance(value, list)):
            out[key] = [_normalise(branch, in_place=False, root=root) for branch in value]
        elif key == "patternProperties" and isinstance(value, dict):
            out[key] = {ecma_to_python(name): _normalise(sub, in_place=False, root=root) for name, sub in value.items()}
        elif key == "pattern" and isinstance(value, str):
            out[key] = ecma_to_python(value)
        elif key in (*_ONE, "items"):
            out[key] = _normalise(value, in_place=key in _IN_PLACE, root=root)
        elif (key in _MAP and isinstance(value, dict)) or (key == "dependencies" and isinstance(value, dict)):
            out[key] = {name: _normalise(sub, in_place=key in _IN_PLACE, root=root) for name, sub in value.items()}
        else:
            out[key] = copy.deepcopy(value)
    if inlined is not None:
        out["allOf"] = [*out.get("allOf", []), inlined]
        node = original
    if out.get("nullable") is True:
        if "type" in out:
            kinds = out["type"]
            kinds = [kinds] if isinstance(kinds, str) else list(kinds)
            if "null" not in kinds:
                kinds.append("null")
            out["type"] = kinds
        if isinstance(out.get("enum"), list) and not any(value is None for value in out["enum"]):
            out["enum"] = [*out["enum"], None]
    properties = out.get("properties")
    if (
        isinstance(properties, dict)
        and properties
        and not any(key in out for key in ("additionalProperties", "patternProperties", "unevaluatedProperties"))
        and not in_place
    ):
        out["additionalProperties"] = False
        for name in _declared(node, root, set()):  # required names and the branches' names are declared too
            properties.setdefault(name, {})
    return out


# --- deviation 5: ECMA-262 patterns ----------------------------------------------------------------

_ECMA_SPACE = "\t\n\v\f\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_ECMA_CLASSES = {"d": "0-9", "w": "A-Za-z0-9_", "s": _ECMA_SPACE}
_W = "[A-Za-z0-9_]"
_ECMA_ASSERTIONS = {
    "b": f"(?:(?<={_W})(?!{_W})|(?<!{_W})(?={_W}))",
    "B": f"(?:(?<={_W})(?={_W})|(?<!{_W})(?!{_W}))",
}
_CATEGORY_NAMES = {
    "Letter": "L", "Cased_Letter": "LC", "Uppercase_Letter": "Lu", "Lowercase_Letter": "Ll", "Titlecase_Letter": "Lt",
    "Modifier_Letter": "Lm", "Other_Letter": "Lo", "Mark": "M", "Number": "N", "Decimal_Number": "Nd", "digit": "Nd",
    "Letter_Number": "Nl", "Other_Number": "No", "Punctuation": "P", "punct": "P", "Symbol": "S", "Separator": "Z",
    "Space_Separator": "Zs", "Other": "C", "Control": "Cc", "cntrl": "Cc", "Format": "Cf", "Unassigned": "Cn",
    "Private_Use": "Co", "Surrogate": "Cs", "Math_Symbol": "Sm", "Currency_Symbol": "Sc",
}  # fmt: skip


def _python_escape(code: int) -> str:
    return f"\\U{code:08x}"


@functools.cache
def _category_ranges(name: str, negated: bool) -> str:
    """Class body (ranges) of the code points in (or, negated, not in) a general category."""
    short = _CATEGORY_NAMES.get(name.removeprefix("General_Category=").removeprefix("gc="), name)
    if short == "LC":
        wanted = ("Lu", "Ll", "Lt")
    elif len(short) in (1, 2) and short[0] in "CLMNPSZ":
        wanted = (short,)
    else:
        raise NotImplementedError(f"oracle: Unicode property {name!r}")
    body, start = [], None
    for code in range(0x110001):
        inside = code <= 0x10FFFF and unicodedata.category(chr(code)).startswith(wanted) != negated
        if inside and start is None:
            start = code
        elif not inside and start is not None:
            body.append(f"{_python_escape(start)}-{_python_escape(code - 1)}")
            start = None
    return "".join(body)


def _ecma_escape(pattern: str, index: int, in_class: bool) -> tuple[str, int]:
    """The Python text for the escape starting after the backslash at ``index - 1``, and where it ends."""
    char = pattern[index]
    if char.lower() in _ECMA_CLASSES:
        body = _ECMA_CLASSES[char.lower()]
        if char.islower():
            return (body if in_class else f"[{body}]"), index + 1
        if in_class:
            raise NotImplementedError("oracle: \\D, \\W or \\S inside a class")
        return f"[^{body}]", index + 1
    if char in "pP":
        end = pattern.index("}", index)
        body = _category_ranges(pattern[index + 2 : end], char == "P")
        return (body if in_class else f"[{body}]"), end + 1
    if char in "bB" and not in_class:
        return _ECMA_ASSERTIONS[char], index + 1
    if char == "b":
        return "\\x08", index + 1
    if char == "c":
        return f"\\x{ord(pattern[index + 1]) % 32:02x}", index + 2
    if char == "u" and pattern[index + 1] == "{":
        end = pattern.index("}", index)
        return _python_escape(int(pattern[index + 2 : end], 16)), end + 1
    if char == "u":
        lead = int(pattern[index + 1 : index + 5], 16)
        if 0xD800 <= lead < 0xDC00 and pattern[index + 5 : index + 7] == "\\u":
            trail = int(pattern[index + 7 : index + 11], 16)
            if 0xDC00 <= trail < 0xE000:
                return _python_escape(0x10000 + ((lead - 0xD800) << 10) + trail - 0xDC00), index + 11
        return _python_escape(lead), index + 5
    if char == "k":
        end = pattern.index(">", index)
        return f"(?P={pattern[index + 2 : end]})", end + 1
    if char == "/":
        return "/", index + 1
    return "\\" + char, index + 1


def ecma_to_python(pattern: str) -> str:
    """A Python ``re`` expression that matches what the ECMA-262 (``u``) ``pattern`` matches."""
    out: list[str] = []
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            text, index = _ecma_escape(pattern, index + 1, in_class)
            out.append(text)
            continue
        if in_class:
            in_class = char != "]"
            out.append("\\" + char if char in "[&~|" else char)
        elif pattern.startswith(("[]", "[^]"), index):
            out.append("(?!)" if pattern[index + 1] == "]" else "[\\s\\S]")
            index += 1 if pattern[index + 1] == "]" else 2
        elif char == "[":
            in_class = True
            out.append("[^" if pattern.startswith("[^", index) else "[")
            index += 1 if pattern.startswith("[^", index) else 0
        elif char == ".":
            out.append("[^\\n\\r\\u2028\\u2029]")
        elif char == "$":
            out.append("\\Z")
        elif pattern.startswith("(?<", index) and pattern[index + 3] not in "=!":
            out.append("(?P<")
            index += 2
        else:
            out.append(char)
        index += 1
    return "".join(out)


# --- deviation 3: formats --------------------------------------------------------------------------

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_ALNUM = frozenset(string.ascii_letters + string.digits)
_SUBTYPE_REST = _ALNUM | frozenset(".+-")
_BASE64 = _ALNUM | frozenset("+/")
_SCHEME_REST = _ALNUM | frozenset("+.-")


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def _has_space(text: str) -> bool:
    return any(char.isspace() for char in text)


def _is_http_url(text: str) -> bool:
    for scheme in ("https://", "http://"):
        head = text[: len(scheme)]
        if head.isascii() and _ascii_lower(head) == scheme:
            rest = text[len(scheme) :]
            cut = min((rest.index(c) for c in "/?#" if c in rest), default=len(rest))
            host, tail = rest[:cut], rest[cut:]
            return bool(host) and not _has_space(host) and not _has_space(tail)
    return False


def _is_data_uri(text: str, kind: str) -> bool:
    if not (text[:5].isascii() and _ascii_lower(text[:5]) == "data:"):  # scheme and ";base64": ASCII, any case
        return False
    head, comma, payload = text[len("data:") :].partition(",")
    if not comma:
        return False
    stripped = payload.rstrip("=")
    if not stripped or len(payload) - len(stripped) > 2 or not set(stripped) <= _BASE64:
        return False
    parts = head.split(";")
    if len(parts) < 2 or not parts[-1].isascii() or _ascii_lower(parts[-1]) != "base64":
        return False
    media_kind, slash, subtype = parts[0].partition("/")
    if not slash or not media_kind.isascii() or _ascii_lower(media_kind) != kind:
        return False
    if not subtype or subtype[0] not in _ALNUM or not set(subtype[1:]) <= _SUBTYPE_REST:
        return False
    for parameter in parts[1:-1]:
        name, equals, value = parameter.partition("=")
        if not equals or not name or not set(name) <= _SUBTYPE_REST or _has_space(value):
            return False
    return True


def is_media_uri(value: object, kind: str) -> bool:
    """The ``<kind>_uri`` format: a non-string passes (``type`` handles it)."""
    if not isinstance(value, str):
        return True
    return _is_http_url(value) or _is_data_uri(value, kind)


def is_media_uri_list(value: object, kind: str) -> bool:
    """The ``<kind>_uris`` format: a non-list passes; a list needs every item a valid ``<kind>_uri``."""
    if not isinstance(value, list):
        return True
    return all(isinstance(item, str) and is_media_uri(item, kind) for item in value)


# The standard formats, written independently of runcomfy._formats (other means: datetime, ipaddress,
# uuid, the idna package, one regular expression per RFC 3986 grammar).
_HEXDIG = "[0-9A-Fa-f]"
_PCT = f"%{_HEXDIG}{_HEXDIG}"
_UNRESERVED = r"[A-Za-z0-9\-._~]"
_SUB_DELIMS = r"[!$&'()*+,;=]"
_PCHAR = f"(?:{_UNRESERVED}|{_PCT}|{_SUB_DELIMS}|[:@])"
_DEC_OCTET = r"(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])"
_IPV4 = rf"{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}"
_H16 = f"{_HEXDIG}{{1,4}}"
_LS32 = f"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6 = "(?:" + "|".join([
    f"(?:{_H16}:){{6}}{_LS32}", f"::(?:{_H16}:){{5}}{_LS32}", f"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
    f"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}", f"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
    f"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}", f"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
    f"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}", f"(?:(?:{_H16}:){{0,6}}{_H16})?::",
]) + ")"  # fmt: skip
_IP_LITERAL = rf"\[(?:{_IPV6}|v{_HEXDIG}+\.(?:{_UNRESERVED}|{_SUB_DELIMS}|:)+)\]"
_AUTHORITY = (rf"(?:(?:{_UNRESERVED}|{_PCT}|{_SUB_DELIMS}|:)*@)?"
              rf"(?:{_IP_LITERAL}|(?:{_UNRESERVED}|{_PCT}|{_SUB_DELIMS})*)(?::[0-9]*)?")  # fmt: skip
_SEGMENT = f"{_PCHAR}*"
_SEGMENT_NZ = f"{_PCHAR}+"
_SEGMENT_NZ_NC = f"(?:{_UNRESERVED}|{_PCT}|{_SUB_DELIMS}|@)+"
_TAIL = f"(?:\\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
_HIER = f"(?://{_AUTHORITY}(?:/{_SEGMENT})*|/(?:{_SEGMENT_NZ}(?:/{_SEGMENT})*)?|{_SEGMENT_NZ}(?:/{_SEGMENT})*|)"
_RELATIVE = f"(?://{_AUTHORITY}(?:/{_SEGMENT})*|/(?:{_SEGMENT_NZ}(?:/{_SEGMENT})*)?|{_SEGMENT_NZ_NC}(?:/{_SEGMENT})*|)"
_URI_RE = re.compile(f"[A-Za-z][A-Za-z0-9+.-]*:{_HIER}{_TAIL}")
_RELATIVE_RE = re.compile(f"{_RELATIVE}{_TAIL}")


def _is_uri_text(value: str) -> bool:
    return _URI_RE.fullmatch(value) is not None


def _is_uri_reference_text(value: str) -> bool:
    return _URI_RE.fullmatch(value) is not None or _RELATIVE_RE.fullmatch(value) is not None


def _is_date_text(value: str) -> bool:
    if len(value) != 10 or not value.isascii() or value[4] != "-" or value[7] != "-":
        return False
    parts = value[:4], value[5:7], value[8:]
    if not all(part.isdigit() for part in parts):
        return False
    try:
        datetime.date(*(int(part) for part in parts))
    except ValueError:
        return False
    return True


def _is_time_text(value: str) -> bool:
    if not value.isascii() or len(value) < 9:
        return False
    if value[-1] in "Zz":
        body, offset = value[:-1], 0
    else:
        body, sign, zone = value[:-6], value[-6:-5], value[-5:]
        if sign not in ("+", "-") or len(zone) != 5 or zone[2] != ":" or not (zone[:2] + zone[3:]).isdigit():
            return False
        hours, minutes = int(zone[:2]), int(zone[3:])
        if hours > 23 or minutes > 59:
            return False
        offset = (hours * 60 + minutes) * (1 if sign == "+" else -1)
    clock, _, fraction = body.partition(".")
    if "." in body and (not fraction or not fraction.isdigit()):
        return False
    if len(clock) != 8 or clock[2] != ":" or clock[5] != ":" or not (clock[:2] + clock[3:5] + clock[6:]).isdigit():
        return False
    hour, minute, second = int(clock[:2]), int(clock[3:5]), int(clock[6:])
    if hour > 23 or minute > 59 or second > 60:
        return False
    if second == 60:
        utc = (datetime.datetime(2000, 1, 2, hour, minute) - datetime.timedelta(minutes=offset)).time()
        return (utc.hour, utc.minute) == (23, 59)
    return True


def _is_date_time_text(value: str) -> bool:
    return len(value) > 11 and value[10] in "Tt" and _is_date_text(value[:10]) and _is_time_text(value[11:])


def _is_duration_text(value: str) -> bool:
    """RFC 3339 appendix A, read as designators in a fixed order, each following the previous one."""
    if not value.isascii() or not value.startswith("P") or len(value) < 3:
        return False
    date, _, time = value[1:].partition("T")
    if "T" in value[1:] and not time:
        return False

    def units(text: str) -> list[str] | None:
        found, number = [], ""
        for char in text:
            if char.isdigit():
                number += char
            elif number:
                found.append(char)
                number = ""
            else:
                return None
        return None if number else found

    date_units, time_units = units(date), units(time)
    if date_units is None or time_units is None or not (date_units or time_units):
        return False
    if date_units == ["W"]:
        return not time_units
    allowed_dates = [[], ["D"], ["M"], ["M", "D"], ["Y"], ["Y", "M"], ["Y", "M", "D"]]
    allowed_times = [[], ["H"], ["H", "M"], ["H", "M", "S"], ["M"], ["M", "S"], ["S"]]
    return date_units in allowed_dates and time_units in allowed_times and ("T" not in value or bool(time_units))


def _is_hostname_text(value: str) -> bool:
    if not value.isascii() or not value or len(value) > 253:
        return False
    unicode_labels = []
    for label in value.split("."):
        if not label or len(label) > 63 or label[0] == "-" or label[-1] == "-":
            return False
        if not all(char.isalnum() or char == "-" for char in label):
            return False
        if label[2:4] == "--":
            if label[:4] != "xn--":
                return False
            try:
                label = idna.decode(label)
            except idna.IDNAError:
                return False
        unicode_labels.append(label)
    return _is_bidi_domain_ok(unicode_labels)


def _is_bidi_domain_ok(labels: list[str]) -> bool:
    """RFC 5893 section 2: once one label holds a right-to-left character, every label obeys the Bidi rule."""
    if not any(unicodedata.bidirectional(char) in ("R", "AL", "AN") for label in labels for char in label):
        return True
    try:
        for label in labels:
            idna.check_bidi(label, check_ltr=True)
    except idna.IDNAError:
        return False
    return True


def _is_idn_hostname_text(value: str) -> bool:
    """Split at RFC 3490's label separators, each non-ASCII label written as its A-label by ``idna.alabel``
    (IDNA2008, no UTS 46 mapping), and the result a ``hostname``."""
    try:
        labels = [
            label if label.isascii() else idna.alabel(label).decode("ascii")
            for label in re.split("[.\u3002\uff0e\uff61]", value)
        ]
    except idna.IDNAError:
        return False
    return _is_hostname_text(".".join(labels))


def _is_ipv4_text(value: str) -> bool:
    if not value.isascii() or not all(part.isdigit() for part in value.split(".")):
        return False
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def _is_ipv6_text(value: str) -> bool:
    if not value.isascii() or "%" in value or "/" in value:
        return False
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    tail = value.rsplit(":", 1)[-1]
    return "." not in tail or _is_ipv4_text(tail)


def _is_email_text(value: str) -> bool:
    if value.startswith('"'):
        end = 1
        while end < len(value) and value[end] != '"':
            end += 2 if value[end] == "\\" else 1
        local, rest = value[: end + 1], value[end + 1 :]
        if not rest.startswith("@") or not all(" " <= char <= "~" for char in local):
            return False
        domain = rest[1:]
    else:
        local, _, domain = value.rpartition("@")
        atext = set(string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-")
        if not local or any(not atom or not set(atom) <= atext for atom in local.split(".")):
            return False
    if domain.startswith("[IPv6:") and domain.endswith("]"):
        return _is_ipv6_text(domain[6:-1])
    if domain.startswith("[") and domain.endswith("]"):
        return _is_ipv4_text(domain[1:-1])
    return _is_hostname_text(domain)


def _is_uuid_text(value: str) -> bool:
    if len(value) != 36 or [i for i, c in enumerate(value) if c not in string.hexdigits] != [8, 13, 18, 23]:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_regex_text(value: str) -> bool:
    try:
        re.compile(value)
    except re.error:
        return False
    return True


STANDARD_FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": _is_date_time_text, "date": _is_date_text, "time": _is_time_text,
    "duration": _is_duration_text, "email": _is_email_text, "hostname": _is_hostname_text,
    "idn-hostname": _is_idn_hostname_text,
    "ipv4": _is_ipv4_text, "ipv6": _is_ipv6_text, "uri": _is_uri_text, "uri-reference": _is_uri_reference_text,
    "uuid": _is_uuid_text, "regex": _is_regex_text,
}  # fmt: skip


def _make_format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())
    for kind in ("image", "video", "audio"):
        checker.checks(f"{kind}_uri")(lambda value, kind=kind: is_media_uri(value, kind))
        checker.checks(f"{kind}_uris")(lambda value, kind=kind: is_media_uri_list(value, kind))
    for name, check in STANDARD_FORMATS.items():
        checker.checks(name)(lambda value, check=check: not isinstance(value, str) or check(value))
    return checker


FORMAT_CHECKER = _make_format_checker()


# --- deviation 4 and the validator -----------------------------------------------------------------


class Oracle:
    """``jsonschema`` on the normalised schema, with the format checker above."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.raw = schema
        self.schema = normalise(schema)
        cls = jsonschema.validators.validator_for(self.schema, default=jsonschema.Draft202012Validator)
        self.validator = cls(self.schema, format_checker=FORMAT_CHECKER)

    def is_valid(self, instance: Any) -> bool:
        return bool(self.validator.is_valid(instance))

    def explain(self, instance: Any) -> str:
        error = jsonschema.exceptions.best_match(self.validator.iter_errors(instance))
        if error is None:
            return "valid"
        where = "/".join(map(str, error.absolute_path)) or "(root)"
        return f"invalid at {where}: {error.message[:200]}"


# --- JSON equality ---------------------------------------------------------------------------------


def json_equal(one: Any, two: Any) -> bool:
    """Equality of JSON data: ``2 == 2.0``, ``True != 1``, containers compared deeply and by type."""
    if isinstance(one, bool) or isinstance(two, bool):
        return type(one) is type(two) and one == two
    if isinstance(one, (int, float)) and isinstance(two, (int, float)):
        return one == two
    if isinstance(one, str) or isinstance(two, str) or one is None or two is None:
        return type(one) is type(two) and one == two
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(json_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(json_equal(one[k], two[k]) for k in one)
    return False


def identical(one: Any, two: Any) -> bool:
    """Exactly the same JSON data, number types included (``2`` is not ``2.0``)."""
    return type(one) is type(two) and json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)


def is_plain_json(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(is_plain_json(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain_json(v) for k, v in value.items())
    return False


# --- strategies ------------------------------------------------------------------------------------

_HOSTS = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z]{2,5}){1,2}(:[0-9]{2,4})?", fullmatch=True)
_URL_TAILS = st.one_of(
    st.just(""),
    st.from_regex(r"(/[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,10}){1,3}(\?[a-z]{1,4}=[A-Za-z0-9%]{0,6})?(#[a-z]{0,4})?",
                  fullmatch=True),
    st.sampled_from(["?sig=abc", "#frag", "/", "/a.png", "/video.mp4?x=1&y=2"]),
)  # fmt: skip


def http_urls() -> st.SearchStrategy[str]:
    return st.builds("{}://{}{}".format, st.sampled_from(["https", "http", "HTTPS", "Http"]), _HOSTS, _URL_TAILS)


def data_uris(kind: str) -> st.SearchStrategy[str]:
    return st.builds(
        "data:{}/{}{};base64,{}".format,
        st.sampled_from([kind, kind.upper(), kind.capitalize()]),
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.+-]{0,8}", fullmatch=True),
        st.from_regex(r"(;[a-z]{1,7}=[A-Za-z0-9-]{0,6}){0,2}", fullmatch=True),
        st.binary(min_size=1, max_size=12).map(lambda b: base64.b64encode(b).decode("ascii")),
    )


def media_uris(kind: str) -> st.SearchStrategy[str]:
    return st.one_of(http_urls(), data_uris(kind))


CUSTOM_FORMATS: dict[str, st.SearchStrategy[str]] = {
    f"{kind}_uri": media_uris(kind) for kind in ("image", "video", "audio")
}


def _generation_hints(node: Any) -> Any:
    """hypothesis-jsonschema applies ``format`` to strings only: spell out what ``<kind>_uris`` means
    for an array's items (the oracle still judges every drawn instance against the real schema)."""
    if isinstance(node, list):
        return [_generation_hints(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: (value if key in ("enum", "const", "default", "examples") else _generation_hints(value))
           for key, value in node.items()}  # fmt: skip
    fmt = out.get("format")
    if fmt in ("image_uris", "video_uris", "audio_uris"):
        item = {"type": "string", "format": fmt[: -len("s")]}
        items = out.get("items")
        out["items"] = item if items is None or items is True else {"allOf": [items, item]}
    return out


def instances(oracle: Oracle) -> st.SearchStrategy[Any]:
    """Instances of the normalised schema (hypothesis-jsonschema; may need filtering with the oracle)."""
    return from_schema(_generation_hints(oracle.schema), custom_formats=CUSTOM_FORMATS)


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0, 1, -1, 2, 1.0, 2.0, 0.5, -0.0, 10**20, 1e20]),
    st.text(max_size=8),
    st.sampled_from(["", "a", "1", "https://example.com/x.png", "data:image/png;base64,AAAA", "null", "true"]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=8,
)


# --- mutations -------------------------------------------------------------------------------------

# One representative value of each JSON type (and the usual suspects between them).
TYPE_REPRESENTATIVES: tuple[Any, ...] = (None, True, False, 0, 7, -3, 1.5, 2.0, "x", "", [], {}, ["x"], {"a": 1})


def bad_uris(kind: str) -> list[Any]:
    other = {"image": "video", "video": "audio", "audio": "image"}[kind]
    return [
        "not a url",
        "ftp://example.com/a.png",
        "https://",
        "http:///path",
        "https://exa mple.com/a.png",
        "https://example.com/a b.png",
        "https://example.com\n",
        "//example.com/a.png",
        "example.com/a.png",
        f"data:{other}/mp4;base64,AAAA",
        f"data:{kind}/png;base64,",
        f"data:{kind}/png,AAAA",
        f"data:{kind}/png;base64,AA=A",
        f"data:{kind}/png;base64,AAAA===",
        f"data:{kind}/;base64,AAAA",
        f"data:{kind}/.png;base64,AAAA",
        f"data:{kind};base64,AAAA",
        f"data:{kind}/png;base64,AA AA",
        " https://example.com/a.png",
        5,
        None,
        ["https://example.com/a.png"],
        # valid ones, as controls
        "https://example.com",
        "HTTP://EXAMPLE.COM/A.PNG",
        f"data:{kind.upper()}/X-Png+1.2;charset=x;base64,AB+/cd==",
        "https://example.com?#",
    ]


def _types(schema: dict[str, Any]) -> list[str]:
    kinds = schema.get("type")
    if kinds is None:
        return []
    return [kinds] if isinstance(kinds, str) else list(kinds)


def _number_candidates(schema: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = schema.get(key)
        if isinstance(bound, (int, float)) and not isinstance(bound, bool):
            out += [bound - 1, bound, bound + 1, bound - 0.5, bound + 0.5, float(bound)]
    if isinstance(schema.get("multipleOf"), (int, float)):
        step = schema["multipleOf"]
        out += [step, step * 3, step * 3 + step / 2, step * 1.0, -step]
    return out


def _string_candidates(schema: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for key in ("minLength", "maxLength"):
        bound = schema.get(key)
        if isinstance(bound, int):
            out += ["a" * max(bound - 1, 0), "a" * bound, "a" * (bound + 1), "é" * bound, "😀" * (bound + 1)]
    fmt = schema.get("format")
    if fmt in ("image_uri", "video_uri", "audio_uri"):
        out += bad_uris(fmt.split("_")[0])
    if fmt == "uri":
        out += ["mailto:x", "x:", "1x:y", ":y", "a b:c", "urn:isbn:1", "no-scheme"]
    return out


def _enum_candidates(schema: dict[str, Any]) -> list[Any]:
    out: list[Any] = ["not-in-enum", 123456]
    for member in schema.get("enum", [])[:4]:
        if isinstance(member, str):
            out += [member.upper(), member.lower(), member + " ", member[:-1]]
            if member.strip().lstrip("-").isdigit():
                out.append(int(member))
        elif isinstance(member, bool):
            out.append(int(member))
        elif isinstance(member, (int, float)):
            out += [str(member), float(member), member + 1000, member + 0.5]
    return out


def _array_candidates(schema: dict[str, Any], current: Any, filler: Callable[[], Any]) -> list[Any]:
    items = list(current) if isinstance(current, list) else []
    out: list[Any] = [[], [None], [1, True], [1, 1.0], [[], []], [{}]]
    for key in ("minItems", "maxItems"):
        bound = schema.get(key)
        if isinstance(bound, int):
            for size in (bound - 1, bound, bound + 1):
                if size >= 0:
                    grown = items[:size] + [filler() for _ in range(max(size - len(items), 0))]
                    out.append(grown)
    item_schema = schema.get("items")
    if isinstance(item_schema, dict) and items:
        replacements: list[Any] = [5, None, True, 2.0, "x", {}]
        fmt = item_schema.get("format")
        if fmt in ("image_uri", "video_uri", "audio_uri"):
            replacements += bad_uris(fmt.split("_")[0])
        for replacement in replacements:
            out.append([replacement, *items[1:]])
            out.append([*items, replacement])
    if items:
        out.append([*items, items[0]])  # a duplicate (uniqueItems)
        out.append(items[:-1])
    return out


def value_candidates(schema: Any, current: Any, filler: Callable[[], Any]) -> list[Any]:
    """Values to put where ``schema`` applies: wrong types, boundary values, near-miss enum members,
    bad URIs, resized arrays. Some are valid (the oracle says which)."""
    out: list[Any] = list(TYPE_REPRESENTATIVES)
    if not isinstance(schema, dict):
        return out
    kinds = _types(schema)
    if isinstance(current, int) and not isinstance(current, bool):
        out += [float(current), float(current) + 0.5]  # 2.0 where an integer is expected (valid)
    if isinstance(current, float) and current.is_integer():
        out.append(int(current))
    out += _number_candidates(schema)
    out += _string_candidates(schema)
    if "enum" in schema or "const" in schema:
        out += _enum_candidates({"enum": schema.get("enum", [schema.get("const")])})
    if "array" in kinds or "items" in schema or "minItems" in schema or "maxItems" in schema:
        out += _array_candidates(schema, current, filler)
    if isinstance(current, str):
        out += [current + "x", current[:-1], current + "\n"]
        if not current.lower().startswith("data:"):  # (an upper-case "DATA:"/"BASE64": see test_uri_formats)
            out.append(current.upper())
    return out


FILLER_CANDIDATES: tuple[Any, ...] = (
    "https://example.com/a.png", "data:image/png;base64,AAAA", "data:video/mp4;base64,AAAA",
    "data:audio/mpeg;base64,AAAA", "x", 1, 1.5, True, None, {}, [],
)  # fmt: skip


def filler_for(root: dict[str, Any], name: str) -> Callable[[], Any]:
    """A maker of valid items for the array property ``name`` of ``root`` (to grow an array to a given
    size), or of ``"x"``. Items are checked in ``root``'s context, so ``$ref`` in them resolves."""
    sub = root.get("properties", {}).get(name)
    hinted = _generation_hints(sub) if isinstance(sub, dict) else None
    items = hinted.get("items") if isinstance(hinted, dict) else None
    if not isinstance(items, (dict, bool)) or items is False:
        return lambda: "x"
    check = Oracle({**root, "properties": {name: {"items": items}}, "required": [], "additionalProperties": True})
    for candidate in FILLER_CANDIDATES:
        if check.is_valid({name: [candidate]}):
            return lambda candidate=candidate: copy.deepcopy(candidate)
    return lambda: "x"


def object_mutations(
    schema: dict[str, Any], instance: dict[str, Any], fillers: dict[str, Callable[[], Any]]
) -> Iterator[tuple[str, Any]]:
    """(label, mutated copy) pairs for an object instance of ``schema``: each property replaced by each
    candidate value, each required property removed, unknown keys added."""
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        if name in instance:
            yield f"missing required {name!r}", {k: v for k, v in instance.items() if k != name}
    yield "unknown key", {**instance, "unknown_extra_key": 1}
    for name in list(properties)[:3]:
        for variant in (name.upper(), name + "s", name.replace("_", "-"), " " + name):
            if variant not in properties:
                yield f"near-miss key {variant!r}", {**instance, variant: instance.get(name, 1)}
    for name, sub in properties.items():
        filler = fillers.get(name) or filler_for(schema, name)
        for value in value_candidates(sub, instance.get(name), filler):
            yield f"{name!r} := {value!r}"[:120], {**instance, name: value}
        if name in instance:
            yield f"drop {name!r}", {k: v for k, v in instance.items() if k != name}


def paths(value: Any, prefix: tuple[Any, ...] = (), depth: int = 4) -> Iterator[tuple[Any, ...]]:
    """The locations in a JSON value (the root included), to a bounded depth; of an array's items only
    the first two and the last."""
    yield prefix
    if depth == 0:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key), depth - 1)
    elif isinstance(value, list):
        for index in sorted({0, 1, len(value) - 1} & set(range(len(value)))):
            yield from paths(value[index], (*prefix, index), depth - 1)


def replace_at(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    out = copy.copy(value)
    out[path[0]] = replace_at(value[path[0]], path[1:], new)
    return out


def get_at(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def structural_mutations(instance: Any) -> Iterator[tuple[str, Any]]:
    """Schema-agnostic mutations at every location: type swaps, removed/added keys, resized arrays."""
    for path in paths(instance):
        here = get_at(instance, path)
        where = "/".join(map(str, path)) or "(root)"
        for value in TYPE_REPRESENTATIVES:
            yield f"{where} := {value!r}", replace_at(instance, path, value)
        if isinstance(here, int) and not isinstance(here, bool):
            yield f"{where} := float", replace_at(instance, path, float(here))
            yield f"{where} := bool", replace_at(instance, path, here != 0)
        if isinstance(here, dict):
            for key in here:
                yield f"{where}: drop {key!r}", replace_at(instance, path, {k: v for k, v in here.items() if k != key})
            yield f"{where}: unknown key", replace_at(instance, path, {**here, "zz_unknown": 0})
        if isinstance(here, list):
            if here:
                yield f"{where}: duplicate", replace_at(instance, path, [*here, here[0]])
                yield f"{where}: drop last", replace_at(instance, path, here[:-1])
                yield f"{where}: drop first", replace_at(instance, path, here[1:])
            for extra in (1, True, 1.0, None):
                yield f"{where}: append {extra!r}", replace_at(instance, path, [*here, extra])


# --- running the generated code --------------------------------------------------------------------


def our_verdict(input_cls: Any, instance: Any, validation_error: type[Exception]) -> tuple[str, Any]:
    """("valid", (the Input, its to_dict())) or ("invalid", errors) or ("crash", description)."""
    argument = copy.deepcopy(instance)
    try:
        built = input_cls.from_dict(argument)
    except validation_error as exc:
        verdict: tuple[str, Any] = ("invalid", getattr(exc, "errors", exc))
    except Exception as exc:
        return ("crash", f"{type(exc).__name__}: {exc}")
    else:
        try:
            verdict = ("valid", (built, built.to_dict()))
        except Exception as exc:
            return ("crash", f"to_dict raised {type(exc).__name__}: {exc}")
    if not identical(argument, instance):
        return ("crash", f"from_dict modified its argument: {argument!r}")
    return verdict


def compare(
    model_id: str,
    oracle: Oracle,
    input_cls: Any,
    instance: Any,
    validation_error: type[Exception],
    label: str = "",
    extra_check: Callable[[Any, Any, Any], str | None] | None = None,
) -> str | None:
    """None when the generated code agrees with the oracle on ``instance``; else a description.

    On an instance both accept, ``to_dict()`` must give the instance back (as JSON data), and
    ``extra_check(instance, built, sent)`` may add a complaint."""
    expected = oracle.is_valid(instance)
    verdict, detail = our_verdict(input_cls, instance, validation_error)
    problem = None
    if verdict == "crash":
        problem = f"generated code crashed: {detail}"
    elif expected != (verdict == "valid"):
        problem = f"generated code says {verdict}" + (f" {detail!r}"[:400] if verdict == "invalid" else "")
    elif verdict == "valid":
        built, sent = detail
        if not is_plain_json(sent):
            problem = f"to_dict() is not plain JSON data: {sent!r}"
        elif not json_equal(sent, instance):
            problem = f"to_dict() {sent!r} != the instance"
        elif extra_check is not None:
            problem = extra_check(instance, built, sent)
    if problem is None:
        return None
    return (
        f"[{model_id}] {label}\n    instance: {instance!r}"[:1500]
        + f"\n    oracle:   {oracle.explain(instance)}\n    ours:     {problem}"
    )
