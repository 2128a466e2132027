"""JSON Schema patterns: ECMA-262 regular expressions, read here and turned into something Python can run
with the same meaning and in time linear in the input.

A ``pattern`` (and a ``patternProperties`` key) is an ECMA-262 regular expression, read with the ``u`` flag
as JSON Schema 2020-12 recommends: code points, ``\\p{...}``, strict syntax. Its meaning is not Python's
(``$`` does not match before a final newline, ``\\d`` is ``[0-9]``, ``\\w`` is ``[A-Za-z0-9_]``, ``\\s`` includes
U+FEFF, ``.`` stops at U+2028/U+2029), so a pattern is never handed to :mod:`re` as written. Instead:

* :func:`parse` reads it into a small syntax tree whose character sets are explicit code point ranges
  (plus Unicode general categories for ``\\p{...}``).
* :func:`translate` picks the engine. When a backtracking engine provably runs in linear time on the
  pattern (see :func:`_re_is_linear`), the tree is written back as a Python :mod:`re` expression with the
  same meaning (explicit ranges, ``\\A``, ``\\Z``, ASCII ``\\b``). Otherwise it is compiled to a program for
  the runtime's linear-time matcher (``runcomfy._regex``: an NFA simulated in lock step, with a bounded
  cache of the states it meets), which validates in O(input length x program size).

Refused, with the reason (the parser adds file and JSON path): syntax errors; backreferences and
lookaround (no linear-time matching is known for them); Unicode properties other than General_Category
values and ``Any``/``ASCII``/``Assigned`` (Python has no Script data); programs above
:data:`MAX_PROGRAM` instructions (``{n,m}`` repeats its operand).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

MAX_PROGRAM = 1000  # instructions of a linear-matcher program (bounded repeats are expanded)
MAX_RE_PATHS = 100  # backtracking paths per start position allowed for a quantifier-bounded re pattern
MAX_CODE_POINT = 0x10FFFF
MAX_COUNT = 100_000  # a {n,m} bound above this is refused outright (the program cap refuses far less)


class RegexError(ValueError):
    """The pattern is not a valid ECMA-262 (``u`` flag) regular expression."""


class UnsupportedRegexError(ValueError):
    """A valid pattern that the generated code could not check exactly or in linear time."""


# --- character sets --------------------------------------------------------------------------------

Ranges = tuple[tuple[int, int], ...]  # sorted, disjoint, non-adjacent, inclusive


def _normalise(ranges: list[tuple[int, int]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if out and low <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return tuple(out)


def _complement(ranges: Ranges) -> Ranges:
    out, start = [], 0
    for low, high in ranges:
        if low > start:
            out.append((start, low - 1))
        start = high + 1
    if start <= MAX_CODE_POINT:
        out.append((start, MAX_CODE_POINT))
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class CharSet:
    """Code points in ``ranges``, or whose general category is in ``cats``, or (when ``notcats`` is set)
    whose category is not in ``notcats``; all of that negated when ``negate``."""

    ranges: Ranges = ()
    cats: frozenset[str] = frozenset()
    notcats: frozenset[str] | None = None
    negate: bool = False

    @property
    def uses_categories(self) -> bool:
        return bool(self.cats) or self.notcats is not None

    def union(self, other: CharSet) -> CharSet:
        assert not self.negate and not other.negate
        notcats = (
            self.notcats
            if other.notcats is None
            else other.notcats
            if self.notcats is None
            else (self.notcats & other.notcats)
        )
        return CharSet(_normalise([*self.ranges, *other.ranges]), self.cats | other.cats, notcats)

    def inverted(self) -> CharSet:
        if not self.uses_categories:
            return CharSet(_complement(self.ranges))
        if not self.ranges and not self.negate and self.cats and self.notcats is None:
            return CharSet(notcats=self.cats)
        if not self.ranges and not self.negate and not self.cats and self.notcats is not None:
            return CharSet(cats=self.notcats)
        return dataclasses.replace(self, negate=not self.negate)

    def code_points(self) -> Ranges:
        """The ranges of a category-free set, negation applied."""
        assert not self.uses_categories
        return _complement(self.ranges) if self.negate else self.ranges

    def may_contain(self, other: CharSet) -> bool:
        """False only when the two sets certainly share no code point."""
        if self.uses_categories or other.uses_categories:
            return True
        return _overlap(self.code_points(), other.code_points())


def _overlap(one: Ranges, two: Ranges) -> bool:
    i = j = 0
    while i < len(one) and j < len(two):
        if one[i][1] < two[j][0]:
            i += 1
        elif two[j][1] < one[i][0]:
            j += 1
        else:
            return True
    return False


def _chars(*items: int | tuple[int, int]) -> CharSet:
    return CharSet(_normalise([item if isinstance(item, tuple) else (item, item) for item in items]))


DIGIT = _chars((0x30, 0x39))
WORD = _chars((0x41, 0x5A), (0x61, 0x7A), (0x30, 0x39), 0x5F)
# ECMA-262 WhiteSpace (TAB, VT, FF, ZWNBSP, USP = Zs) and LineTerminator (LF, CR, LS, PS).
SPACE = _chars(0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0xA0, 0x1680, (0x2000, 0x200A), 0x2028, 0x2029, 0x202F,
               0x205F, 0x3000, 0xFEFF)  # fmt: skip
LINE_TERMINATORS = _chars(0x0A, 0x0D, 0x2028, 0x2029)
DOT = LINE_TERMINATORS.inverted()
ANY = CharSet(((0, MAX_CODE_POINT),))
CLASS_ESCAPES = {"d": DIGIT, "w": WORD, "s": SPACE}

# General_Category values and their aliases (Unicode PropertyValueAliases.txt), as ECMA-262 accepts them.
_GROUPS = {
    "C": "Cc Cf Cn Co Cs", "L": "Ll Lm Lo Lt Lu", "LC": "Ll Lt Lu", "M": "Mc Me Mn", "N": "Nd Nl No",
    "P": "Pc Pd Pe Pf Pi Po Ps", "S": "Sc Sk Sm So", "Z": "Zl Zp Zs",
}  # fmt: skip
_ALIASES = """C Other|Cc Control cntrl|Cf Format|Cn Unassigned|Co Private_Use|Cs Surrogate|L Letter|
LC Cased_Letter|Ll Lowercase_Letter|Lm Modifier_Letter|Lo Other_Letter|Lt Titlecase_Letter|Lu Uppercase_Letter|
M Mark Combining_Mark|Mc Spacing_Mark|Me Enclosing_Mark|Mn Nonspacing_Mark|N Number|Nd Decimal_Number digit|
Nl Letter_Number|No Other_Number|P Punctuation punct|Pc Connector_Punctuation|Pd Dash_Punctuation|
Pe Close_Punctuation|Pf Final_Punctuation|Pi Initial_Punctuation|Po Other_Punctuation|Ps Open_Punctuation|
S Symbol|Sc Currency_Symbol|Sk Modifier_Symbol|Sm Math_Symbol|So Other_Symbol|Z Separator|Zl Line_Separator|
Zp Paragraph_Separator|Zs Space_Separator"""
GENERAL_CATEGORIES: dict[str, frozenset[str]] = {
    name: frozenset(_GROUPS.get(names.split()[0], names.split()[0]).split())
    for names in _ALIASES.replace("\n", "").split("|")
    for name in names.split()
}
BINARY_PROPERTIES = {"Any": ANY, "ASCII": _chars((0, 0x7F)), "Assigned": CharSet(notcats=frozenset({"Cn"}))}
SUPPORTED_PROPERTIES = (
    "General_Category values (Letter, Lu, digit, ...; also gc=... and General_Category=...), Any, ASCII, Assigned"
)


def _property(name: str, *, negated: bool) -> CharSet:
    key, equals, value = name.partition("=")
    if equals and key in ("General_Category", "gc"):
        name = value
    elif equals:
        raise UnsupportedRegexError(f"Unicode property {key!r} is not supported (supported: {SUPPORTED_PROPERTIES})")
    if name in GENERAL_CATEGORIES:
        found = CharSet(cats=GENERAL_CATEGORIES[name])
    elif name in BINARY_PROPERTIES:
        found = BINARY_PROPERTIES[name]
    else:
        raise UnsupportedRegexError(f"Unicode property {name!r} is not supported (supported: {SUPPORTED_PROPERTIES})")
    return found.inverted() if negated else found


# --- the syntax tree -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Seq:
    items: tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class Alt:
    options: tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class Repeat:
    item: Any
    low: int
    high: int | None  # None: unbounded


@dataclasses.dataclass(frozen=True)
class Assert:
    kind: str  # "^", "$", "b" (word boundary), "B" (not a word boundary)


Node = CharSet | Seq | Alt | Repeat | Assert

_SYNTAX = frozenset("^$\\.*+?()[]{}|")
_CONTROL = {"f": 0x0C, "n": 0x0A, "r": 0x0D, "t": 0x09, "v": 0x0B}
_HEX = frozenset("0123456789abcdefABCDEF")


class _Parser:
    """A recursive-descent reader of ECMA-262 Pattern[+UnicodeMode] (no Annex B leniency)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str) -> RegexError:
        return RegexError(f"{message} at offset {self.pos}")

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def take(self, expected: str) -> bool:
        if self.text.startswith(expected, self.pos):
            self.pos += len(expected)
            return True
        return False

    def parse(self) -> Node:
        node = self.disjunction()
        if self.pos < len(self.text):
            raise self.fail(f"unexpected {self.peek()!r}")
        return node

    def disjunction(self) -> Node:
        options = [self.alternative()]
        while self.take("|"):
            options.append(self.alternative())
        return options[0] if len(options) == 1 else Alt(tuple(options))

    def alternative(self) -> Node:
        items: list[Node] = []
        while self.peek() not in ("", "|", ")"):
            items.append(self.term())
        return items[0] if len(items) == 1 else Seq(tuple(items))

    def term(self) -> Node:
        char = self.peek()
        if char in ("^", "$"):
            self.pos += 1
            return self._no_quantifier(Assert(char))
        if char == "\\" and self.peek(1) in ("b", "B"):
            self.pos += 2
            return self._no_quantifier(Assert(self.text[self.pos - 1]))
        if self.text.startswith(("(?=", "(?!", "(?<=", "(?<!"), self.pos):
            raise UnsupportedRegexError(
                "lookahead and lookbehind assertions are not supported (no linear-time matching)"
            )
        return self.quantified(self.atom())

    def _no_quantifier(self, node: Node) -> Node:
        if self.peek() in ("*", "+", "?") or (self.peek() == "{" and self._counts(peek_only=True) is not None):
            raise self.fail("nothing to repeat")
        return node

    def quantified(self, atom: Node) -> Node:
        char = self.peek()
        if char in ("*", "+", "?"):
            self.pos += 1
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
        elif char == "{":
            counts = self._counts(peek_only=False)
            if counts is None:
                raise self.fail("incomplete quantifier")
            low, high = counts
        else:
            return atom
        self.take("?")  # lazy: the same strings match
        if self.peek() in ("*", "+", "?", "{"):
            raise self.fail("nothing to repeat")
        return Repeat(atom, low, high)

    def _counts(self, *, peek_only: bool) -> tuple[int, int | None] | None:
        start = self.pos
        self.pos += 1
        low = self._number()
        high: int | None = low
        if low is not None and self.take(","):
            high = self._number()
        ok = low is not None and self.take("}")
        if peek_only or not ok:
            self.pos = start
            return (0, 0) if ok else None
        assert low is not None
        if high is not None and high < low:
            raise self.fail("numbers out of order in {} quantifier")
        return low, high

    def _number(self) -> int | None:
        start = self.pos
        while self.peek().isdigit() and self.peek().isascii():
            self.pos += 1
        if self.pos == start:
            return None
        value = int(self.text[start : self.pos][:7])  # beyond MAX_COUNT all the same
        if value > MAX_COUNT:
            raise UnsupportedRegexError(f"repetition count above {MAX_COUNT}")
        return value

    def atom(self) -> Node:
        char = self.peek()
        if char == "(":
            return self.group()
        if char == "[":
            return self.char_class()
        if char == ".":
            self.pos += 1
            return DOT
        if char == "\\":
            self.pos += 1
            return self.atom_escape()
        if char in _SYNTAX:
            raise self.fail("nothing to repeat" if char in "*+?{" else f"lone {char!r}")
        self.pos += 1
        return _chars(ord(char))

    def group(self) -> Node:
        self.pos += 1
        if self.take("?:"):
            pass
        elif self.take("?<"):
            end = self.text.find(">", self.pos)
            name = self.text[self.pos : end] if end >= 0 else ""
            if not name or not name.replace("$", "_").isidentifier():
                raise self.fail("invalid capture group name")
            self.pos = end + 1
        elif self.peek() == "?" and (self.peek(1).isalpha() or self.peek(1) == "-"):
            raise UnsupportedRegexError("inline modifiers (?flags:...) are not supported")
        elif self.peek() == "?":
            raise self.fail("invalid group")
        node = self.disjunction()
        if not self.take(")"):
            raise self.fail("unterminated group")
        return node

    def atom_escape(self) -> Node:
        char = self.peek()
        if char.isdigit() and char != "0" and char.isascii():
            raise UnsupportedRegexError("backreferences are not supported (no linear-time matching)")
        if char == "k":
            raise UnsupportedRegexError("backreferences are not supported (no linear-time matching)")
        found = self.class_escape()
        if found is not None:
            return found
        return _chars(self.character_escape())

    def class_escape(self) -> CharSet | None:
        """``\\d \\D \\s \\S \\w \\W \\p{..} \\P{..}`` (after the backslash), or None."""
        char = self.peek()
        if char.lower() in CLASS_ESCAPES:
            self.pos += 1
            found = CLASS_ESCAPES[char.lower()]
            return found.inverted() if char.isupper() else found
        if char in ("p", "P"):
            self.pos += 1
            end = self.text.find("}", self.pos)
            if not self.take("{") or end < 0 or end == self.pos:
                raise self.fail("invalid property name")
            name = self.text[self.pos : end]
            self.pos = end + 1
            return _property(name, negated=char == "P")
        return None

    def character_escape(self) -> int:
        """The code point of a CharacterEscape (after the backslash)."""
        char = self.peek()
        self.pos += 1
        if char in _CONTROL:
            return _CONTROL[char]
        if char == "c":
            letter = self.peek()
            if not (letter.isascii() and letter.isalpha()):
                raise self.fail("invalid control escape")
            self.pos += 1
            return ord(letter) % 32
        if char == "0":
            if self.peek().isdigit():
                raise self.fail("invalid decimal escape")
            return 0
        if char == "x":
            return self._hex(2)
        if char == "u":
            return self._unicode_escape()
        if char in _SYNTAX or char == "/":
            return ord(char)
        raise self.fail("invalid escape" if char else "\\ at end of pattern")

    def _hex(self, count: int) -> int:
        digits = self.text[self.pos : self.pos + count]
        if len(digits) != count or not set(digits) <= _HEX:
            raise self.fail("invalid escape")
        self.pos += count
        return int(digits, 16)

    def _unicode_escape(self) -> int:
        if self.take("{"):
            end = self.text.find("}", self.pos)
            digits = self.text[self.pos : end] if end >= 0 else ""
            if not digits or not set(digits) <= _HEX or int(digits, 16) > MAX_CODE_POINT:
                raise self.fail("invalid Unicode escape")
            self.pos = end + 1
            return int(digits, 16)
        value = self._hex(4)
        if 0xD800 <= value <= 0xDBFF and self.text.startswith("\\u", self.pos):
            saved = self.pos
            self.pos += 2
            trail = self._hex(4) if set(self.text[self.pos : self.pos + 4]) <= _HEX else -1
            if 0xDC00 <= trail <= 0xDFFF:
                return 0x10000 + ((value - 0xD800) << 10) + (trail - 0xDC00)
            self.pos = saved
        return value

    def char_class(self) -> CharSet:
        self.pos += 1
        negate = self.take("^")
        found = CharSet()
        while not self.take("]"):
            if self.pos >= len(self.text):
                raise self.fail("unterminated character class")
            first = self.class_atom()
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.pos += 1
                last = self.class_atom()
                if isinstance(first, CharSet) or isinstance(last, CharSet):
                    raise self.fail("invalid character class range")
                if first > last:
                    raise self.fail("range out of order in character class")
                found = found.union(_chars((first, last)))
            else:
                found = found.union(first if isinstance(first, CharSet) else _chars(first))
        return found.inverted() if negate else found

    def class_atom(self) -> int | CharSet:
        char = self.peek()
        self.pos += 1
        if char != "\\":
            return ord(char)
        escape = self.peek()
        if escape == "b":
            self.pos += 1
            return 0x08
        if escape == "-":
            self.pos += 1
            return ord("-")
        found = self.class_escape()
        return found if found is not None else self.character_escape()


