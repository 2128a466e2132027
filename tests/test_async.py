"""The asyncio client (``runcomfy.AsyncClient``, ``edit.run_async``) over real HTTP (httpx) against the local
emulator: the same behaviour as the sync client, plus concurrency, handles as data, and the lazy imports."""

from __future__ import annotations

import asyncio
import logging
import pickle
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
import runcomfy
import runcomfy.async_client
import runcomfy.client
from conftest import IMAGE, submits
from runcomfy import errors
from runcomfy._core import RetryPolicy
from runcomfy._polling import PollSchedule
from runcomfy.async_client import AsyncClient, AsyncRequestHandle, _never_sent
from runcomfy.client import Client, JobStatus, RequestHandle, Result
from runcomfy.models.google.nano_banana_2 import edit
from runcomfy.testing import Emulator

FAST_POLL = PollSchedule(first=0.0, minimum=0.02, growth=0.1, maximum=0.2, learn=False)
FAST_RETRY = RetryPolicy(max_retries=3, backoff=0.01, max_backoff=0.05)


@pytest.fixture
def emu():
    with Emulator(max_side=64) as emulator:
        yield emulator


def make_client(emu: Emulator, **options: Any) -> AsyncClient:
    settings: dict[str, Any] = {"poll": FAST_POLL, "retry": FAST_RETRY, "timeout": 5}
    return AsyncClient(token=emu.token, base_url=emu.base_url, **{**settings, **options})


