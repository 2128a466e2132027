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

MAX_STATES = 1024  # cached DFA states per matcher; the cache starts over when it would hold more
MAX_EDGES = 8192  # cached transitions per matcher, likewise

_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_START, _MID, _AFTER_WORD = 0, 1, 2  # what precedes the position: nothing, a non-word char, a word char
_AT_START, _AT_END, _PREVIOUS_WORD, _NEXT_WORD = 1, 2, 4, 8  # context bits of an empty-width step
_FLAG_CONTEXT = (_AT_START, 0, _PREVIOUS_WORD)  # by flag: what the context knows of the position


class _State:
    """The ``set`` instructions that consumed the previous character, and what that character was."""

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
    ``RegExp.prototype.test`` with the ``u`` flag), in time linear in ``len(text)``.

    A kernel is the set of ``set`` instructions that consumed the previous character. One step: the
    instructions reachable from there without input (each instruction's reach is computed once per
    context and kept), intersected with the ``set`` instructions that accept the character (computed once
    per distinct character): a few set operations in C. Steps are cached as DFA transitions; a search
    that overflows the cache (a pattern with very many DFA states) goes on without it."""

    __slots__ = ("_chars", "_code", "_edges", "_matches", "_reaches", "_sets", "_start", "_states", "_words")

    def __init__(self, program: list[Any]) -> None:
        code, sets = program
        self._code: tuple[tuple[Any, ...], ...] = tuple(tuple(instruction) for instruction in code)
        by_set: dict[int, set[int]] = {}
        for pc, op in enumerate(self._code):
            if op[0] == "set":
                by_set.setdefault(op[1], set()).add(pc)
        self._sets = tuple((_member(sets[index]), frozenset(pcs)) for index, pcs in sorted(by_set.items()))
        self._matches = frozenset(pc for pc, op in enumerate(self._code) if op[0] == "match")
        self._words = any(op[0] == "assert" and op[1] in ("b", "B") for op in self._code)
        # by context bits, then by entry instruction: what _closure found (filled in as met)
        self._reaches: list[list[frozenset[int] | None] | None] = [None] * 16
        self._reset()

    def _reset(self) -> None:
        self._states: dict[tuple[frozenset[int], int], _State] = {}
        self._chars: dict[str, frozenset[int]] = {}
        self._edges = 0
        self._start = self._state(frozenset(), _START)

    def _state(self, kernel: frozenset[int], flag: int) -> _State:
        key = (kernel, flag)
        found = self._states.get(key)
        if found is None:
            found = self._states[key] = _State(kernel, flag)
        return found

    def search(self, text: str) -> bool:
        """Whether some substring of ``text`` matches."""
        state = self._start
        for index, char in enumerate(text):
            following = state.edges.get(char)
            if following is None:
                if len(self._states) >= MAX_STATES or self._edges >= MAX_EDGES:
                    self._reset()
                    return self._search_uncached(state.kernel, state.flag, text, index)
                step = self._step(state.kernel, state.flag, char)
                following = _ACCEPT if step is None else self._state(*step)
                state.edges[char] = following
                self._edges += 1
            if following is _ACCEPT:
                return True
            state = following
        if state.end is None:
            state.end = self._ends(state.kernel, state.flag)
        return state.end

    def _search_uncached(self, kernel: frozenset[int], flag: int, text: str, start: int) -> bool:
        """``search`` from ``text[start]`` on, caching no state (the cache overflowed)."""
        for index in range(start, len(text)):
            step = self._step(kernel, flag, text[index])
            if step is None:
                return True
            kernel, flag = step
        return self._ends(kernel, flag)

    def _step(self, kernel: frozenset[int], flag: int, char: str) -> tuple[frozenset[int], int] | None:
        """The kernel and flag after ``char``, or None when a match ends before it."""
        is_word = self._words and char in _WORD
        reach = self._reach(kernel, flag, _NEXT_WORD if is_word else 0)
        if not self._matches.isdisjoint(reach):
            return None
        accepting = self._chars.get(char)
        if accepting is None:
            if len(self._chars) >= MAX_EDGES:
                self._chars.clear()
            accepting = self._chars[char] = frozenset().union(*(pcs for test, pcs in self._sets if test(char)))
        return reach & accepting, _AFTER_WORD if is_word else _MID

    def _ends(self, kernel: frozenset[int], flag: int) -> bool:
        """Whether a match ends at the end of the input."""
        return not self._matches.isdisjoint(self._reach(kernel, flag, _AT_END))

    def _reach(self, kernel: frozenset[int], flag: int, context: int) -> frozenset[int]:
        """The ``set`` and ``match`` instructions reachable without input from the instructions after the
        kernel's and from the start (a new match may begin anywhere)."""
        context |= _FLAG_CONTEXT[flag]
        table = self._reaches[context]
        if table is None:
            table = self._reaches[context] = [None] * (len(self._code) + 1)
        reach = table[0]
        if reach is None:
            reach = table[0] = self._closure(0, context)
        if kernel:
            parts = [
                found if (found := table[pc + 1]) is not None else self._fill(table, pc + 1, context) for pc in kernel
            ]
            reach = reach.union(*parts)
        return reach

    def _fill(self, table: list[frozenset[int] | None], entry: int, context: int) -> frozenset[int]:
        found = table[entry] = self._closure(entry, context)
        return found

    def _closure(self, entry: int, context: int) -> frozenset[int]:
        """The consuming and ``match`` instructions reachable from ``entry`` without input; assertions are
        decided by the context bits (start, end, word character before, word character after)."""
        code = self._code
        after_word = bool(context & _PREVIOUS_WORD)
        next_word = bool(context & _NEXT_WORD)
        holds = {
            "^": bool(context & _AT_START),
            "$": bool(context & _AT_END),
            "b": after_word != next_word,
            "B": after_word == next_word,
        }
        stack = [entry]
        seen: set[int] = set()
        found: list[int] = []
        while stack:
            pc = stack.pop()
            if pc in seen:
                continue
            seen.add(pc)
            op = code[pc]
            kind = op[0]
            if kind == "split":
                stack += (op[1], op[2])
            elif kind == "jump":
                stack.append(op[1])
            elif kind == "assert":
                if holds[op[1]]:
                    stack.append(pc + 1)
            else:  # "set" or "match"
                found.append(pc)
        return frozenset(found)
