"""Polling that learns, robustly: one slow job (or one answer with skewed timestamps) does not delay the
results of the next jobs; the first poll of any job comes no later than ``PollSchedule.first``; and an
answer that completes at a wait's deadline is used, not thrown away (nor its job cancelled)."""

from __future__ import annotations

import asyncio
import http.server
import socketserver
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import IMAGE
from runcomfy import errors
from runcomfy._core import HandleBase, RetryPolicy, Waiter
from runcomfy._http import Transport
from runcomfy._polling import DurationMemory, PollSchedule
from runcomfy.async_client import AsyncClient, AsyncTransport
from runcomfy.client import Client, Result
from runcomfy.models.google.nano_banana_2 import edit
from runcomfy.testing import Emulator

MODEL = edit.MODEL_ID


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(max_side=64) as emulator:
        yield emulator


class RecordingSleep:
    """A real ``time.sleep`` that records the delays asked for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        time.sleep(seconds)


# --- what is learned --------------------------------------------------------------------------------


def test_one_slow_job_does_not_move_the_expected_duration() -> None:
    memory = DurationMemory()
    memory.record(MODEL, 10.0)
    memory.record(MODEL, 0.3)
    assert memory.expected(MODEL) == pytest.approx(0.3)
    for _ in range(5):
        memory.record(MODEL, 0.3)
    memory.record(MODEL, 600.0)
    assert memory.expected(MODEL) == pytest.approx(0.3)


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), -5.0, 1e12])
def test_durations_that_make_no_sense_are_ignored_or_clamped(seconds: float) -> None:
    memory = DurationMemory()
    memory.record(MODEL, seconds)
    expected = memory.expected(MODEL)
    assert expected is None or 0.0 <= expected <= 24 * 3600


@pytest.mark.parametrize("expected", [0.5, 3.0, 10.0, 600.0, 1e9])
def test_the_first_poll_never_comes_later_than_the_first_poll_of_an_unknown_job(expected: float) -> None:
    schedule = PollSchedule()
    delay = schedule.next_delay(polls=0, in_state=0.0, elapsed=0.0, expected=expected)
    assert 0.0 <= delay <= schedule.first
    assert schedule.next_delay(polls=1, in_state=1.0, elapsed=1.0, expected=10.0) == pytest.approx(9.05)  # learned


def finished(created: str, done: str) -> dict[str, Any]:
    return {"request_id": "r1", "status": "succeeded", "created_at": created, "finished_at": done, "output": {}}


@pytest.mark.parametrize(
    ("created", "done"),
    [("2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z"), ("2020-01-01T00:00:00Z", "2031-01-01T00:00:00Z")],
)
def test_timestamps_that_disagree_with_what_the_client_saw_are_ignored(created: str, done: str) -> None:
    memory = DurationMemory()
    waiter: Waiter[Any] = Waiter(
        HandleBase(None, "r1", "test/model", None), limit=60.0, begin=time.monotonic() - 2.0, poll=PollSchedule(),
        durations=memory,
    )  # fmt: skip
    waiter.observe(finished(created, done), None)
    assert isinstance(waiter.finish(), Result)
    learned = memory.expected("test/model")
    assert learned is not None and 1.5 <= learned <= 3.0  # what the client saw: about 2 s, not a day


def test_timestamps_that_agree_are_used() -> None:
    memory = DurationMemory()
    waiter: Waiter[Any] = Waiter(
        HandleBase(None, "r1", "test/model", None), limit=60.0, begin=time.monotonic() - 2.0, poll=PollSchedule(),
        durations=memory,
    )  # fmt: skip
    waiter.observe(finished("2020-01-01T00:00:00Z", "2020-01-01T00:00:01.500Z"), None)
    waiter.finish()
    assert memory.expected("test/model") == pytest.approx(1.5)  # the server's: without our polling delay


# --- the clients -----------------------------------------------------------------------------------


def test_a_slow_job_does_not_delay_the_next_quick_ones_sync(emu: Emulator) -> None:
    sleep = RecordingSleep()
    with Client(token=emu.token, base_url=emu.base_url, sleep=sleep) as client:
        client.durations.record(MODEL, 10.0)  # one slow job seen before
        emu.processing_time = 0.3
        for _ in range(2):
            sleep.delays.clear()
            started = time.monotonic()
            assert client.run(edit.Input(prompt="p", image_urls=[IMAGE]), timeout=30).output.images
            assert sleep.delays[0] <= PollSchedule().first, sleep.delays
            assert time.monotonic() - started < 5.0  # the bug: 9.3 s, then 4.8 s


def test_a_slow_job_does_not_delay_the_next_quick_ones_async(emu: Emulator) -> None:
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        await asyncio.sleep(seconds)

    async def main() -> None:
        async with AsyncClient(token=emu.token, base_url=emu.base_url, sleep=sleep) as client:
            client.durations.record(MODEL, 10.0)
            emu.processing_time = 0.3
            for _ in range(2):
                delays.clear()
                assert (await client.run(edit.Input(prompt="p", image_urls=[IMAGE]), timeout=30)).output.images
                assert delays[0] <= PollSchedule().first, delays

    asyncio.run(main())


# --- the answer at the deadline ---------------------------------------------------------------------------


def test_a_success_answered_at_the_deadline_is_used_and_not_cancelled(emu: Emulator) -> None:
    emu.processing_time = 0.2
    # The first poll is due after the deadline: it is made at the deadline, and sees the job succeeded.
    with Client(token=emu.token, base_url=emu.base_url, poll=PollSchedule(first=30.0, learn=False)) as client:
        result = client.run(edit.Input(prompt="p", image_urls=[IMAGE]), timeout=0.8)
    assert isinstance(result, Result) and result.output.images
    assert not [call for call in emu.calls if call.path.endswith("/cancel")]
    assert emu.jobs[result.request_id].status == "succeeded"


BODY = b'{"request_id": "r1", "status": "succeeded", "output": {"images": ["https://example.com/a.png"]}}'
LEFT = 0.4  # seconds left before the call's deadline (and so its read timeout)
GAP = 0.16  # between the parts of the body: under the read timeout; the four parts take longer than LEFT


class _SlowBody(http.server.BaseHTTPRequestHandler):
    """Answers every GET at once with its status line and headers, then the body in four parts, ``GAP``
    seconds apart: each gap is shorter than a read timeout, the whole answer ends after the deadline."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        size = len(BODY) // 4 + 1
        for index in range(4):
            if index:
                time.sleep(GAP)
            self.wfile.write(BODY[index * size : (index + 1) * size])
            self.wfile.flush()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_body_server() -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SlowBody)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