def parse(pattern: str) -> Node:
    """The syntax tree of an ECMA-262 ``u``-mode pattern. Raises :class:`RegexError` (syntax) or
    :class:`UnsupportedRegexError` (valid, but refused: see the module docstring)."""
    return _Parser(pattern).parse()


# --- choosing the engine ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Translation:
    """What the generated code runs: a Python ``re`` expression, or a linear-matcher program."""

    python: str | None = None
    program: list[Any] | None = None


@functools.lru_cache(maxsize=1024)
def translate(pattern: str) -> Translation:
    """The pattern as generated code checks it (see the module docstring). Raises like :func:`parse`."""
    tree = parse(pattern)
    if _re_is_linear(tree):
        return Translation(python="(?a)" + _to_python(tree))
    return Translation(program=_Compiler().program(tree))


def check(pattern: str) -> None:
    """Raise :class:`RegexError` or :class:`UnsupportedRegexError` unless the pattern can be generated."""
    translate(pattern)


def is_valid_syntax(pattern: object) -> bool:
    """The ``regex`` format of the metaschemas: valid ECMA-262 syntax (unsupported features included)."""
    if not isinstance(pattern, str):
        return True
    try:
        parse(pattern)
    except RegexError:
        return False
    except UnsupportedRegexError:
        return True
    return True


