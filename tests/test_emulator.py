"""The local RunComfy API emulator (runcomfy.testing), over real HTTP with http.client."""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import json
import re
import signal
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image
from runcomfy.models import MODELS
from runcomfy.testing import CHAOS_KINDS, Emulator

EDIT = "google/nano-banana-2/edit"
EDIT_PATH = f"/v1/models/{EDIT}"
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    emu: Emulator, method: str, url: str, body: object = None, *, token: str | None = "", raw: bytes | None = None
) -> Answer:
    """One request on a fresh connection; ``url`` is a path or a full URL on the emulator. token "" = emu.token."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token or emu.token}"
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    connection = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        return Answer(response.status, dict(response.headers), response.read())
    finally:
        connection.close()


def png_data_uri(size: tuple[int, int], color: tuple[int, int, int] = (200, 30, 30)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def submit(emu: Emulator, model_id: str = EDIT, body: dict[str, Any] | None = None) -> str:
    answer = call(
        emu, "POST", f"/v1/models/{model_id}", body or {"prompt": "a cat", "image_urls": ["https://example.com/a.png"]}
    )
    assert answer.status == 200, answer.body
    return str(answer.json()["request_id"])


def result(emu: Emulator, request_id: str) -> dict[str, Any]:
    answer = call(emu, "GET", f"/v1/requests/{request_id}/result")
    assert answer.status == 200
    return dict(answer.json())


def status(emu: Emulator, request_id: str) -> dict[str, Any]:
    answer = call(emu, "GET", f"/v1/requests/{request_id}/status")
    assert answer.status == 200
    return dict(answer.json())


def image(emu: Emulator, url: str) -> Image.Image:
    answer = call(emu, "GET", url, token=None)
    assert answer.status == 200
    return Image.open(io.BytesIO(answer.body))


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(max_side=256) as emulator:
        yield emulator


# --- auth and errors ---------------------------------------------------------------------------------


def test_base_url_and_token(emu: Emulator) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emu.base_url) and emu.port > 0
    assert emu.token == "test-token"
    with Emulator(token="secret") as other:
        assert call(other, "GET", "/v1/models?limit=1").status == 200
        assert call(other, "GET", "/v1/models?limit=1", token="test-token").status == 401


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/v1/models"), ("POST", EDIT_PATH), ("GET", "/v1/requests/x/status")]
)
def test_missing_or_wrong_token_is_401(emu: Emulator, method: str, path: str) -> None:
    for token in (None, "wrong"):
        answer = call(emu, method, path, {}, token=token)
        assert answer.status == 401
        assert answer.json()["error_code"] == 400004 and answer.json()["error_message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/models/nobody/nothing"),
        ("GET", "/v1/models/nobody/nothing"),
        ("POST", "/v1/models/one-segment"),
        ("POST", "/v1/models/a/b/c/d/e/f"),
    ],
)
def test_unknown_model_is_404_400001(emu: Emulator, method: str, path: str) -> None:
    answer = call(emu, method, path, {"prompt": "x"})
    assert answer.status == 404 and answer.json()["error_code"] == 400001


@pytest.mark.parametrize(("method", "action"), [("GET", "status"), ("GET", "result"), ("POST", "cancel")])
def test_unknown_request_is_404_404001(emu: Emulator, method: str, action: str) -> None:
    answer = call(emu, method, f"/v1/requests/no-such-id/{action}")
    assert answer.status == 404 and answer.json()["error_code"] == 404001


def test_other_404_and_405(emu: Emulator) -> None:
    assert call(emu, "GET", "/v1/nothing").status == 404
    assert call(emu, "GET", "/files/nope/image_1.png", token=None).status == 404
    assert call(emu, "POST", "/v1/requests/x/status").status == 405


@pytest.mark.parametrize("raw", [b"[1, 2]", b"{not json", b""])
def test_body_not_a_json_object_is_400(emu: Emulator, raw: bytes) -> None:
    answer = call(emu, "POST", EDIT_PATH, raw=raw)
    assert answer.status == 400 and answer.json()["error_code"]
    assert emu.jobs == {}


def test_invalid_input_is_422_with_detail(emu: Emulator) -> None:
    answer = call(emu, "POST", EDIT_PATH, {"image_urls": ["ftp://x"], "num_images": 9, "resolution": "8K"})
    assert answer.status == 422
    body = answer.json()
    assert body["error_code"] == 422000 and "validation error" in body["error_message"]
    detail = {tuple(item["loc"]): item for item in body["detail"]}
    assert set(detail) == {("prompt",), ("image_urls", 0), ("num_images",), ("resolution",)}
    assert detail[("num_images",)] == {"loc": ["num_images"], "msg": "an integer >= 1 and <= 4", "input": 9}
    assert detail[("image_urls", 0)]["input"] == "ftp://x"
    assert detail[("prompt",)]["input"] is None  # missing
    assert "'4K'" in detail[("resolution",)]["msg"]
    assert emu.jobs == {}


# --- jobs --------------------------------------------------------------------------------------------


def test_submit_status_result_split(emu: Emulator) -> None:
    answer = call(emu, "POST", EDIT_PATH, {"prompt": "a cat", "image_urls": ["https://example.com/a.png"]})
    assert answer.status == 200
    body = answer.json()
    request_id = body["request_id"]
    base = f"{emu.base_url}/v1/requests/{request_id}"
    assert body == {
        "request_id": request_id,
        "status_url": f"{base}/status",
        "result_url": f"{base}/result",
        "cancel_url": f"{base}/cancel",
    }
    assert call(emu, "GET", body["status_url"]).json() == {
        "request_id": request_id,
        "status": "completed",
        "status_url": f"{base}/status",
        "result_url": f"{base}/result",
    }
    final = call(emu, "GET", body["result_url"]).json()
    assert final["status"] == "succeeded" and "error" not in final
    assert ISO_UTC.fullmatch(final["created_at"]) and ISO_UTC.fullmatch(final["finished_at"])
    assert final["created_at"] <= final["finished_at"]
    assert list(final["output"]) == ["images"] and len(final["output"]["images"]) == 1
    job = emu.jobs[request_id]
    assert (job.model_id, job.input["prompt"], job.status) == (EDIT, "a cat", "succeeded")
    assert job.submitted_at <= job.started_at <= job.finished_at <= job.seen_finished_at  # type: ignore[operator]
    assert "cost" in result_with_cost(emu, request_id)


def result_with_cost(emu: Emulator, request_id: str) -> dict[str, Any]:
    return dict(call(emu, "GET", f"/v1/requests/{request_id}/result?include_cost=true").json())


def test_queue_positions_decrease_then_progress_then_complete() -> None:
    # 10 s in the queue and 10 s of processing, at 20x: 0.5 s real each
    with Emulator(queue_time=10, processing_time=10, queue_position=5, time_scale=20, max_side=64) as emu:
        request_id = submit(emu)
        positions, states, running_results = [], [], 0
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            body = status(emu, request_id)
            states.append(body["status"])
            if body["status"] == "in_queue":
                positions.append(body["queue_position"])
            else:
                assert "queue_position" not in body
            if body["status"] == "completed":
                break
            running = result(emu, request_id) if body["status"] == "in_progress" else {}
            if running.get("status") == "in_progress":  # (the job may finish between the two requests)
                assert running["finished_at"] is None and "output" not in running
                running_results += 1
            time.sleep(0.03)
        assert running_results >= 1
        assert positions[0] == 5 and positions[-1] == 1 and positions == sorted(positions, reverse=True)
        assert len(set(positions)) >= 3
        assert states[0] == "in_queue" and "in_progress" in states and states[-1] == "completed"
        assert result(emu, request_id)["status"] == "succeeded"
        job = emu.jobs[request_id]
        assert job.started_at - job.submitted_at == pytest.approx(0.5, abs=0.01)
        assert job.finished_at - job.started_at == pytest.approx(0.5, abs=0.01)


def test_seen_finished_at_measures_client_delay() -> None:
    with Emulator(processing_time=60, time_scale=600, max_side=64) as emu:  # "60 s" in 0.1 s
        request_id = submit(emu)
        assert status(emu, request_id)["status"] == "in_progress"
        assert emu.jobs[request_id].seen_finished_at is None
        time.sleep(0.15)
        assert status(emu, request_id)["status"] == "completed"
        job = emu.jobs[request_id]
        assert job.seen_finished_at is not None and 0 <= job.seen_finished_at - job.finished_at < 0.5


def test_config_changes_apply_to_later_jobs(emu: Emulator) -> None:
    first = submit(emu)
    emu.queue_time = 100
    second = submit(emu)
    assert status(emu, first)["status"] == "completed"
    assert status(emu, second)["status"] == "in_queue"


def test_cancel_only_while_queued() -> None:
    with Emulator(queue_time=100, processing_time=100, max_side=64) as emu:
        queued = submit(emu)
        answer = call(emu, "POST", f"/v1/requests/{queued}/cancel")
        assert answer.status == 202
        assert answer.json() == {"request_id": queued, "status": "cancelled", "outcome": "cancelled"}
        assert status(emu, queued)["status"] == "cancelled"
        final = result(emu, queued)
        assert final["status"] == "cancelled" and ISO_UTC.fullmatch(final["finished_at"]) and "output" not in final
        again = call(emu, "POST", f"/v1/requests/{queued}/cancel").json()
        assert again["outcome"] == "not_cancellable" and again["status"] == "cancelled"

        emu.queue_time = 0
        running = submit(emu)
        answer = call(emu, "POST", f"/v1/requests/{running}/cancel")
        assert answer.status == 202 and answer.json()["outcome"] == "not_cancellable"
        assert answer.json()["status"] == "in_progress" and status(emu, running)["status"] == "in_progress"

        emu.processing_time = 0
        done = submit(emu)
        answer = call(emu, "POST", f"/v1/requests/{done}/cancel").json()
        assert (answer["status"], answer["outcome"]) == ("completed", "not_cancellable")
        assert result(emu, done)["status"] == "succeeded"


def test_failing_jobs(emu: Emulator) -> None:
    emu.fail_next(1, model_id="openai/gpt-image-2/text-to-image")
    emu.fail_next(1)
    other = submit(emu)  # takes the any-model failure
    model_failure = submit(emu, "openai/gpt-image-2/text-to-image", {"prompt": "x"})
    fine = submit(emu, "openai/gpt-image-2/text-to-image", {"prompt": "x"})
    for request_id in (other, model_failure):
        final = result(emu, request_id)
        assert final["status"] == "failed" and "output" not in final
        assert set(final["error"]) == {"code", "message"} and final["finished_at"]
        assert status(emu, request_id)["status"] == "failed"
    assert result(emu, fine)["status"] == "succeeded"
    emu.fail_jobs = True
    assert result(emu, submit(emu))["status"] == "failed"


# --- outputs -----------------------------------------------------------------------------------------


def test_image_outputs_follow_the_input() -> None:
    with Emulator() as emu:  # max_side 1024 by default
        body = {
            "prompt": "make it blue",
            "image_urls": [png_data_uri((300, 150))],
            "num_images": 3,
            "output_format": "webp",
            "resolution": "0.5K",
        }
        output = result(emu, submit(emu, EDIT, body))["output"]
        assert len(output["images"]) == 3
        made = [image(emu, url) for url in output["images"]]
        assert all(img.format == "WEBP" and img.size == (512, 256) for img in made)
        assert made[0].convert("RGB").getpixel((400, 200)) != (200, 30, 30)  # tinted: visibly changed
        assert made[0].tobytes() != made[1].tobytes()
        default = image(emu, result(emu, submit(emu))["output"]["images"][0])  # placeholder, 1K, auto → 1:1
        assert (default.format, default.size) == ("PNG", (1024, 1024))
        capped = image(
            emu, result(emu, submit(emu, EDIT, {**body, "num_images": 1, "resolution": "4K"}))["output"]["images"][0]
        )
        assert capped.size == (1024, 512)  # 4K capped by max_side


@pytest.mark.parametrize(
    ("options", "fmt", "size"),
    [
        ({"aspect_ratio": "16:9", "output_format": "jpeg"}, "JPEG", (256, 144)),
        ({"aspect_ratio": "9:16", "resolution": "0.5K", "output_format": "png"}, "PNG", (144, 256)),
        ({"aspect_ratio": "1:1"}, "PNG", (256, 256)),
    ],
)
def test_image_options(emu: Emulator, options: dict[str, Any], fmt: str, size: tuple[int, int]) -> None:
    urls = result(emu, submit(emu, EDIT, {"prompt": "p", "image_urls": [png_data_uri((40, 40))], **options}))["output"][
        "images"
    ]
    made = image(emu, urls[0])
    assert (made.format, made.size) == (fmt, size)


def test_input_file_served_by_the_emulator(emu: Emulator) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (90, 120), (0, 255, 0)).save(buffer, format="PNG")
    url = emu.add_file("portrait.png", buffer.getvalue(), "image/png")
    assert url.startswith(emu.base_url + "/files/")
    download = call(emu, "GET", url, token=None)
    assert download.status == 200 and download.headers["Content-Type"] == "image/png"
    made = image(emu, result(emu, submit(emu, EDIT, {"prompt": "p", "image_urls": [url]}))["output"]["images"][0])
    assert made.size == (192, 256)  # "auto": the input's 3:4


def test_single_image_and_image_size_models(emu: Emulator) -> None:
    output = result(emu, submit(emu, "openai/gpt-image-2/text-to-image", {"prompt": "x", "aspect_ratio": "3:2"}))[
        "output"
    ]
    assert list(output) == ["image"] and image(emu, output["image"]).size == (256, 171)
    output = result(
        emu, submit(emu, "wan-ai/wan-2.7/pro/text-to-image", {"prompt": "x", "image_size": "portrait_16_9"})
    )["output"]
    assert image(emu, output["image"]).size == (144, 256)
    output = result(
        emu, submit(emu, "blackforestlabs/flux-2-klein/4b/text-to-image", {"prompt": "x", "width": 200, "height": 100})
    )["output"]
    assert image(emu, output["image"]).size == (200, 100)


def test_video_output_is_an_mp4(emu: Emulator) -> None:
    output = result(emu, submit(emu, "kling/kling-video-o3/pro/text-to-video", {"prompt": "waves"}))["output"]
    assert list(output) == ["video"]
    download = call(emu, "GET", output["video"], token=None)
    assert download.headers["Content-Type"] == "video/mp4" and download.body[4:8] == b"ftyp"


def test_audio_output_is_a_wav(emu: Emulator) -> None:
    output = result(emu, submit(emu, "acestep-ai/ace-step/text-to-audio", {"tags": "jazz"}))["output"]
    assert list(output) == ["audio"]
    download = call(emu, "GET", output["audio"], token=None)
    assert download.headers["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(download.body)) as wav:
        assert wav.getnframes() > 0 and wav.getnchannels() == 1


# --- catalog -----------------------------------------------------------------------------------------


def test_catalog(emu: Emulator) -> None:
    everything = call(emu, "GET", "/v1/models").json()
    assert everything["total"] == len(MODELS) == len(everything["models"])
    entry = next(item for item in everything["models"] if item["model_id"] == EDIT)
    assert entry == {
        "model_id": EDIT,
        "display_name": "Nano Banana 2 Edit",
        "kind": "model",
        "categories": ["image-to-image"],
        "base_price_usd": 0.04,
        "price_unit": "output",
        "pricing_note": "invented by the runcomfy emulator (USD 0.04 per output); not RunComfy's price",
    }
    videos = call(emu, "GET", "/v1/models?category=image-to-video&limit=5&offset=2").json()
    assert len(videos["models"]) == 5 and videos["total"] > 5
    assert all(item["categories"] == ["image-to-video"] for item in videos["models"])
    found = call(emu, "GET", "/v1/models?search=Nano%20Banana&include_schema=true").json()
    assert found["total"] == 3 and all("input_schema" in item for item in found["models"])
    one = call(emu, "GET", f"/v1/models/{EDIT}").json()
    assert one["model_id"] == EDIT and one["input_schema"]["required"] == ["prompt", "image_urls"]
    assert call(emu, "GET", "/v1/models?limit=x").status == 422


def test_restricted_models() -> None:
    with Emulator(models=[EDIT, "openai/gpt-image-2/edit"]) as emu:
        assert call(emu, "GET", "/v1/models").json()["total"] == 2
        assert call(emu, "POST", "/v1/models/openai/gpt-image-2/text-to-image", {"prompt": "x"}).status == 404
    with pytest.raises(KeyError):
        Emulator(models=["no/such-model"])


# --- faults ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["429", "500", "502", "503"])
def test_status_faults(emu: Emulator, kind: str) -> None:
    emu.inject(kind, retry_after=2 if kind == "503" else None)
    answer = call(emu, "POST", EDIT_PATH, {"prompt": "x", "image_urls": ["https://example.com/a.png"]})
    assert answer.status == int(kind) and "error_code" in answer.json()
    assert answer.headers.get("Retry-After") == {"429": "1", "503": "2"}.get(kind)
    assert emu.jobs == {}  # not handled
    assert call(emu, "GET", "/v1/models?limit=1").status == 200  # used up
    assert [(c.status, c.fault) for c in emu.calls] == [(int(kind), kind), (200, None)]


def test_error_200_and_malformed(emu: Emulator) -> None:
    emu.inject("error_200")
    emu.inject("malformed")
    first = call(emu, "GET", "/v1/models")
    assert first.status == 200 and first.json()["error_code"] == 400002
    second = call(emu, "GET", "/v1/models")
    assert second.status == 200
    with pytest.raises(ValueError):
        second.json()
    assert [c.fault for c in emu.calls] == ["error_200", "malformed"]


def test_drop_after_submit_still_creates_the_job(emu: Emulator) -> None:
    emu.inject("drop", method="POST", path_prefix="/v1/models/")
    with pytest.raises((http.client.HTTPException, OSError)):
        call(emu, "POST", EDIT_PATH, {"prompt": "x", "image_urls": ["https://example.com/a.png"]})
    (request_id,) = emu.jobs
    (record,) = emu.calls
    assert (record.status, record.fault, record.request_id) == (None, "drop", request_id)
    assert result(emu, request_id)["status"] == "succeeded"


def test_drop_before_read_creates_nothing(emu: Emulator) -> None:
    emu.inject("drop_before_read")
    with pytest.raises((http.client.HTTPException, OSError)):
        call(emu, "POST", EDIT_PATH, {"prompt": "x", "image_urls": ["https://example.com/a.png"]})
    assert emu.jobs == {}
    assert [(c.status, c.fault) for c in emu.calls] == [(None, "drop_before_read")]
    submit(emu)  # the next request is answered


def test_slow(emu: Emulator) -> None:
    emu.inject("slow", delay=0.3)
    started = time.monotonic()
    assert call(emu, "GET", "/v1/models?limit=1").status == 200
    assert time.monotonic() - started >= 0.3
    assert emu.calls[-1].fault == "slow"


def test_faults_match_and_are_used_in_order(emu: Emulator) -> None:
    emu.inject("503", times=2, method="GET", path_prefix="/v1/requests/")
    emu.inject("500", path_prefix="/v1/requests/")
    request_id = submit(emu)  # a POST to /v1/models: not matched
    assert [call(emu, "GET", f"/v1/requests/{request_id}/status").status for _ in range(4)] == [503, 503, 500, 200]
    with pytest.raises(ValueError):
        emu.inject("teapot")
    emu.inject("500")
    emu.clear_faults()
    assert call(emu, "GET", "/v1/models?limit=1").status == 200


# --- call log ----------------------------------------------------------------------------------------


def test_call_log(emu: Emulator) -> None:
    request_id = submit(emu)
    url = result(emu, request_id)["output"]["images"][0]
    call(emu, "GET", url, token=None)
    call(emu, "GET", url)  # a careless client sending its token to the file host
    calls = emu.calls
    assert [(c.method, c.status, c.request_id) for c in calls] == [
        ("POST", 200, request_id),
        ("GET", 200, request_id),
        ("GET", 200, request_id),
        ("GET", 200, request_id),
    ]
    assert [c.had_auth for c in calls] == [True, True, False, True]
    assert calls[1].path == f"/v1/requests/{request_id}/result" and calls[0].at <= calls[1].at
    call(emu, "GET", "/v1/models?search=kling&limit=2")
    assert emu.calls[-1].query == {"search": "kling", "limit": "2"}
    emu.reset_calls()
    assert emu.calls == []


# --- packaging ---------------------------------------------------------------------------------------


def test_no_requests_and_lazy_pillow() -> None:
    code = """
