"""Testing helpers: :class:`Emulator`, a local emulator of the RunComfy Model API (a real HTTP server).

::

    from runcomfy.testing import Emulator

    with Emulator(processing_time=2.0, time_scale=100) as emu:
        ...  # point a client at emu.base_url with emu.token
        emu.inject("503", times=2, path_prefix="/v1/requests")
        emu.fail_next()
        emu.inject("hang", path_prefix="/v1/requests")   # read, never answered
        emu.chaos(0.2, seed=1)                            # random faults on /v1/ (chaos(None): off)

Run it by hand with ``runcomfy emulator`` (or ``python -m runcomfy.testing --port 8787``); in pytest, use
the fixtures ``runcomfy_emulator`` and ``runcomfy_client`` (:mod:`runcomfy.testing.pytest_plugin`). It
needs Pillow (``pip install "runcomfy[testing]"``).
"""

from __future__ import annotations

from ._emulator import CHAOS_KINDS, FAULTS, MAX_INPUT_BYTES, Call, Emulator, Fault, Job, Price, categories_of

__all__ = ["CHAOS_KINDS", "FAULTS", "MAX_INPUT_BYTES", "Call", "Emulator", "Fault", "Job", "Price", "categories_of"]