# Python's re backtracks, and re.search retries at every start position. It is linear in the input when
#  (A) no quantifier is unbounded and a start position has at most MAX_RE_PATHS ways to go: the work per
#      start position is then bounded by the pattern alone; or
#  (B) the pattern is ^ followed by single-set atoms (each maybe quantified) and maybe a final $, where
#      every atom with a variable count is followed only by what cannot start with one of its characters:
#      only position 0 can start a match, and each character an atom gives back fails at once (the
#      next non-optional item, or $, rejects it), so the work is O(input length x pattern length).
# Patterns with \p{...} (categories) go to the linear matcher: Python's re has no such sets.


def _re_is_linear(tree: Node) -> bool:
    if _has_categories(tree):
        return False
    paths = _paths(tree)
    if paths is not None and paths <= MAX_RE_PATHS:
        return True
    return _anchored_simple(tree)


def _has_categories(node: Node) -> bool:
    if isinstance(node, CharSet):
        return node.uses_categories
    if isinstance(node, Seq):
        return any(_has_categories(item) for item in node.items)
    if isinstance(node, Alt):
        return any(_has_categories(option) for option in node.options)
    if isinstance(node, Repeat):
        return _has_categories(node.item)
    return False


def _paths(node: Node) -> int | None:
    """The number of backtracking paths from one start position (capped), None when unbounded."""
    cap = MAX_RE_PATHS + 1
    if isinstance(node, (CharSet, Assert)):
        return 1
    if isinstance(node, Seq):
        total = 1
        for item in node.items:
            count = _paths(item)
            if count is None:
                return None
            total = min(total * count, cap)
        return total
    if isinstance(node, Alt):
        counts = [_paths(option) for option in node.options]
        return None if None in counts else min(sum(c for c in counts if c is not None), cap)
    assert isinstance(node, Repeat)
    inner = _paths(node.item)
    if inner is None or node.high is None:
        return None
    power = 1
    for _ in range(node.low):
        power = min(power * inner, cap)
    total = 0
    for _ in range(node.low, node.high + 1):
        total = min(total + power, cap)
        if total >= cap:
            return cap
        power = min(power * inner, cap)
    return total