NO_RETRY = RetryPolicy(max_retries=0)
PATH = "/v1/requests/r1/result"


def test_an_answer_finishing_just_after_the_deadline_is_used_sync(slow_body_server: str) -> None:
    transport = Transport("token", slow_body_server, timeout=5.0, connect_timeout=5.0, retry=NO_RETRY)
    try:
        transport.call("GET", PATH, request_id="r1")  # warm: imports, connection
        body, _ = transport.call("GET", PATH, request_id="r1", deadline=time.monotonic() + LEFT)
    finally:
        transport.close()
    assert body["status"] == "succeeded"


def test_an_answer_finishing_just_after_the_deadline_is_used_async(slow_body_server: str) -> None:
    async def main() -> dict[str, Any]:
        transport = AsyncTransport("token", slow_body_server, timeout=5.0, connect_timeout=5.0, retry=NO_RETRY)
        try:
            await transport.call("GET", PATH, request_id="r1")  # warm: imports, pools
            body, _ = await transport.call("GET", PATH, request_id="r1", deadline=time.monotonic() + LEFT)
        finally:
            await transport.aclose()
        return body

    assert asyncio.run(main())["status"] == "succeeded"


def test_an_answer_still_arriving_well_past_the_deadline_is_given_up(emu: Emulator) -> None:
    emu.inject("trickle", method="GET", path_prefix="/v1/requests/", delay=0.05)
    transport = Transport(emu.token, emu.base_url, timeout=5.0, connect_timeout=5.0, retry=NO_RETRY)
    started = time.monotonic()
    with pytest.raises(errors.APIConnectionError):
        transport.call("GET", PATH, request_id="r1", deadline=started + 0.2)
    assert time.monotonic() - started < 2.0  # the deadline and a small grace, not the whole trickle (~10 s)
    transport.close()
