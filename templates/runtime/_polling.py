"""When to poll ``/result`` next: quick at first, growing with the time a job has spent in its current
state, capped, reset when the state changes, and informed by how long earlier jobs of the same model took
(robustly: one slow job, or one answer with odd timestamps, does not delay the next jobs' results).
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections import deque

__all__ = ["DurationMemory", "PollSchedule"]

NEAR_END_MINIMUM = 0.05
"""The shortest delay between polls around a job's expected end, and how long after that end the poll
aimed at it comes (seconds)."""
MAX_LEARNED = 6 * 3600.0
"""The longest duration :class:`DurationMemory` keeps (seconds): a longer one is kept as this."""


@dataclasses.dataclass(frozen=True)
class PollSchedule:
    """The polling schedule of ``run()`` / ``result()``.

    - ``first``: delay before the first poll after submitting (0 polls at once).
    - After that the delay is ``growth`` × the time spent in the current state (queued, running), never
      under ``minimum`` nor over ``maximum``; a state change starts it again from ``minimum``.
    - With ``learn`` (default), once a model's earlier jobs have shown how long it takes (the expected
      duration: a low quantile of the recent ones, see :class:`DurationMemory`), the next poll waits until
      just past that expected end, the next ones come every ``lead`` × that duration until a little past
      it, then the schedule above takes over. The first poll never comes later than ``first``: whatever
      was learned, a job quicker than expected is seen as soon as a job of an unknown model would be.
    - A ``Retry-After`` sent by the server always wins.
    """

    first: float = 1.0
    growth: float = 0.15
    minimum: float = 0.4
    maximum: float = 5.0
    learn: bool = True
    lead: float = 0.1  # around the expected end, the polls come every lead × the expected duration

    def next_delay(self, *, polls: int, in_state: float, elapsed: float, expected: float | None) -> float:
        """Seconds to wait before the next poll.

        ``polls`` made so far, ``in_state`` seconds since the state last changed, ``elapsed`` since submit,
        ``expected`` the model's expected duration (or ``None``).
        """
        learned = self._learned(elapsed, expected) if expected is not None and self.learn else None
        if polls == 0:
            return self.first if learned is None else min(learned, self.first)
        if learned is not None:
            return learned
        return min(self.maximum, max(self.minimum, self.growth * in_state))

    def _learned(self, elapsed: float, expected: float) -> float | None:
        """The delay the expected duration calls for (until just past the expected end, then every
        ``lead`` × it), or ``None`` once the job is well past it. The expectation is already on the early
        side (a low quantile): a poll aimed just after it finds most jobs done."""
        remaining = expected + NEAR_END_MINIMUM - elapsed
        if remaining > 0:
            return remaining
        if elapsed < expected * (1 + 4 * self.lead):  # around the expected end: look closely
            return min(self.maximum, max(NEAR_END_MINIMUM, self.lead * expected))
        return None


class DurationMemory:
    """The recent durations (submit → finished) of each model's successful jobs, thread-safe.

    What it expects is a low quantile (``quantile``, default the first quartile) of the last ``size``
    durations, not their mean nor median: one slow job among quick ones does not move it, and a
    duration expected too short costs a poll or two, where one expected too long delays a result.
    """

    def __init__(self, size: int = 20, *, quantile: float = 0.25) -> None:
        self._size = size
        self._quantile = quantile
        self._lock = threading.Lock()
        self._durations: dict[str, deque[float]] = {}

    def record(self, model_id: str, seconds: float) -> None:
        """Remember one duration: kept within 0 .. :data:`MAX_LEARNED`; one that is not a number, ignored."""
        if not math.isfinite(seconds):
            return
        with self._lock:
            seen = self._durations.setdefault(model_id, deque(maxlen=self._size))
            seen.append(min(max(seconds, 0.0), MAX_LEARNED))

    def expected(self, model_id: str) -> float | None:
        """The ``quantile`` of the recorded durations (the lower one between two), ``None`` before the first."""
        with self._lock:
            seen = self._durations.get(model_id)
            if not seen:
                return None
            return sorted(seen)[int(self._quantile * (len(seen) - 1))]