def _anchored_simple(tree: Node) -> bool:
    items = list(tree.items) if isinstance(tree, Seq) else [tree]
    if not items or items[0] != Assert("^"):
        return False
    body = items[1:]
    ends = bool(body) and body[-1] == Assert("$")
    if ends:
        body = body[:-1]
    atoms = []
    for item in body:
        atom = item.item if isinstance(item, Repeat) else item
        if not isinstance(atom, CharSet):
            return False
        atoms.append((atom, item.low if isinstance(item, Repeat) else 1, item.high if isinstance(item, Repeat) else 1))
    for index, (atom, low, high) in enumerate(atoms):
        if low == high:
            continue
        for follower, follower_low, _ in atoms[index + 1 :]:
            if atom.may_contain(follower):
                return False
            if follower_low > 0:
                break
    return True


def _to_python(node: Node) -> str:
    """A Python re expression (to run with the ASCII flag) that matches what the ECMA tree matches."""
    if isinstance(node, CharSet):
        return _python_set(node.code_points())
    if isinstance(node, Assert):
        return {"^": r"\A", "$": r"\Z", "b": r"\b", "B": r"\B"}[node.kind]
    if isinstance(node, Seq):
        return "".join(_group(item) if isinstance(item, Alt) else _to_python(item) for item in node.items)
    if isinstance(node, Alt):
        return "|".join(_to_python(option) for option in node.options)
    assert isinstance(node, Repeat)
    operand = _to_python(node.item) if isinstance(node.item, CharSet) else _group(node.item)
    counts = {(0, None): "*", (1, None): "+", (0, 1): "?"}.get((node.low, node.high))
    if counts is None:
        counts = (
            f"{{{node.low}}}" if node.low == node.high else f"{{{node.low},{'' if node.high is None else node.high}}}"
        )
    return operand + counts


