"""The pytest plugin of ``runcomfy`` (registered as ``runcomfy`` through the ``pytest11`` entry point, so
installing the package is all the set-up a test needs). Fixtures:

- ``runcomfy_emulator``: a started :class:`~runcomfy.testing.Emulator`, stopped after the test. Its
  options come from the ``runcomfy_emulator`` marker: ``@pytest.mark.runcomfy_emulator(workers=1,
  processing_time=2.0, time_scale=100)``. Faults and queue controls are the emulator's own methods and
  attributes: ``inject("503", times=2)``, ``fail_next()``, ``chaos(0.2)``, ``clear_faults()``,
  ``queue_time``, ``processing_time``, ``workers``, ``prices``; ``jobs`` and ``calls`` show what happened.
- ``runcomfy_client``: a :class:`runcomfy.Client` bound to it, with fast retries. For the test's length,
  ``RUNCOMFY_API_TOKEN`` and ``RUNCOMFY_BASE_URL`` point at the emulator and the per-model functions
  called without ``client=`` use this client (all restored afterwards, through ``monkeypatch``).
- ``runcomfy_async_client``: the same for :class:`runcomfy.AsyncClient` (needs ``runcomfy[async]``).

The emulator needs Pillow (``pip install "runcomfy[testing]"``); this module imports neither it nor the
emulator until a fixture is used, and ``import runcomfy`` never imports pytest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from runcomfy import AsyncClient, Client
    from runcomfy.testing import Emulator

MARKER = "runcomfy_emulator"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(**options): options of the runcomfy_emulator fixture's Emulator (workers=, ...)"
    )


@pytest.fixture
def runcomfy_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A running emulator of the RunComfy Model API (options from the ``runcomfy_emulator`` marker)."""
    from runcomfy.testing import Emulator

    marker = request.node.get_closest_marker(MARKER)
    options: dict[str, Any] = {"max_side": 256, **(marker.kwargs if marker is not None else {})}
    with Emulator(**options) as emulator:
        yield emulator


def _point_at(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNCOMFY_API_TOKEN", emulator.token)
    monkeypatch.setenv("RUNCOMFY_BASE_URL", emulator.base_url)


@pytest.fixture
def runcomfy_client(runcomfy_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    """A :class:`runcomfy.Client` of the emulator, also the default client for the test's length."""
    from runcomfy import client as client_module
    from runcomfy._core import RetryPolicy
    from runcomfy.client import Client

    _point_at(runcomfy_emulator, monkeypatch)
    retry = RetryPolicy(backoff=0.01, max_backoff=0.1)
    with Client(runcomfy_emulator.token, base_url=runcomfy_emulator.base_url, retry=retry) as client:
        monkeypatch.setattr(client_module, "_default", client)
        yield client


@pytest.fixture
def runcomfy_async_client(runcomfy_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[AsyncClient]:
    """A :class:`runcomfy.AsyncClient` of the emulator, also the default async client for the test's length
    (use it inside your own event loop, e.g. ``asyncio.run`` or an async test)."""
    from runcomfy import async_client as async_module
    from runcomfy._core import RetryPolicy
    from runcomfy.async_client import AsyncClient

    _point_at(runcomfy_emulator, monkeypatch)
    retry = RetryPolicy(backoff=0.01, max_backoff=0.1)
    client = AsyncClient(runcomfy_emulator.token, base_url=runcomfy_emulator.base_url, retry=retry)
    monkeypatch.setattr(async_module, "_default", client)
    yield client
