"""Linear-time matching of the schema patterns that Python's ``re`` could not run in linear time.

The generator reads each ``pattern`` as the ECMA-262 regular expression it is and, when a backtracking
engine could take more than linear time on it (``^(a+)+$``, ``\\w+$``, ...), compiles it to a small
program for :class:`Matcher` (see ``runcomfy_codegen/regex.py`` for the instruction set). The program is
an NFA, run here in lock step over the input's code points (Thompson's construction, as in RE2): every
input character costs at most O(program size), whatever the pattern, so validation time is linear in the
input. The sets of NFA states met are cached as DFA states (a bounded cache, dropped when full), so a
typical input costs one dictionary look-up per character.

Pure Python, no dependency beyond ``unicodedata`` (for ``\\p{...}`` general categories).
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from typing import Any

__all__ = ["Matcher"]

MAX_STATES = 256  # cached DFA states per matcher; the cache starts over when it would hold more
MAX_EDGES = 8192  # cached transitions per matcher, likewise

_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_START, _MID, _AFTER_WORD = 0, 1, 2  # what precedes the position: nothing, a non-word char, a word char


class _State:
    """A set of NFA threads waiting to consume the next character, and what came before it."""

    __slots__ = ("edges", "end", "flag", "kernel")

    def __init__(self, kernel: frozenset[int], flag: int) -> None:
        self.kernel = kernel
        self.flag = flag
        self.edges: dict[str, _State] = {}
        self.end: bool | None = None  # whether a match ends at the end of the input, once known


_ACCEPT = _State(frozenset(), -1)


def _member(spec: list[Any]) -> Callable[[str], bool]:
    """The membership test of one set of the program: ``[negate, bounds, cats, notcats]``."""
    negate, raw_bounds, raw_cats, raw_notcats = spec
    bounds = tuple(raw_bounds)
    cats = frozenset(raw_cats)
    notcats = None if raw_notcats is None else frozenset(raw_notcats)
    by_category = bool(cats) or notcats is not None

    def member(char: str) -> bool:
        found = bool(bisect_right(bounds, ord(char)) & 1)
        if not found and by_category:
            category = unicodedata.category(char)
            found = category in cats or (notcats is not None and category not in notcats)
        return found is not negate

    return member


class Matcher:
    """``search(text)``: whether the compiled pattern matches somewhere in ``text`` (ECMA-262
    ``RegExp.prototype.test`` with the ``u`` flag), in time linear in ``len(text)``."""

    __slots__ = ("_code", "_edges", "_sets", "_start", "_states", "_words")

    def __init__(self, program: list[Any]) -> None:
        code, sets = program
        self._code: tuple[tuple[Any, ...], ...] = tuple(tuple(instruction) for instruction in code)
        self._sets = tuple(_member(spec) for spec in sets)
        self._words = any(op[0] == "assert" and op[1] in ("b", "B") for op in self._code)
        self._reset()

    def _reset(self) -> None:
        self._states: dict[tuple[frozenset[int], int], _State] = {}
        self._edges = 0
        self._start = self._state(frozenset((0,)), _START)

    def _state(self, kernel: frozenset[int], flag: int) -> _State:
        key = (kernel, flag)
        found = self._states.get(key)
        if found is None:
            if len(self._states) >= MAX_STATES:
                self._reset()
            found = self._states[key] = _State(kernel, flag)
        return found

    def search(self, text: str) -> bool:
        """Whether some substring of ``text`` matches."""
        state = self._start
        for char in text:
            following = state.edges.get(char)
            if following is None:
                following = self._step(state, char)
            if following is _ACCEPT:
                return True
            state = following
        if state.end is None:
            state.end = self._closure(state, at_end=True, next_word=False)[1]
        return state.end

    def _step(self, state: _State, char: str) -> _State:
        """The state after ``char`` (or ``_ACCEPT`` when a match ends before it), cached on ``state``."""
        is_word = self._words and char in _WORD
        consumers, matched = self._closure(state, at_end=False, next_word=is_word)
        if matched:
            following = _ACCEPT
        else:
            sets, code = self._sets, self._code
            kernel = frozenset([0, *(pc + 1 for pc in consumers if sets[code[pc][1]](char))])
            following = self._state(kernel, _AFTER_WORD if is_word else _MID)
        if self._edges >= MAX_EDGES:
            self._reset()
        else:
            self._edges += 1
            state.edges[char] = following
        return following

    def _closure(self, state: _State, *, at_end: bool, next_word: bool) -> tuple[list[int], bool]:
        """The consuming instructions reachable from the state's threads without input, and whether a
        ``match`` is: assertions are decided by what precedes (``state.flag``) and follows the position."""
        code = self._code
        at_start = state.flag == _START
        after_word = state.flag == _AFTER_WORD
        stack = list(state.kernel)
        seen: set[int] = set()
        consumers: list[int] = []
        matched = False
        while stack:
            pc = stack.pop()
            if pc in seen:
                continue
            seen.add(pc)
            op = code[pc]
            kind = op[0]
            if kind == "set":
                consumers.append(pc)
            elif kind == "split":
                stack += (op[1], op[2])
            elif kind == "jump":
                stack.append(op[1])
            elif kind == "assert":
                test = op[1]
                if (
                    (test == "^" and at_start)
                    or (test == "$" and at_end)
                    or (test == "b" and after_word != next_word)
                    or (test == "B" and after_word == next_word)
                ):
                    stack.append(pc + 1)
            else:
                matched = True
        return consumers, matched
