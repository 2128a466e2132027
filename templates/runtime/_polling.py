"""When to poll ``/result`` next: quick at first, growing with the time a job has spent in its current
state, capped, reset when the state changes, and informed by how long earlier jobs of the same model took.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque

__all__ = ["DurationMemory", "PollSchedule"]

NEAR_END_MINIMUM = 0.05
"""The shortest delay between polls around a job's expected end (seconds)."""


@dataclasses.dataclass(frozen=True)
class PollSchedule:
    """The polling schedule of ``run()`` / ``result()``.

    - ``first``: delay before the first poll after submitting (0 polls at once).
    - After that the delay is ``growth`` × the time spent in the current state (queued, running), never
      under ``minimum`` nor over ``maximum``; a state change starts it again from ``minimum``.
    - With ``learn`` (default), once a model's earlier jobs have shown how long it takes, the first poll
      waits until shortly before that expected end (``lead`` × the expected duration early), the next
      ones come every ``lead`` × that duration until a little past it, then the schedule above takes over.
    - A ``Retry-After`` sent by the server always wins.
    """

    first: float = 1.0
    growth: float = 0.15
    minimum: float = 0.4
    maximum: float = 5.0
    learn: bool = True
    lead: float = 0.1  # how early, relative to the expected end, the learned first poll comes

    def next_delay(self, *, polls: int, in_state: float, elapsed: float, expected: float | None) -> float:
        """Seconds to wait before the next poll.

        ``polls`` made so far, ``in_state`` seconds since the state last changed, ``elapsed`` since submit,
        ``expected`` the model's expected duration (or ``None``).
        """
        if expected is not None and self.learn:
            remaining = expected * (1 - self.lead) - elapsed
            if remaining > self.minimum:
                return remaining
            if elapsed < expected * (1 + 4 * self.lead):  # around the expected end: look closely
                return min(self.maximum, max(NEAR_END_MINIMUM, self.lead * expected, remaining))
        if polls == 0:
            return self.first
        return min(self.maximum, max(self.minimum, self.growth * in_state))


class DurationMemory:
    """The recent durations (submit → seen finished) of each model's successful jobs, thread-safe."""

    def __init__(self, size: int = 20) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._durations: dict[str, deque[float]] = {}

    def record(self, model_id: str, seconds: float) -> None:
        with self._lock:
            self._durations.setdefault(model_id, deque(maxlen=self._size)).append(seconds)

    def expected(self, model_id: str) -> float | None:
        """The median of the recorded durations (None before the first)."""
        with self._lock:
            seen = self._durations.get(model_id)
            if not seen:
                return None
            ordered = sorted(seen)
            middle = len(ordered) // 2
            return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
