"""SIGTERM handled as Ctrl-C is: ``docker stop``, systemd, CI cancellation and ``timeout`` send SIGTERM,
whose default action ends the process at once (a submit under way is then never recorded, and a queued
job never cancelled). Within :func:`sigterm_raises`, SIGTERM raises :class:`Terminated` instead, where a
Ctrl-C would raise ``KeyboardInterrupt``, so the same clean-up runs; the exit code is then 143 (128 + 15),
as a shell reports a process ended by SIGTERM (Ctrl-C: 130).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["INTERRUPTS", "Terminated", "exit_code", "sigterm_raises"]

EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(SystemExit):
    """SIGTERM arrived: raised where it arrived (like ``KeyboardInterrupt`` for Ctrl-C). A ``SystemExit``
    with code 143, so that, uncaught, it ends the program quietly with the status a supervisor expects;
    ``except Exception`` does not catch it."""

    def __init__(self) -> None:
        super().__init__(EXIT_TERMINATED)


INTERRUPTS = (KeyboardInterrupt, Terminated)
"""What stopping from outside raises: ``except INTERRUPTS`` handles Ctrl-C and SIGTERM alike."""


def exit_code(interrupt: BaseException) -> int:
    """The command's exit code after ``interrupt``: 143 for SIGTERM, 130 for Ctrl-C."""
    return EXIT_TERMINATED if isinstance(interrupt, Terminated) else EXIT_INTERRUPTED


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, the first SIGTERM raises :class:`Terminated` and later ones are ignored (the
    clean-up it starts is bounded; a supervisor's SIGKILL still ends it). Installed only on the main
    thread (the only one Python runs signal handlers on) and only over the default action: a program
    that set its own SIGTERM handler keeps it. The previous handler is restored on leaving."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    received = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal received
        if not received:
            received = True
            raise Terminated

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):  # a generator closed on another thread: nothing to restore there
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