import sys, json, urllib.request
from runcomfy.testing import Emulator
with Emulator(max_side=32) as emu:
    def post(model, body):
        req = urllib.request.Request(emu.base_url + "/v1/models/" + model, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": "Bearer " + emu.token})
        return urllib.request.urlopen(req).status
    post("acestep-ai/ace-step/text-to-audio", {"tags": "x"})
    before = "PIL" in sys.modules
    post("openai/gpt-image-2/text-to-image", {"prompt": "x"})
    print(before, "PIL" in sys.modules, "requests" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True).stdout
    assert out.split() == ["False", "True", "False"]


def test_command_line() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "runcomfy.testing", "--port", "0", "--token", "cli"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match and "cli" in line, line
        connection = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=5)
        connection.request("GET", "/v1/models?limit=1", headers={"Authorization": "Bearer cli"})
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


# --- faults: hang, stuck, fail, chaos ----------------------------------------------------------------


def _call_in_thread(emu: Emulator, method: str, url: str, body: object = None) -> tuple[threading.Thread, list[object]]:
    """``call()`` in a thread; the list gets its Answer or exception."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call(emu, method, url, body))
        except Exception as exc:  # the test reads it
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out waiting"
        time.sleep(0.01)


def test_hang_never_answers_until_the_client_goes_away(emu: Emulator) -> None:
    emu.inject("hang", path_prefix="/v1/models/")
    body = {"prompt": "x", "image_urls": ["https://example.com/a.png"]}
    connection = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=0.3)
    started = time.monotonic()
    connection.request("POST", EDIT_PATH, body=json.dumps(body), headers={"Authorization": f"Bearer {emu.token}"})
    with pytest.raises(TimeoutError):
        connection.getresponse()
    assert time.monotonic() - started >= 0.3
    connection.close()
    assert emu.jobs == {}  # read, not handled
    assert [(c.method, c.status, c.fault) for c in emu.calls] == [("POST", None, "hang")]
    assert submit(emu)  # the fault is used up; the handler of the hung request went away with its client


def test_hang_does_not_delay_stop() -> None:
    emu = Emulator(max_side=32).start()
    emu.inject("hang", times=3)
    threads = [_call_in_thread(emu, "GET", "/v1/models?limit=1") for _ in range(3)]
    _wait_for(lambda: len(emu.calls) == 3)
    assert all(not outcome for _, outcome in threads)  # all three hang
    started = time.monotonic()
    emu.stop()
    assert time.monotonic() - started < 0.15
    for thread, outcome in threads:
        thread.join(2)
        assert not thread.is_alive() and isinstance(outcome[0], (http.client.HTTPException, OSError))
    assert [(c.status, c.fault) for c in emu.calls] == [(None, "hang")] * 3


def test_stuck_job_never_leaves_the_queue_and_can_be_cancelled() -> None:
    with Emulator(max_side=32, processing_time=0.01) as emu:
        emu.inject("stuck")
        assert call(emu, "GET", "/v1/models?limit=1").status == 200  # not a submit: the fault waits
        stuck = submit(emu)
        normal = submit(emu)
        time.sleep(0.05)
        assert status(emu, stuck) == {
            "request_id": stuck,
            "status": "in_queue",
            "queue_position": 1,
            "status_url": f"{emu.base_url}/v1/requests/{stuck}/status",
            "result_url": f"{emu.base_url}/v1/requests/{stuck}/result",
        }
        assert result(emu, stuck)["status"] == "in_queue" and result(emu, stuck)["finished_at"] is None
        assert result(emu, normal)["status"] == "succeeded"
        assert call(emu, "POST", f"/v1/requests/{stuck}/cancel").json()["outcome"] == "cancelled"
        assert result(emu, stuck)["status"] == "cancelled" and emu.jobs[stuck].status == "cancelled"
        assert [c.fault for c in emu.calls if c.method == "POST"] == ["stuck", None, None]
        assert emu.calls[1].status == 200 and emu.calls[1].request_id == stuck


def test_fail_fault_fails_the_job_of_that_submit_only(emu: Emulator) -> None:
    emu.inject("fail")
    emu.fail_next()  # not used up by the fault's job
    failed, also_failed, fine = submit(emu), submit(emu), submit(emu)
    assert result(emu, failed)["status"] == "failed" and result(emu, failed)["error"]
    assert result(emu, also_failed)["status"] == "failed"
    assert result(emu, fine)["status"] == "succeeded"
    assert [c.fault for c in emu.calls if c.method == "POST"] == ["fail", None, None]


def test_chaos_is_random_seeded_and_can_be_turned_off(emu: Emulator) -> None:
    def faults(seed: int) -> list[str | None]:
        emu.reset_calls()
        emu.chaos(0.5, ("500", "503", "slow"), seed=seed, path_prefix="/v1/models", method="GET", delay=0.01)
        for _ in range(30):
            call(emu, "GET", "/v1/models?limit=1")
        call(emu, "GET", "/v1/requests/x/status")  # not matched by the chaos
        return [c.fault for c in emu.calls]

    first = faults(7)
    assert first == faults(7) and first != faults(8)  # reproducible for one seed
    assert 5 <= sum(kind is not None for kind in first) <= 25 and first[-1] is None
    assert {kind for kind in first if kind} == {"500", "503", "slow"}
    emu.chaos(None)
    emu.reset_calls()
    assert all(call(emu, "GET", "/v1/models?limit=1").status == 200 for _ in range(10))
    assert all(c.fault is None for c in emu.calls)
    with pytest.raises(ValueError):
        emu.chaos(0.5, ("teapot",))
    with pytest.raises(ValueError):
        emu.chaos(1.5)


def test_injected_faults_come_before_chaos_and_chaos_answers_quickly(emu: Emulator) -> None:
    emu.chaos(1.0)  # every /v1/ request gets a fault of the default kinds
    emu.inject("error_200", path_prefix="/v1/models")
    assert call(emu, "GET", "/v1/models").json()["error_code"] == 400002
    for _ in range(40):
        try:
            answer = call(emu, "GET", "/v1/models?limit=1")
            assert answer.status in (200, 429, 500, 502, 503)
            if answer.status == 429:
                assert answer.headers["Retry-After"] == "0.1"
        except (http.client.HTTPException, OSError):
            pass
    seen = {c.fault for c in emu.calls[1:] if c.fault}
    assert seen == set(CHAOS_KINDS) and all(c.fault for c in emu.calls)
    assert call(emu, "GET", "/files/nothing", token=None).status == 404  # outside /v1/: no chaos
    assert emu.calls[-1].fault is None


def test_chaos_submits_make_jobs_only_when_handled() -> None:
    with Emulator(max_side=32) as emu:
        emu.chaos(0.6, seed=3, path_prefix="/v1/models/")
        for n in range(40):
            with contextlib.suppress(http.client.HTTPException, OSError):
                call(emu, "POST", EDIT_PATH, {"prompt": f"p{n}", "image_urls": ["https://example.com/a.png"]})
        submits = [c for c in emu.calls if c.method == "POST"]
        handled = [c for c in submits if c.fault in (None, "slow", "drop")]
        assert len(submits) == 40 and len(emu.jobs) == len(handled) < 40
        assert {c.request_id for c in handled} == set(emu.jobs)
        assert {c.fault for c in submits} >= {"drop", "drop_before_read", "429"}


def test_trickle_sends_the_headers_at_once_and_the_body_a_byte_at_a_time(emu):
    emu.inject("trickle", path_prefix="/v1/models", method="GET", delay=0.01)
    started = time.monotonic()
    answer = call(emu, "GET", "/v1/models?limit=1")
    took = time.monotonic() - started
    assert answer.status == 200 and answer.json()["models"]
    assert took >= 0.01 * (len(answer.body) - 1)  # one byte per delay
    assert [c.fault for c in emu.calls] == ["trickle"]


# --- RunComfy's dialect: catalog, prices, queue, inputs -----------------------------------------------


def test_categories_endpoint_and_catalog_filters(emu: Emulator) -> None:
    categories = call(emu, "GET", "/v1/models/categories").json()["categories"]
    assert categories == sorted(set(categories)) and "image-to-video" in categories and "video" not in categories
    everything = call(emu, "GET", "/v1/models?limit=500").json()
    assert all(entry["kind"] == "model" for entry in everything["models"])
    assert call(emu, "GET", "/v1/models?kind=model").json()["total"] == everything["total"]
    assert call(emu, "GET", "/v1/models?kind=lora").json() == {"models": [], "total": 0}
    found = call(emu, "GET", "/v1/models?category=text-to-audio&search=ace").json()
    assert found["total"] >= 1 and all("ace" in e["model_id"] for e in found["models"])
    page = call(emu, "GET", "/v1/models?limit=3&offset=1").json()
    assert [e["model_id"] for e in page["models"]] == [e["model_id"] for e in everything["models"][1:4]]
    for bad in ("limit=0", "limit=501", "limit=x", "offset=-1"):
        answer = call(emu, "GET", f"/v1/models?{bad}")
        body = answer.json()
        assert answer.status == 422 and body["error_code"] == 422000 and body["detail"][0]["loc"][0] == "query"


@pytest.mark.parametrize(
    ("model_id", "output_type", "properties", "expected"),
    [
        ("acme/x/image-to-video/720p", "VIDEO", {}, "image-to-video"),
        ("acme/x/pro", "VIDEO", {"image": {"type": "string", "format": "image_uri"}}, "image-to-video"),
        ("acme/x/pro", "IMAGE", {"prompt": {"type": "string"}}, "text-to-image"),
        ("acme/x/edit", "IMAGE", {"urls": {"type": "array", "items": {"format": "image_uri"}}}, "image-to-image"),
        ("acme/x/edit", "VIDEO", {"v": {"format": "video_uri"}, "i": {"format": "image_uris"}}, "video-to-video"),
        ("acme/x/inpaint", "AUDIO", {"a": {"format": "audio_uri"}}, "audio-to-audio"),
        ("acme/x/text-to-image", "VIDEO", {}, "text-to-video"),  # the id's capability is not its output's
    ],
)
def test_categories_of(model_id: str, output_type: str, properties: dict[str, Any], expected: str) -> None:
    from runcomfy.testing import categories_of

    assert categories_of(model_id, output_type, {"properties": properties}) == [expected]


def test_prices_and_cost(tmp_path: Any) -> None:
    audio_file = {
        "model_id": "acme/sound/text-to-audio",
        "output_type": "AUDIO",
        "base_price_usd": 0.002,
        "price_unit": "second",
        "pricing_note": "from the file",
        "input_schema": {"type": "object", "properties": {}},
    }
    (tmp_path / "acme/sound").mkdir(parents=True)
    (tmp_path / "acme/sound/text-to-audio.json").write_text(json.dumps(audio_file))
    with Emulator(max_side=32, prices={EDIT: (0.07, "output")}, default_price=0.5) as emu:
        edit = call(emu, "GET", f"/v1/models/{EDIT}").json()
        assert (edit["base_price_usd"], edit["price_unit"]) == (0.07, "output") and "not RunComfy's" in edit[
            "pricing_note"
        ]
        audio = call(emu, "GET", "/v1/models/acestep-ai/ace-step/text-to-audio").json()
        assert (audio["base_price_usd"], audio["price_unit"]) == (0.5, "second")
        assert audio["pricing_note"].startswith("invented by the runcomfy emulator")
        request_id = submit(emu, EDIT, {"prompt": "p", "image_urls": ["https://example.com/a.png"], "num_images": 3})
        assert result_with_cost(emu, request_id)["cost"] == pytest.approx(0.21)
        request_id = submit(emu, "acestep-ai/ace-step/text-to-audio", {"tags": "jazz", "duration": 30})
        assert result_with_cost(emu, request_id)["cost"] == pytest.approx(15.0)
        assert result(emu, request_id)["model_id"] == "acestep-ai/ace-step/text-to-audio" and "cost" not in result(
            emu, request_id
        )
        emu.catalog = tmp_path
        entry = call(emu, "GET", "/v1/models/acme/sound/text-to-audio").json()
        assert (entry["base_price_usd"], entry["price_unit"], entry["pricing_note"]) == (
            0.002,
            "second",
            "from the file",
        )


def positions(emu: Emulator, request_ids: list[str]) -> list[object]:
    return [
        status(emu, request_id).get("queue_position", status(emu, request_id)["status"]) for request_id in request_ids
    ]


def test_fifo_queue_with_workers_counts_positions_down() -> None:
    with Emulator(max_side=32, workers=1, processing_time=3600) as emu:
        jobs = [submit(emu, TEXT_TO_IMAGE, {"prompt": f"p{n}"}) for n in range(4)]
        assert positions(emu, jobs) == ["in_progress", 1, 2, 3]
        assert call(emu, "POST", f"/v1/requests/{jobs[1]}/cancel").json()["outcome"] == "cancelled"
        assert positions(emu, jobs) == ["in_progress", "cancelled", 1, 2]
        emu.processing_time = 0
        assert call(emu, "POST", f"/v1/requests/{jobs[0]}/cancel").json()["outcome"] == "not_cancellable"
        emu.jobs[jobs[0]].finished_at = time.monotonic()  # the running job ends now: the next one starts
        with emu._lock:
            emu._plan(time.monotonic())
        assert positions(emu, jobs)[2:] == ["in_progress", 1]
    with Emulator(max_side=32, queue_time=3600) as emu:  # any number of workers: queued together, 1, 2, 3
        jobs = [submit(emu, TEXT_TO_IMAGE, {"prompt": f"p{n}"}) for n in range(3)]
        assert positions(emu, jobs) == [1, 2, 3]


TEXT_TO_IMAGE = "bytedance/seedream-5.0-pro/text-to-image"


@contextlib.contextmanager
def serving(routes: dict[str, tuple[int, bytes, dict[str, str]]]) -> Iterator[str]:
    """A test's own HTTP server on 127.0.0.1: path → (status, body, headers); yields its base URL."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(dict(self.headers))
            code, body, headers = routes.get(self.path, (404, b"", {}))
            if code == 0:  # never answers in time
                time.sleep(1.0)
                return
            self.send_response(code)
            for name, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        assert all("Authorization" not in headers for headers in seen)  # no token ever goes to an input host