def _group(node: Node) -> str:
    return f"(?:{_to_python(node)})"


def _python_set(ranges: Ranges) -> str:
    if not ranges:
        return r"[^\x00-\U0010ffff]"
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _python_char(ranges[0][0])
    parts = [_python_char(low) if low == high else f"{_python_char(low)}-{_python_char(high)}" for low, high in ranges]
    return "[" + "".join(parts) + "]"


def _python_char(code: int) -> str:
    char = chr(code)
    if char.isascii() and char.isalnum():
        return char
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


# --- the linear matcher's program ------------------------------------------------------------------
# A program is [code, sets]. code: a list of instructions, each a list:
#   ["set", i]      consume one code point in sets[i], go on with the next instruction
#   ["split", a, b] go on at a and at b
#   ["jump", a]     go on at a
#   ["assert", k]   go on when k holds here: "^" start, "$" end, "b"/"B" ASCII word boundary or not
#   ["match"]       a match ends here
# sets: [negate, bounds, cats, notcats]: bounds are range starts and ends (exclusive) flattened, sorted;
# cats and notcats are general-category lists (notcats None when absent); see CharSet.


class _Compiler:
    def __init__(self) -> None:
        self.code: list[list[Any]] = []
        self.sets: list[list[Any]] = []
        self._set_index: dict[CharSet, int] = {}

    def program(self, tree: Node) -> list[Any]:
        self.emit(tree)
        self.add(["match"])
        return [self.code, self.sets]

    def add(self, instruction: list[Any]) -> int:
        if len(self.code) >= MAX_PROGRAM:
            raise UnsupportedRegexError(
                f"the pattern needs more than {MAX_PROGRAM} matcher instructions (large {{n,m}} repeats)"
            )
        self.code.append(instruction)
        return len(self.code) - 1

    def set_index(self, charset: CharSet) -> int:
        if charset not in self._set_index:
            bounds = [edge for low, high in charset.ranges for edge in (low, high + 1)]
            notcats = None if charset.notcats is None else sorted(charset.notcats)
            self._set_index[charset] = len(self.sets)
            self.sets.append([charset.negate, bounds, sorted(charset.cats), notcats])
        return self._set_index[charset]

    def emit(self, node: Node) -> None:
        if isinstance(node, CharSet):
            self.add(["set", self.set_index(node)])
        elif isinstance(node, Assert):
            self.add(["assert", node.kind])
        elif isinstance(node, Seq):
            for item in node.items:
                self.emit(item)
        elif isinstance(node, Alt):
            self._alternation(list(node.options))
        else:
            assert isinstance(node, Repeat)
            for _ in range(node.low):
                self.emit(node.item)
            if node.high is None:
                self._star(node.item)
            else:
                self._optional_chain(node.item, node.high - node.low)

    def _alternation(self, options: list[Node]) -> None:
        if len(options) == 1:
            self.emit(options[0])
            return
        split = self.add(["split", 0, 0])
        self.emit(options[0])
        jump = self.add(["jump", 0])
        self.code[split] = ["split", split + 1, len(self.code)]
        self._alternation(options[1:])
        self.code[jump] = ["jump", len(self.code)]

    def _star(self, item: Node) -> None:
        split = self.add(["split", 0, 0])
        self.emit(item)
        self.add(["jump", split])
        self.code[split] = ["split", split + 1, len(self.code)]

    def _optional_chain(self, item: Node, count: int) -> None:
        """``(item(item(...)?)?)?``: up to ``count`` more, each split skipping to the end."""
        splits = []
        for _ in range(count):
            splits.append(self.add(["split", 0, 0]))
            self.emit(item)
        for split in splits:
            self.code[split] = ["split", split + 1, len(self.code)]
