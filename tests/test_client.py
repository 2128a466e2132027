"""The client over real HTTP against the local emulator: endpoints, errors, retries, deadlines, secrets."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest
import runcomfy
from conftest import IMAGE, submits
from runcomfy import errors
from runcomfy._http import RetryPolicy
from runcomfy._polling import PollSchedule
from runcomfy.client import Client, JobStatus, Result
from runcomfy.models.google.nano_banana_2 import edit
from runcomfy.testing import Emulator

FAST_POLL = PollSchedule(first=0.0, minimum=0.02, growth=0.1, maximum=0.2, learn=False)
FAST_RETRY = RetryPolicy(max_retries=3, backoff=0.01, max_backoff=0.05)


@pytest.fixture
def emu():
    with Emulator(max_side=256) as emulator:
        yield emulator


@pytest.fixture
def client(emu):
    with Client(token=emu.token, base_url=emu.base_url, poll=FAST_POLL, retry=FAST_RETRY, timeout=5) as c:
        yield c


def test_run_end_to_end_typed_output_and_save(emu, client, tmp_path):
    emu.processing_time = 0.3
    updates: list[JobStatus] = []
    result = edit.run(prompt="night", image_urls=[IMAGE], num_images=2, client=client, on_update=updates.append)
    assert isinstance(result, Result) and isinstance(result.output, edit.Output)
    assert len(result.output.images or []) == 2 and result.status == "succeeded"
    assert result.created_at and result.finished_at
    assert [u.status for u in updates][-1] == "succeeded" and "in_progress" in [u.status for u in updates]
    paths = result.save(tmp_path)
    assert [p.name for p in paths] == [f"{result.request_id}_images_0.png", f"{result.request_id}_images_1.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in paths)  # ordinary files, not the temp file's 0600
    assert not list(tmp_path.glob(".*part"))
    downloads = [c for c in emu.calls if c.path.startswith("/files/")]
    assert len(downloads) == 2 and not any(c.had_auth for c in downloads)  # no download carries the token
    assert client.run(edit.Input(prompt="x", image_urls=[IMAGE])).output.images


def test_submit_status_cancel_and_resume_in_another_process(emu, client):
    emu.queue_time, emu.queue_position, emu.processing_time = 30.0, 3, 0.0
    handle = edit.submit(prompt="p", image_urls=[IMAGE], client=client)
    status = handle.status()
    assert status.status == "in_queue" and status.queue_position and status.queue_position >= 1
    code = (
        "import sys; from runcomfy.client import Client;"
        "c = Client(token=sys.argv[1], base_url=sys.argv[2]);"
        "h = c.get_request(sys.argv[3], model='google/nano-banana-2/edit');"
        "print(h.status().status, h.cancel())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, emu.token, emu.base_url, handle.request_id],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["in_queue", "cancelled"]
    assert handle.status().status == "cancelled"
    with pytest.raises(errors.JobCancelledError) as info:
        handle.result(timeout=5)
    assert info.value.request_id == handle.request_id


def test_completed_vs_succeeded_and_not_cancellable(emu, client):
    handle = edit.submit(edit.Input(prompt="p", image_urls=[IMAGE]), client=client)
    result = handle.result(timeout=5)
    assert result.status == "succeeded"
    assert handle.status().status == "completed"  # /status says completed where /result says succeeded
    assert handle.cancel() == "not_cancellable"


def test_deadline_cancels_a_queued_job(emu, client):
    emu.queue_time = 60.0
    started = time.monotonic()
    with pytest.raises(runcomfy.TimeoutError) as info:
        edit.run(prompt="p", image_urls=[IMAGE], client=client, timeout=0.5)
    assert time.monotonic() - started < 1.5
    error = info.value
    assert isinstance(error, TimeoutError) and error.cancelled and error.request_id
    assert emu.jobs[error.request_id].status == "cancelled"


def test_deadline_leaves_a_running_job(emu, client):
    emu.processing_time = 60.0
    with pytest.raises(runcomfy.TimeoutError) as info:
        edit.run(prompt="p", image_urls=[IMAGE], client=client, timeout=0.4)
    assert not info.value.cancelled and info.value.status == "in_progress"


def test_failed_job(emu, client):
    emu.fail_next()
    with pytest.raises(errors.JobFailedError) as info:
        edit.run(prompt="p", image_urls=[IMAGE], client=client)
    assert info.value.request_id and info.value.error


@pytest.mark.parametrize(
    ("fault", "expected", "status", "code"),
    [
        ("error_200", errors.InsufficientBalanceError, 400, 400002),
    ],
)
def test_http_200_with_an_error_body_is_an_error(emu, client, fault, expected, status, code):
    emu.inject(fault, path_prefix="/v1/models/")
    with pytest.raises(expected) as info:
        edit.submit(prompt="p", image_urls=[IMAGE], client=client)
    assert info.value.error_code == code


def test_error_mapping(emu, client):
    with pytest.raises(errors.AuthenticationError) as auth:
        Client(token="wrong", base_url=emu.base_url).status("x")
    assert auth.value.status_code == 401 and auth.value.error_code == 400004
    with pytest.raises(errors.NotFoundError) as missing:
        client.status("no-such-request")
    assert missing.value.status_code == 404 and missing.value.error_code == 404001
    assert missing.value.request_id == "no-such-request"
    value = edit.Input(prompt="p", image_urls=[IMAGE])
    value.num_images = 99  # bypass client-side validation: the server answers 422
    with pytest.raises(errors.InvalidInputError) as invalid:
        client.submit(value)
    assert invalid.value.status_code == 422 and "num_images" in str(invalid.value.body)


def test_gets_are_retried_on_429_503_drops_and_garbage(emu):
    client = Client(
        token=emu.token, base_url=emu.base_url, poll=FAST_POLL, retry=RetryPolicy(max_retries=4, backoff=0.01)
    )
    emu.processing_time = 0.2
    handle = edit.submit(prompt="p", image_urls=[IMAGE], client=client)
    emu.inject("429", path_prefix="/v1/requests", retry_after=0)
    emu.inject("503", path_prefix="/v1/requests")
    emu.inject("drop", path_prefix="/v1/requests")
    emu.inject("malformed", path_prefix="/v1/requests")
    assert handle.result(timeout=10).output.images  # one poll, four faults: 1 + 4 retries
    assert submits(emu) == 1 and [c.fault for c in emu.calls if c.fault] == ["429", "503", "drop", "malformed"]


def test_retry_after_is_honoured_and_capped(emu):
    slept: list[float] = []
    policy = RetryPolicy(max_retries=2, backoff=0.01, max_retry_after=0.3)
    c = Client(token=emu.token, base_url=emu.base_url, retry=policy, sleep=slept.append)
    emu.inject("429", path_prefix="/v1/requests", retry_after=0.2)
    emu.inject("429", path_prefix="/v1/requests", retry_after=100)
    with pytest.raises(errors.NotFoundError):
        c.status("x")
    assert slept == [0.2, 0.3]


def test_persistent_errors_raise_after_the_retries(emu, client):
    emu.inject("500", times=10, path_prefix="/v1/requests")
    with pytest.raises(errors.ServerError):
        client.status("x")
    assert len([c for c in emu.calls if c.fault == "500"]) == 4  # 1 + 3 retries


def test_submit_is_not_retried_when_the_request_may_have_arrived(emu, client):
    emu.inject("drop", path_prefix="/v1/models/")
    with pytest.raises(errors.SubmitUncertainError, match="may exist"):
        edit.submit(prompt="p", image_urls=[IMAGE], client=client)
    assert submits(emu) == 1 and len(emu.jobs) == 1  # the job exists, and no second one was made
    for status in ("500", "502"):  # a 5xx other than 503 may come after the job was made: uncertain too
        emu.inject(status, path_prefix="/v1/models/")
        with pytest.raises(errors.SubmitUncertainError, match=f"HTTP {status}"):
            edit.submit(prompt="p", image_urls=[IMAGE], client=client)
    assert submits(emu) == 3
    emu.inject("503", path_prefix="/v1/models/")  # 503: the server says it did not take it: retried
    assert edit.submit(prompt="p", image_urls=[IMAGE], client=client).request_id
    assert submits(emu) == 5 and len(emu.jobs) == 2


def test_submit_is_retried_when_it_provably_never_arrived(emu):
    emu_url = emu.base_url
    emu.stop()  # nothing listens: connection refused
    slept: list[float] = []
    c = Client(token="t", base_url=emu_url, retry=FAST_RETRY, sleep=slept.append)
    with pytest.raises(errors.APIConnectionError) as info:
        edit.submit(prompt="p", image_urls=[IMAGE], client=c)
    assert not isinstance(info.value, errors.SubmitUncertainError)
    assert len(slept) == 3  # retried: the request never reached a server


def test_submit_is_retried_on_429(emu, client):
    emu.inject("429", path_prefix="/v1/models/", retry_after=0)
    assert edit.submit(prompt="p", image_urls=[IMAGE], client=client).request_id
    assert len(emu.jobs) == 1


def test_no_call_hangs_on_a_slow_server(emu):
    c = Client(token=emu.token, base_url=emu.base_url, timeout=0.3, retry=RetryPolicy(max_retries=0))
    emu.inject("slow", delay=2.0)
    started = time.monotonic()
    with pytest.raises(errors.APIConnectionError):
        c.status("x")
    assert time.monotonic() - started < 1.0


def test_the_token_never_leaks(emu, client, caplog, monkeypatch):
    secret = "s3cr3t-token-value"
    monkeypatch.setenv("RUNCOMFY_LOG", "debug")
    caplog.set_level(logging.DEBUG, logger="runcomfy")
    c = Client(token=secret, base_url=emu.base_url, retry=FAST_RETRY)
    assert secret not in repr(c) and secret not in repr(c._transport)
    emu.inject("500", times=10)
    for call in (lambda: c.status("x"), lambda: edit.submit(prompt="p", image_urls=[IMAGE], client=c)):
        with pytest.raises(runcomfy.RunComfyError) as info:
            call()
        assert secret not in str(info.value) and secret not in repr(info.value.__dict__)
    assert caplog.records and all(secret not in record.getMessage() for record in caplog.records)


def test_configuration_from_the_environment(emu, monkeypatch):
    monkeypatch.setenv("RUNCOMFY_API_TOKEN", emu.token)
    monkeypatch.setenv("RUNCOMFY_BASE_URL", emu.base_url)
    assert Client().run(edit.Input(prompt="p", image_urls=[IMAGE]), timeout=5).output.images
    monkeypatch.delenv("RUNCOMFY_API_TOKEN")
    with pytest.raises(runcomfy.RunComfyError, match="RUNCOMFY_API_TOKEN"):
        Client()


def test_validation_happens_before_any_call(emu, client):
    with pytest.raises(runcomfy.ValidationError):
        edit.run(prompt="p", image_urls=["not a url"], client=client)
    with pytest.raises(TypeError):
        edit.submit(edit.Input(prompt="p", image_urls=[IMAGE]), prompt="again", client=client)  # type: ignore[call-overload]
    assert emu.calls == []


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, {"error_code": 400004, "error_message": "bad token"}, errors.AuthenticationError),
        (403, {"error_code": 403001, "message": "not yours"}, errors.AuthenticationError),
        (400, {"error_code": 400004}, errors.AuthenticationError),
        (402, {"detail": "pay"}, errors.InsufficientBalanceError),
        (400, {"error_code": 400002}, errors.InsufficientBalanceError),
        (404, {"error_code": 404001}, errors.NotFoundError),
        (400, {"error_code": 400001}, errors.NotFoundError),
        (422, {"detail": [{"loc": ["num_images"], "msg": "too big"}]}, errors.InvalidInputError),
        (400, {"error": "bad input"}, errors.InvalidInputError),
        (429, {}, errors.RateLimitError),
        (500, "oops", errors.ServerError),
        (503, {}, errors.ServerError),
        (418, {}, errors.APIError),
    ],
)
def test_every_error_code_maps_to_its_class(status, body, expected):
    from runcomfy._http import api_error

    error = api_error(status, body, request_id="r1", retry_after=2.0)
    assert type(error) is expected and error.status_code == status and error.request_id == "r1"
    assert error.body == body and error.retry_after == 2.0
    if isinstance(body, dict) and "error_code" in body:
        assert error.error_code == body["error_code"] and str(body["error_code"]) in str(error)


def test_unknown_model_is_not_found(emu, client):
    class Unknown(edit.Input):
        __slots__ = ()
        _model_id = "acme/no-such-model"

    with pytest.raises(errors.NotFoundError) as info:
        client.submit(Unknown(prompt="p", image_urls=[IMAGE]))
    assert info.value.status_code == 404 and info.value.error_code == 400001


def test_unknown_status_values_are_tolerated_and_extra_fields_kept():
    answers = iter(
        [
            ({"request_id": "r", "status": "warming_up", "new_field": 1}, None),
            ({"request_id": "r", "status": "IN_PROGRESS"}, None),
            ({"request_id": "r", "status": "succeeded", "output": {"images": ["https://x/1.png"]}, "cost": 0.1}, None),
        ]
    )
    client = Client(token="t", base_url="http://127.0.0.1:9", poll=FAST_POLL)
    client._transport.call = lambda *args, **kwargs: next(answers)  # type: ignore[method-assign]
    seen: list[str] = []
    handle = client.get_request("r", model=edit)
    result = handle.result(timeout=5, on_update=lambda update: seen.append(update.status))
    assert seen == ["warming_up", "in_progress", "succeeded"]
    assert result.output.images == ["https://x/1.png"] and result.raw["cost"] == 0.1
