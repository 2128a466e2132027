"""Patterns mean what ECMA-262 says, and validate in linear time.

* The JSON-Schema-Test-Suite's ``pattern``/``patternProperties`` files and its optional ``ecmascript-regex``
  and ``non-bmp-regex`` files (draft 7 and 2020-12, vendored in ``tests/jsts/``): every test group becomes a
  one-property model, generated once, and every test's instance must get the suite's verdict. The oracle
  (``tests/oracle.py``) is held to the suite too.
* Catastrophic patterns (``^(a+)+$``...) validate a 100,000-character string in seconds, not minutes.
* Patterns the generated code could not check exactly, or in linear time, are refused with file and path.
* Differential: random small patterns, the engine the generator picks against the linear matcher and the
  oracle, on random strings.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import time
from pathlib import Path
from typing import Any

import oracle
import pytest
from conftest import import_file, write_schemas
from hypothesis import given, settings
from hypothesis import strategies as st
from runcomfy import ValidationError
from runcomfy._regex import Matcher
from runcomfy_codegen import regex
from runcomfy_codegen.errors import GenerationError
from runcomfy_codegen.pipeline import generate

JSTS = Path(__file__).resolve().parent / "jsts" / "tests"
FILES = ("pattern.json", "patternProperties.json", "optional/ecmascript-regex.json", "optional/non-bmp-regex.json")
DRAFTS = {
    "draft7": "http://json-schema.org/draft-07/schema#",
    "draft2020-12": "https://json-schema.org/draft/2020-12/schema",
}

# (draft, file, group description, test description) → why the suite's verdict is not expected. Empty.
SKIP: dict[tuple[str, str, str, str], str] = {}


def _groups() -> list[tuple[str, str, int, dict[str, Any]]]:
    found = []
    for draft in DRAFTS:
        for name in FILES:
            for index, group in enumerate(json.loads((JSTS / draft / name).read_text(encoding="utf-8"))):
                found.append((draft, name, index, group))
    return found


GROUPS = _groups()
CASES = [
    pytest.param(draft, name, index, test, id=f"{draft}/{name}#{index}/{test['description']}")
    for draft, name, index, group in GROUPS
    for test in group["tests"]
]


def _model_id(draft: str, name: str, index: int) -> str:
    stem = name.removeprefix("optional/").removesuffix(".json").lower().replace("-", "")
    return f"jsts/{draft.replace('-', '')}{stem}{index}"


def _input_schema(draft: str, group: dict[str, Any]) -> dict[str, Any]:
    """The group's schema as the one property ``v`` of an object (``$schema`` moved to the root)."""
    schema = {key: value for key, value in group["schema"].items() if key != "$schema"}
    return {"$schema": DRAFTS[draft], "type": "object", "properties": {"v": schema}, "required": ["v"]}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every group generated in one run: model id → its ``Input`` class."""
    root = tmp_path_factory.mktemp("jsts")
    schemas = {_model_id(d, n, i): _input_schema(d, g) for d, n, i, g in GROUPS}
    generate(write_schemas(root / "schemas", schemas), root / "out")
    registry = import_file(root / "out/runcomfy/models/__init__.py", "_jsts_registry")
    out = {}
    for model_id, module_path in registry.MODELS.items():
        file = root / "out" / Path(*module_path.split(".")).with_suffix(".py")
        out[model_id] = import_file(file, f"_jsts_{len(out)}").Input
    return out


def _accepts(input_cls: Any, value: Any) -> bool:
    try:
        input_cls.from_dict({"v": value})
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(("draft", "name", "index", "test"), CASES)
def test_suite_verdicts(models, draft, name, index, test):
    group = next(g for d, n, i, g in GROUPS if (d, n, i) == (draft, name, index))
    reason = SKIP.get((draft, name, group["description"], test["description"]))
    if reason:
        pytest.skip(reason)
    assert _accepts(models[_model_id(draft, name, index)], test["data"]) is test["valid"], group["schema"]


@pytest.mark.parametrize(("draft", "name", "index", "test"), CASES)
def test_oracle_agrees_with_the_suite(draft, name, index, test):
    group = next(g for d, n, i, g in GROUPS if (d, n, i) == (draft, name, index))
    judge = oracle.Oracle(_input_schema(draft, group))
    assert judge.is_valid({"v": test["data"]}) is test["valid"], group["schema"]


# --- linear time ---------------------------------------------------------------------------------

CATASTROPHIC = ["^(a+)+$", "(a|a)*b", "(a*)*b", r"\w+$", "(x+x+)+y", "^(a|aa)+$", r"^(\w+\s?)*$", "(.*a){12}"]
HUGE = 100_000
BOUND_S = 5.0  # each of these took minutes with Python's re (the bug); the linear matcher takes milliseconds


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Any:
    properties: dict[str, Any] = {f"p{i}": {"type": "string", "pattern": p} for i, p in enumerate(CATASTROPHIC)}
    properties["keys"] = {"type": "object", "patternProperties": {p: {"type": "integer"} for p in CATASTROPHIC}}
    root = tmp_path_factory.mktemp("hostile-patterns")
    generate(
        write_schemas(root / "schemas", {"acme/hostile": {"type": "object", "properties": properties}}), root / "out"
    )
    return import_file(root / "out/runcomfy/models/acme/hostile.py", "_jsts_hostile").Input


@pytest.mark.parametrize("index", range(len(CATASTROPHIC)), ids=CATASTROPHIC)
@pytest.mark.parametrize("text", ["a" * HUGE + "!", "x" * HUGE, "a " * (HUGE // 2) + "!"], ids=["a!", "x", "a-space"])
def test_catastrophic_pattern_validates_in_linear_time(hostile, index, text):
    started = time.perf_counter()
    with contextlib.suppress(ValidationError):
        hostile.from_dict({f"p{index}": text})
    assert time.perf_counter() - started < BOUND_S


@pytest.mark.parametrize("text", ["a" * HUGE + "!", "x" * HUGE + "y"], ids=["a!", "xy"])
def test_catastrophic_pattern_properties_in_linear_time(hostile, text):
    started = time.perf_counter()
    with contextlib.suppress(ValidationError):
        hostile.from_dict({"keys": {text: 1}})
    assert time.perf_counter() - started < BOUND_S * len(CATASTROPHIC)


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_patterns_go_to_the_linear_matcher(pattern):
    assert regex.translate(pattern).python is None


@pytest.mark.parametrize(
    "pattern", [r"^[a-z0-9-]+$", r"^[a-z]+\d?$", r"^\d{3}-\d{4}$", r"\.png$", "ab", r"^[A-Z][a-z]*( [A-Z][a-z]*)?$"]
)
def test_benign_patterns_keep_pythons_re_and_stay_linear(pattern):
    """The fast path: each of these is linear under backtracking (see regex._re_is_linear), and fast on
    the inputs that make backtracking engines slow."""
    translation = regex.translate(pattern)
    if pattern.endswith(")?$"):  # a group with a variable count: the linear matcher
        assert translation.python is None
        return
    assert translation.python is not None
    compiled = re.compile(translation.python)
    for text in ("a" * HUGE + "!", "1" * HUGE + "!", "A" + "a" * HUGE + " !"):
        started = time.perf_counter()
        compiled.search(text)
        assert time.perf_counter() - started < BOUND_S


# --- ECMA-262 meaning (the cases of the issue) -----------------------------------------------------

ECMA_CASES = [
    (r"^[a-z]+$", "abc\n", False),  # Python's $ matches before a final newline
    (r"^[a-z]+$", "abc", True),
    (r"^\d+$", "\u09ea\u09e8", False),  # BENGALI DIGIT FOUR, TWO: \d is [0-9]
    (r"^\d+$", "42", True),
    (r"^\w+$", "\u00e9", False),  # é: \w is [A-Za-z0-9_]
    (r"^\W$", "\u00e9", True),
    (r"^\s$", "\ufeff", True),  # U+FEFF is ECMA WhiteSpace, not Python's
    (r"^\S$", "\ufeff", False),
    (r"^\p{Letter}+$", "\u03c0\u00e9a", True),
    (r"^\p{Letter}+$", "a1", False),
    (r"^\P{L}$", "1", True),
    (r"^[\p{Lu}\d]+$", "A1\u00c9", True),
    (r"^[^\p{Lu}]+$", "a\u00c9", False),
    (r"^.$", "\u2028", False),  # . stops at every LineTerminator
    (r"^.$", "\U0001f600", True),  # one code point, not two UTF-16 units
    (r"^\u{1F600}$", "\U0001f600", True),
    (r"^\uD83D\uDE00$", "\U0001f600", True),
    (r"a\bb", "a b", False),
    (r"a\b b", "a b", True),
    (r"\bé", " é", False),  # \b is the ASCII word boundary
    (r"^\cJ$", "\n", True),
    (r"^[\b]$", "\b", True),
    (r"^\0$", "\0", True),
    (r"^\x41\/$", "A/", True),
    (r"^(?<year>\d{4})-(?:\d\d)$", "2024-01", True),
    (r"^a{2,3}?$", "aaa", True),
    (r"^[]$", "", False),
    (r"^[^]$", "\n", True),
]


@pytest.fixture(scope="module")
def ecma(tmp_path_factory: pytest.TempPathFactory) -> Any:
    properties = {f"p{i}": {"type": "string", "pattern": p} for i, (p, _, _) in enumerate(ECMA_CASES)}
    root = tmp_path_factory.mktemp("ecma-patterns")
    generate(write_schemas(root / "schemas", {"acme/ecma": {"type": "object", "properties": properties}}), root / "out")
    return import_file(root / "out/runcomfy/models/acme/ecma.py", "_jsts_ecma").Input


@pytest.mark.parametrize(("index", "case"), list(enumerate(ECMA_CASES)), ids=[repr(c[:2]) for c in ECMA_CASES])
def test_ecma_meaning(ecma, index, case):
    pattern, text, expected = case
    try:
        ecma.from_dict({f"p{index}": text})
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted is expected
    assert oracle.Oracle({"type": "string", "pattern": pattern}).is_valid(text) is expected


# --- refused patterns ----------------------------------------------------------------------------

REFUSED = [
    (r"(a)\1", "backreferences"),
    (r"(?<x>a)\k<x>", "backreferences"),
    (r"a(?=b)", "lookahead and lookbehind"),
    (r"(?<!a)b", "lookahead and lookbehind"),
    (r"\p{Script=Latin}", "Unicode property 'Script'"),
    (r"\p{Emoji}", "Unicode property 'Emoji'"),
    (r"(a|b){1000}", "more than 1000 matcher instructions"),
    (r"(?i:a)", "inline modifiers"),
    (r"a{1,1000000}", "repetition count above"),
]
INVALID = [r"a{2,1}", r"\a", r"[z-a]", r"(", r"a**", r"]", r"{1}", r"\p{Letter", r"[\d-z]", r"\u{110000}", r"^*"]


@pytest.mark.parametrize(("pattern", "reason"), REFUSED)
@pytest.mark.parametrize("where", ["pattern", "patternProperties"])
def test_refused_with_file_and_path(tmp_path, pattern, reason, where):
    if where == "pattern":
        prop, pointer = {"type": "string", "pattern": pattern}, "/input_schema/properties/a/pattern"
    else:
        prop = {"type": "object", "patternProperties": {pattern: {"type": "string"}}}
        pointer = "/input_schema/properties/a/patternProperties/" + pattern.replace("~", "~0").replace("/", "~1")
    schemas = write_schemas(tmp_path / "schemas", {"acme/r": {"type": "object", "properties": {"a": prop}}})
    with pytest.raises(GenerationError) as info:
        generate(schemas, tmp_path / "out")
    text = str(info.value)
    assert f"acme/r.json: at {pointer}: pattern {pattern!r} is not supported" in text and reason in text, text


@pytest.mark.parametrize("pattern", INVALID)
def test_invalid_syntax_refused_with_file_and_path(tmp_path, pattern):
    schema = {"type": "object", "properties": {"a": {"type": "string", "pattern": pattern}}}
    with pytest.raises(GenerationError) as info:
        generate(write_schemas(tmp_path / "schemas", {"acme/r": schema}), tmp_path / "out")
    assert "acme/r.json: at /input_schema/properties/a/pattern" in str(info.value)


# --- differential: the chosen engine, the linear matcher and the oracle agree ------------------------

_ATOMS = ["a", "b", ".", "[ab]", "[^a]", r"\d", r"\w", r"\s", r"\W", "\\n", r"\p{L}", r"[\p{Nd}b]"]
_QUANTIFIERS = ["", "", "*", "+", "?", "{2}", "{1,3}", "{0,}", "*?"]


@st.composite
def _patterns(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        if depth < 2 and draw(st.integers(0, 4)) == 0:
            options = [draw(_patterns(depth + 1)) for _ in range(draw(st.integers(1, 3)))]
            atom = "(" + "|".join(options) + ")"
        else:
            atom = draw(st.sampled_from(_ATOMS))
        parts.append(atom + draw(st.sampled_from(_QUANTIFIERS)))
    anchors = draw(st.sampled_from([("", ""), ("^", ""), ("", "$"), ("^", "$"), (r"\b", "")]))
    return anchors[0] + "".join(parts) + anchors[1]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(_patterns(), st.lists(st.text(alphabet="ab1 \n\u00e9\u0663_", max_size=8), min_size=1, max_size=6))
def test_engines_agree_with_the_oracle(pattern, texts):
    translation = regex.translate(pattern)
    matcher = Matcher(regex._Compiler().program(regex.parse(pattern)))
    chosen = re.compile(translation.python).search if translation.python is not None else matcher.search
    judge = re.compile(oracle.ecma_to_python(pattern))
    for text in texts:
        expected = judge.search(text) is not None
        assert matcher.search(text) is expected, (pattern, text)
        assert bool(chosen(text)) is expected, (pattern, text, translation.python)


def test_matcher_cache_overflow_keeps_answers_and_memory_bounded():
    """A pattern with thousands of DFA states, on random input: the cache fills, is dropped, and the
    search goes on uncached with the same answers; the cache never holds more than its bound."""
    from runcomfy import _regex

    pattern = "(a|b)*a(a|b){12}c"
    matcher = Matcher(regex.translate(pattern).program or [])

    def expected(text: str) -> bool:  # an 'a', twelve of a/b, a 'c'
        return any(text[i] == "a" and set(text[i + 1 : i + 13]) <= {"a", "b"} and text[i + 13 : i + 14] == "c"
                   for i in range(len(text) - 13))  # fmt: skip

    rng = random.Random(7)
    for round_ in range(12):
        text = "".join(rng.choice("ab") for _ in range(20_000))
        if round_ % 3 == 1:
            text += "c"
        elif round_ % 3 == 2:
            position = rng.randrange(len(text) - 20)
            text = text[:position] + "c" + text[position + 1 :]
        assert matcher.search(text) is expected(text), round_
        assert len(matcher._states) <= _regex.MAX_STATES + 1 and matcher._edges <= _regex.MAX_EDGES