class Sleeps:
    """An async ``sleep`` that records the delays asked for and does not wait."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


def test_run_async_end_to_end_typed_output_callbacks_and_save(emu, tmp_path):
    emu.processing_time = 0.3
    updates: list[JobStatus] = []
    awaited: list[str] = []

    async def record(update: JobStatus) -> None:  # a coroutine function: awaited
        await asyncio.sleep(0)
        awaited.append(update.status)

    async def main() -> tuple[Result[edit.Output], Result[edit.Output]]:
        async with make_client(emu) as client:
            first = await edit.run_async(
                prompt="night", image_urls=[IMAGE], num_images=2, client=client, on_update=updates.append
            )
            second = await client.run(edit.Input(prompt="x", image_urls=[IMAGE]), on_update=record)
            return first, second

    result, second = asyncio.run(main())
    assert isinstance(result, Result) and isinstance(result.output, edit.Output)
    assert len(result.output.images or []) == 2 and result.status == "succeeded"
    assert result.created_at and result.finished_at and result.model_id == edit.MODEL_ID
    assert [u.status for u in updates][-1] == "succeeded" and "in_progress" in [u.status for u in updates]
    assert awaited[-1] == "succeeded" and second.output.images
    paths = result.save(tmp_path)
    assert [p.name for p in paths] == [f"{result.request_id}_images_0.png", f"{result.request_id}_images_1.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)
    assert not any(c.had_auth for c in emu.calls if c.path.startswith("/files/"))


def test_validation_happens_before_any_call(emu):
    client = make_client(emu)
    with pytest.raises(runcomfy.ValidationError):
        asyncio.run(edit.run_async(prompt="p", image_urls=["not a url"], client=client))
    with pytest.raises(runcomfy.ValidationError):
        asyncio.run(edit.submit_async(prompt="p", image_urls=[IMAGE], num_images=9, client=client))
    with pytest.raises(TypeError):
        asyncio.run(edit.submit_async(edit.Input(prompt="p", image_urls=[IMAGE]), prompt="again", client=client))  # type: ignore[call-overload]
    assert emu.calls == []


def test_submit_status_cancel_and_result_of_a_cancelled_job(emu):
    emu.queue_time, emu.queue_position, emu.processing_time = 30.0, 3, 0.0

    async def main() -> None:
        async with make_client(emu) as client:
            handle = await edit.submit_async(prompt="p", image_urls=[IMAGE], client=client)
            assert isinstance(handle, AsyncRequestHandle) and handle.model_id == edit.MODEL_ID
            status = await handle.status()
            assert status.status == "in_queue" and status.queue_position and status.queue_position >= 1
            assert await handle.cancel() == "cancelled"
            assert (await client.status(handle.request_id)).status == "cancelled"
            with pytest.raises(errors.JobCancelledError) as info:
                await handle.result(timeout=5)
            assert info.value.request_id == handle.request_id

    asyncio.run(main())


def test_completed_vs_succeeded_and_not_cancellable(emu):
    async def main() -> None:
        client = make_client(emu)
        handle = await client.submit(edit.Input(prompt="p", image_urls=[IMAGE]))
        assert (await handle.result(timeout=5)).status == "succeeded"
        assert (await handle.status()).status == "completed"
        assert await handle.cancel() == "not_cancellable"
        resumed = client.get_request(handle.request_id, model="google/nano-banana-2/edit")
        assert isinstance((await resumed.result(timeout=5)).output, edit.Output)
        untyped = client.get_request(handle.request_id)
        assert isinstance((await untyped.result(timeout=5)).output, dict)
        await client.aclose()

    asyncio.run(main())


def test_deadline_cancels_a_queued_job(emu):
    emu.queue_time = 60.0
    started = time.monotonic()
    with pytest.raises(runcomfy.TimeoutError) as info:
        asyncio.run(edit.run_async(prompt="p", image_urls=[IMAGE], client=make_client(emu), timeout=0.5))
    assert time.monotonic() - started < 1.5
    error = info.value
    assert isinstance(error, TimeoutError) and error.cancelled and error.request_id
    assert emu.jobs[error.request_id].status == "cancelled"


def test_deadline_leaves_a_running_job(emu):
    emu.processing_time = 60.0
    with pytest.raises(runcomfy.TimeoutError) as info:
        asyncio.run(edit.run_async(prompt="p", image_urls=[IMAGE], client=make_client(emu), timeout=0.4))
    assert not info.value.cancelled and info.value.status == "in_progress"
    assert emu.jobs[info.value.request_id].status != "cancelled"


def test_the_deadline_bounds_a_slow_http_call(emu):
    emu.processing_time = 60.0
    emu.inject("slow", times=5, path_prefix="/v1/requests", delay=3.0)
    started = time.monotonic()
    with pytest.raises((runcomfy.TimeoutError, errors.APIConnectionError)):
        asyncio.run(edit.run_async(prompt="p", image_urls=[IMAGE], client=make_client(emu, timeout=30), timeout=0.5))
    assert time.monotonic() - started < 1.5


def test_failed_job(emu):
    emu.fail_next()
    with pytest.raises(errors.JobFailedError) as info:
        asyncio.run(edit.run_async(prompt="p", image_urls=[IMAGE], client=make_client(emu)))
    assert info.value.request_id and info.value.error


def test_error_mapping_and_http_200_with_an_error_body(emu):
    async def main() -> None:
        client = make_client(emu)
        with pytest.raises(errors.AuthenticationError) as auth:
            await AsyncClient(token="wrong", base_url=emu.base_url).status("x")
        assert auth.value.status_code == 401 and auth.value.error_code == 400004
        with pytest.raises(errors.NotFoundError) as missing:
            await client.status("no-such-request")
        assert missing.value.error_code == 404001 and missing.value.request_id == "no-such-request"
        value = edit.Input(prompt="p", image_urls=[IMAGE])
        value.num_images = 99  # bypass client-side validation: the server answers 422
        with pytest.raises(errors.InvalidInputError) as invalid:
            await client.submit(value)
        assert invalid.value.status_code == 422 and "num_images" in str(invalid.value.body)
        emu.inject("error_200", path_prefix="/v1/models/")
        with pytest.raises(errors.InsufficientBalanceError) as balance:
            await edit.submit_async(prompt="p", image_urls=[IMAGE], client=client)
        assert balance.value.error_code == 400002

    asyncio.run(main())


def test_gets_are_retried_on_429_503_drops_and_garbage(emu):
    emu.processing_time = 0.2
    client = make_client(emu, retry=RetryPolicy(max_retries=4, backoff=0.01))

    async def main() -> Result[edit.Output]:
        handle = await edit.submit_async(prompt="p", image_urls=[IMAGE], client=client)
        emu.inject("429", path_prefix="/v1/requests", retry_after=0)
        emu.inject("503", path_prefix="/v1/requests")
        emu.inject("drop", path_prefix="/v1/requests")
        emu.inject("malformed", path_prefix="/v1/requests")
        return await handle.result(timeout=10)

    assert asyncio.run(main()).output.images
    assert submits(emu) == 1 and [c.fault for c in emu.calls if c.fault] == ["429", "503", "drop", "malformed"]


def test_retry_after_is_honoured_and_capped(emu):
    sleeps = Sleeps()
    policy = RetryPolicy(max_retries=2, backoff=0.01, max_retry_after=0.3)
    client = AsyncClient(token=emu.token, base_url=emu.base_url, retry=policy, sleep=sleeps)
    emu.inject("429", path_prefix="/v1/requests", retry_after=0.2)
    emu.inject("429", path_prefix="/v1/requests", retry_after=100)
    with pytest.raises(errors.NotFoundError):
        asyncio.run(client.status("x"))
    assert sleeps.delays == [0.2, 0.3]


def test_persistent_errors_raise_after_the_retries(emu):
    emu.inject("500", times=10, path_prefix="/v1/requests")
    with pytest.raises(errors.ServerError):
        asyncio.run(make_client(emu).status("x"))
    assert len([c for c in emu.calls if c.fault == "500"]) == 4  # 1 + 3 retries


def test_submit_is_not_retried_when_the_request_may_have_arrived(emu):
    client = make_client(emu)
    emu.inject("drop", path_prefix="/v1/models/")
    with pytest.raises(errors.SubmitUncertainError, match="may exist"):
        asyncio.run(edit.submit_async(prompt="p", image_urls=[IMAGE], client=client))
    assert submits(emu) == 1 and len(emu.jobs) == 1  # the job exists, and no second one was made
    emu.inject("502", path_prefix="/v1/models/")  # a gateway's 502 may come after the job was made
    with pytest.raises(errors.SubmitUncertainError, match="HTTP 502"):
        asyncio.run(edit.submit_async(prompt="p", image_urls=[IMAGE], client=client))
    emu.inject("503", path_prefix="/v1/models/")  # 503: not taken, so retried
    assert asyncio.run(edit.submit_async(prompt="p", image_urls=[IMAGE], client=client)).request_id
    assert submits(emu) == 4 and len(emu.jobs) == 2
    emu.inject("slow", path_prefix="/v1/models/", delay=1.0)  # a read timeout after sending: uncertain too
    with pytest.raises(errors.SubmitUncertainError):
        asyncio.run(edit.submit_async(prompt="p", image_urls=[IMAGE], client=make_client(emu, timeout=0.2)))
    time.sleep(1.0)  # the emulator logs the slow call once it answers
    assert submits(emu) == 5 and len(emu.jobs) == 3  # the 502 and 503 made no job; the retry and the slow one did


def test_submit_is_retried_when_it_provably_never_arrived(emu):
    base_url = emu.base_url
    emu.stop()  # nothing listens: connection refused
    sleeps = Sleeps()
    client = AsyncClient(token="t", base_url=base_url, retry=FAST_RETRY, sleep=sleeps)
    with pytest.raises(errors.APIConnectionError) as info:
        asyncio.run(edit.submit_async(prompt="p", image_urls=[IMAGE], client=client))
    assert not isinstance(info.value, errors.SubmitUncertainError)
    assert len(sleeps.delays) == 3  # retried: the request never reached a server


def test_submit_is_retried_on_429(emu):
    emu.inject("429", path_prefix="/v1/models/", retry_after=0)
    assert asyncio.run(edit.submit_async(prompt="p", image_urls=[IMAGE], client=make_client(emu))).request_id
    assert len(emu.jobs) == 1


def test_httpx_errors_are_classified_like_requests_ones():
    request = httpx.Request("POST", "https://model-api.runcomfy.net/v1/models/a/b")
    for never in (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
        assert _never_sent(never("no", request=request))
    for maybe in (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
        assert not _never_sent(maybe("broken", request=request))


def test_no_call_hangs_on_a_slow_server(emu):
    client = AsyncClient(token=emu.token, base_url=emu.base_url, timeout=0.3, retry=RetryPolicy(max_retries=0))
    emu.inject("slow", delay=2.0)
    started = time.monotonic()
    with pytest.raises(errors.APIConnectionError):
        asyncio.run(client.status("x"))
    assert time.monotonic() - started < 1.0


def test_fifty_concurrent_runs():
    with Emulator(max_side=64, processing_time=0.3) as emu:
        _fifty_concurrent_runs(emu)


def _fifty_concurrent_runs(emu: Emulator) -> None:
    async def main() -> list[Result[edit.Output]]:
        async with make_client(emu) as client:
            runs = [edit.run_async(prompt=f"p{i}", image_urls=[IMAGE], client=client, timeout=60) for i in range(50)]
            return await asyncio.gather(*runs)

    started = time.monotonic()
    results = asyncio.run(main())
    assert time.monotonic() - started < 30
    assert len({r.request_id for r in results}) == 50 and all(r.output.images for r in results)
    assert submits(emu) == 50 and all(job.status == "succeeded" for job in emu.jobs.values())


def test_the_token_never_leaks(emu, caplog, monkeypatch):
    secret = "s3cr3t-token-value"
    monkeypatch.setenv("RUNCOMFY_LOG", "debug")
    caplog.set_level(logging.DEBUG, logger="runcomfy")
    client = AsyncClient(token=secret, base_url=emu.base_url, retry=FAST_RETRY)
    assert secret not in repr(client) and secret not in repr(client._transport)
    emu.inject("500", times=10)
    for call in (lambda: client.status("x"), lambda: edit.submit_async(prompt="p", image_urls=[IMAGE], client=client)):
        with pytest.raises(runcomfy.RunComfyError) as info:
            asyncio.run(call())
        assert secret not in str(info.value) and secret not in repr(info.value.__dict__)
    emu.stop()
    with pytest.raises(errors.APIConnectionError) as refused:
        asyncio.run(client.status("x"))
    assert secret not in str(refused.value) and secret not in repr(refused.value.__dict__)
    handle = client.get_request("r1")
    assert secret not in repr(handle) and secret not in str(handle.to_dict())
    assert secret.encode() not in pickle.dumps(handle)
    assert caplog.records and all(secret not in record.getMessage() for record in caplog.records)


def test_default_client_from_the_environment_across_event_loops(emu, monkeypatch):
    import runcomfy.async_client as module

    monkeypatch.setenv("RUNCOMFY_API_TOKEN", emu.token)
    monkeypatch.setenv("RUNCOMFY_BASE_URL", emu.base_url)
    monkeypatch.setattr(module, "_default", None)
    for _ in range(2):  # two asyncio.run(): each loop gets its own connection pool
        assert asyncio.run(edit.run_async(prompt="p", image_urls=[IMAGE], timeout=10)).output.images
    assert isinstance(runcomfy.AsyncClient(), AsyncClient) and runcomfy.AsyncRequestHandle is AsyncRequestHandle
    monkeypatch.delenv("RUNCOMFY_API_TOKEN")
    with pytest.raises(runcomfy.RunComfyError, match="RUNCOMFY_API_TOKEN"):
        AsyncClient()


def test_unknown_status_values_are_tolerated_and_extra_fields_kept():
    answers = iter(
        [
            ({"request_id": "r", "status": "warming_up", "new_field": 1}, None),
            ({"request_id": "r", "status": "IN_PROGRESS"}, None),
            ({"request_id": "r", "status": "succeeded", "output": {"images": ["https://x/1.png"]}, "cost": 0.1}, None),
        ]
    )

    async def call(*args: Any, **kwargs: Any) -> tuple[dict[str, Any], float | None]:
        return next(answers)

    client = AsyncClient(token="t", base_url="http://127.0.0.1:9", poll=FAST_POLL)
    client._transport.call = call  # type: ignore[method-assign]
    seen: list[str] = []
    handle = client.get_request("r", model=edit)
    result = asyncio.run(handle.result(timeout=5, on_update=lambda update: seen.append(update.status)))
    assert seen == ["warming_up", "in_progress", "succeeded"]
    assert result.output.images == ["https://x/1.png"] and result.raw["cost"] == 0.1


def test_handles_are_plain_data(emu, monkeypatch):
    monkeypatch.setenv("RUNCOMFY_API_TOKEN", emu.token)
    monkeypatch.setenv("RUNCOMFY_BASE_URL", emu.base_url)  # a restored handle calls only its configured base URL
    monkeypatch.setattr(runcomfy.client, "_default", None)
    monkeypatch.setattr(runcomfy.async_client, "_default", None)
    sync_client = Client(token=emu.token, base_url=emu.base_url, poll=FAST_POLL)
    handle = edit.submit(prompt="p", image_urls=[IMAGE], client=sync_client)
    data = handle.to_dict()
    assert data == {"request_id": handle.request_id, "model_id": edit.MODEL_ID, "base_url": emu.base_url}

    restored = pickle.loads(pickle.dumps(handle))  # the client is not pickled
    assert isinstance(restored, RequestHandle) and restored == handle and restored._client is None
    assert isinstance(restored.result(timeout=5).output, edit.Output)  # a client of its base URL, typed by model id
    assert restored.client.base_url == emu.base_url
    again = RequestHandle.from_dict(data, client=sync_client)
    assert again.client is sync_client and again.result(timeout=5).request_id == handle.request_id

    async def main() -> None:
        client = make_client(emu)
        async_handle = AsyncRequestHandle.from_dict(data, client=client)
        assert async_handle.client is client and async_handle.to_dict() == data
        assert isinstance((await async_handle.result(timeout=5)).output, edit.Output)
        unpickled = pickle.loads(pickle.dumps(async_handle))
        assert isinstance(unpickled, AsyncRequestHandle) and unpickled._client is None
        unpickled.client = client  # a client given later
        assert (await unpickled.status()).status == "completed"
        await client.aclose()

    asyncio.run(main())


def test_importing_runcomfy_or_a_model_does_not_import_httpx():
    code = (
        "import sys, runcomfy;"
        "from runcomfy.models.google.nano_banana_2 import edit;"
        "assert edit.run_async and edit.submit_async;"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('httpx', 'httpcore', 'requests', 'asyncio')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