def png(size: tuple[int, int] = (6, 4)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(buffer, format="PNG")
    return buffer.getvalue()


def job_error(emu: Emulator, image_url: str) -> str | None:
    body = result(emu, submit(emu, EDIT, {"prompt": "p", "image_urls": [image_url]}))
    return body["error"]["message"] if body["status"] == "failed" else None


def test_inputs_are_fetched_and_a_job_that_cannot_read_one_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from runcomfy.testing import _emulator

    routes = {
        "/wide.png": (200, png((40, 10)), {"Content-Type": "image/png"}),
        "/text.png": (200, b"not an image", {}),
        "/gone.png": (404, b"", {}),
        "/away.png": (302, b"", {"Location": "https://example.com/a.png"}),
        "/back.png": (302, b"", {"Location": "/wide.png"}),
        "/slow.png": (0, b"", {}),
    }
    monkeypatch.setitem(_emulator.MAX_INPUT_BYTES, "image", 300)
    with serving(routes) as server, Emulator(max_side=64, input_timeout=0.3) as emu:
        assert job_error(emu, f"{server}/wide.png") is None
        wide = result(emu, submit(emu, EDIT, {"prompt": "p", "image_urls": [f"{server}/back.png"]}))
        with Image.open(io.BytesIO(call(emu, "GET", wide["output"]["images"][0], token=None).body)) as made:
            assert made.size == (64, 16)  # made from the fetched image (its 4:1 ratio)
        assert "HTTP 404" in (job_error(emu, f"{server}/gone.png") or "")
        assert "not in an image format" in (job_error(emu, f"{server}/text.png") or "")
        assert "which is not fetched" in (job_error(emu, f"{server}/away.png") or "")
        assert "could not fetch" in (job_error(emu, f"{server}/slow.png") or "")
        assert "larger than" in (job_error(emu, png_data_uri((400, 400))) or "")
        assert job_error(emu, png_data_uri((4, 4))) is None
        assert job_error(emu, "https://example.com/a.png") is None  # remote_inputs="stand-in": not fetched
        emu.remote_inputs = "fail"
        assert "fetches loopback URLs only" in (job_error(emu, "https://example.com/a.png") or "")


def test_start_without_pillow_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r'pip install "runcomfy\[testing\]"'):
        Emulator().start()


def test_cli_refuses_without_pillow_or_on_a_taken_port(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from runcomfy.cli import main

    with Emulator() as taken:
        assert main(["emulator", "--port", str(taken.port)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot listen on 127.0.0.1:{taken.port}" in err and "Traceback" not in err
    monkeypatch.setitem(sys.modules, "PIL", None)
    assert main(["emulator", "--port", "0"]) == 2
    assert (
        capsys.readouterr().err
        == 'runcomfy emulator: the runcomfy emulator needs Pillow: pip install "runcomfy[testing]"\n'
    )


def test_a_ctrl_c_as_the_emulator_announces_itself_stops_it_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client reads the announcement and may press Ctrl-C at once: a KeyboardInterrupt from the moment the
    lines are printed stops the emulator with exit 0, like one during the wait (it escaped as exit 130)."""
    from runcomfy.testing import __main__ as command

    stopped: list[Emulator] = []
    stop = Emulator.stop

    def announce_then_ctrl_c(emulator: Emulator) -> None:
        raise KeyboardInterrupt

    def recorded_stop(emulator: Emulator) -> None:
        stopped.append(emulator)
        stop(emulator)

    monkeypatch.setattr(command, "_announce", announce_then_ctrl_c)
    monkeypatch.setattr(Emulator, "stop", recorded_stop)
    try:
        code = command.main(["--port", "0"])
    except KeyboardInterrupt:  # (uncaught, it would stop the whole test run)
        pytest.fail("the Ctrl-C escaped main()")
    assert code == 0 and len(stopped) == 1


def test_cli_prints_what_both_clients_need() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "runcomfy.cli", "emulator", "--port", "0", "--token", "tok"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(10)
    base = re.search(r"on (http://127\.0\.0\.1:\d+)", lines[0]).group(1)  # type: ignore[union-attr]
    assert f"export RUNCOMFY_BASE_URL={base} RUNCOMFY_API_TOKEN=tok" in lines[1]
    assert f"export RUNCOMFY_MODEL_API_BASE={base}/v1 RUNCOMFY_TOKEN=tok" in lines[2]
    assert process.returncode == 0


def test_a_server_errors_text_reaches_the_exception(emu: Emulator) -> None:
    from runcomfy import Client
    from runcomfy._core import parse_answer
    from runcomfy.errors import ServerError, SubmitUncertainError
    from runcomfy.models.google.nano_banana_2 import edit

    text = parse_answer(500, b"No module named 'PIL'\n", request_id=None)
    assert isinstance(text, ServerError) and str(text) == "No module named 'PIL' (HTTP 500)"
    emu.inject("500", path_prefix="/v1/models/")
    with pytest.raises(SubmitUncertainError, match="injected fault: HTTP 500") as info:
        edit.submit(
            prompt="p", image_urls=["https://example.com/a.png"], client=Client(emu.token, base_url=emu.base_url)
        )
    assert isinstance(info.value.__cause__, ServerError) and info.value.__cause__.body["error_code"] == 500000
