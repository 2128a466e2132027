"""RunComfy's own Python clients, replayed against the emulator: the same requests, in the same order, with
the same checks on the answers, written here in our own words with ``requests`` (their code is not
copied). Each flow names the file of theirs it mirrors:

- the MCP server's ``RunComfyModelAPIClient`` (runcomfy-com/runcomfy-mcp, ``runcomfy_client.py``);
- the ComfyUI partner nodes' client (runcomfy-com/comfyui-runcomfy-partner-nodes, ``runcomfy/client.py``,
  ``runcomfy/pricing.py``, ``runcomfy/catalog.py``, ``runcomfy/execution.py``) and their catalog
  curation script (``scripts/update_model_catalog.py``).
"""

from __future__ import annotations

import base64
import io
import math
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from PIL import Image
from runcomfy.testing import Emulator

EDIT = "google/nano-banana-2/edit"
TEXT_TO_IMAGE = "bytedance/seedream-5.0-pro/text-to-image"
IMAGE_TO_VIDEO = "bytedance/seedance-2.5/image-to-video/720p"
TEXT_TO_AUDIO = "acestep-ai/ace-step/text-to-audio"


class ClientError(Exception):
    """What the replayed client would raise: its message and code."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(max_side=32) as emulator:
        yield emulator


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


# --- the MCP server: runcomfy-com/runcomfy-mcp, runcomfy_client.py ----------------------------------


class McpReplay:
    """``BaseRunComfyClient._request`` and ``RunComfyModelAPIClient``'s calls, as ``requests`` calls."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url, self.token = base_url.rstrip("/"), token
        self.session = requests.Session()

    def request(self, method: str, path: str, *, params: Any = None, body: Any = None) -> Any:
        headers = {"Accept": "application/json", "Authorization": f"Bearer {self.token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        response = self.session.request(method, self.base_url + path, params=params, json=body, headers=headers)
        try:
            payload: Any = response.json()
        except ValueError:
            payload = response.text
        if response.status_code >= 400:
            # the message: error_message, message, error, or a detail that is text; then the reason phrase
            if isinstance(payload, dict):
                detail = payload.get("detail")
                message = (
                    payload.get("error_message")
                    or payload.get("message")
                    or payload.get("error")
                    or (detail if isinstance(detail, str) else None)
                    or response.reason
                )
                raise ClientError(f"HTTP {response.status_code} | {payload.get('error_code')} | {message}")
            raise ClientError(f"HTTP {response.status_code} | {response.text or response.reason}")
        if isinstance(payload, dict) and payload.get("error_code") is not None:  # HTTP 200 carrying an error
            raise ClientError(f"HTTP 200 | {payload['error_code']} | {payload.get('error_message')}")
        return payload

    def list_models(self, **filters: str) -> Any:
        params = [("limit", "100"), ("offset", "0"), *filters.items()]
        return self.request("GET", "/v1/models", params=params)

    def wait_for_completion(self, request_id: str, *, poll: float = 0.01, timeout: float = 10) -> dict[str, Any]:
        """Poll /status until completed, cancelled or failed; then one /result (its errors kept, not raised)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.request("GET", f"/v1/requests/{request_id}/status")
            if str(status.get("status", "")).lower() in {"completed", "cancelled", "failed"}:
                try:
                    result = self.request("GET", f"/v1/requests/{request_id}/result")
                except ClientError as exc:
                    result = {"ok": False, "error": str(exc)}
                return {"status_payload": status, "result_payload": result}
            assert time.monotonic() < deadline, "timed out"
            time.sleep(poll)


def output_urls(result: Any) -> list[str]:
    """``collect_model_output_urls``: http(s) strings under url/path/image/images/video/videos/audio keys."""
    keys = {"url", "path", "image", "images", "video", "videos", "audio"}
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, nested in value.items():
                items = nested if isinstance(nested, list) else [nested]
                if key in keys and all(isinstance(item, str) for item in items):
                    found.extend(item for item in items if item.startswith(("https://", "http://")))
                else:
                    walk(nested)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(result.get("output") if isinstance(result, dict) else None)
    return found


def test_mcp_catalog_tools(emu: Emulator) -> None:
    mcp = McpReplay(emu.base_url, emu.token)
    page = mcp.list_models()
    assert page["total"] == len(page["models"]) > 0
    assert all(entry["kind"] == "model" and entry["categories"] for entry in page["models"])
    categories = mcp.request("GET", "/v1/models/categories")["categories"]
    assert {"text-to-image", "image-to-image", "image-to-video", "text-to-video", "text-to-audio"} <= set(categories)
    for category in ("image-to-video", "text-to-audio"):
        found = mcp.list_models(category=category, kind="model", include_schema="true")["models"]
        assert found and all(category in entry["categories"] and "input_schema" in entry for entry in found)
    assert mcp.list_models(kind="lora")["models"] == []
    assert mcp.list_models(search="seedance")["total"] == sum("seedance" in e["model_id"] for e in page["models"])
    model = mcp.request("GET", f"/v1/models/{EDIT}")
    assert model["model_id"] == EDIT and model["input_schema"]["required"] == ["prompt", "image_urls"]
    with pytest.raises(ClientError, match=r"HTTP 404 \| 400001 \| invalid model id"):
        mcp.request("GET", "/v1/models/acme/none")


def test_mcp_generate_media_and_cancel(emu: Emulator) -> None:
    mcp = McpReplay(emu.base_url, emu.token)
    image = emu.add_file("cat.png", png_bytes(), "image/png")
    submitted = mcp.request("POST", f"/v1/models/{EDIT}", body={"prompt": "a cat", "image_urls": [image]})
    assert set(submitted) >= {"request_id", "status_url", "result_url", "cancel_url"}
    done = mcp.wait_for_completion(submitted["request_id"])
    assert done["status_payload"]["status"] == "completed"
    assert done["result_payload"]["status"] == "succeeded"
    urls = output_urls(done["result_payload"])
    assert len(urls) == 1 and requests.get(urls[0], timeout=5).content.startswith(b"\x89PNG")

    emu.queue_time = 3600  # a job that stays queued: cancel_request cancels it
    queued = mcp.request("POST", f"/v1/models/{TEXT_TO_IMAGE}", body={"prompt": "a dog"})["request_id"]
    assert mcp.request("POST", f"/v1/requests/{queued}/cancel") == {
        "request_id": queued,
        "status": "cancelled",
        "outcome": "cancelled",
    }
    assert mcp.wait_for_completion(queued)["status_payload"]["status"] == "cancelled"


def test_mcp_errors_keep_the_servers_message(emu: Emulator) -> None:
    mcp = McpReplay(emu.base_url, emu.token)
    with pytest.raises(ClientError, match=r"(?s)HTTP 422 \| 422000 \| .*prompt: missing"):
        mcp.request("POST", f"/v1/models/{EDIT}", body={"image_urls": ["https://example.com/a.png"]})
    with pytest.raises(ClientError, match=r"HTTP 401 \| 400004"):
        McpReplay(emu.base_url, "wrong").request("GET", "/v1/models")
    emu.inject("error_200")
    with pytest.raises(ClientError, match=r"HTTP 200 \| 400002"):
        mcp.list_models()
    with pytest.raises(ClientError, match=r"HTTP 404 \| 404001"):
        mcp.request("GET", "/v1/requests/no-such-request/status")


def test_mcp_failed_job_reports_why(emu: Emulator) -> None:
    mcp = McpReplay(emu.base_url, emu.token)
    missing = emu.base_url + "/files/inputs/missing.png"
    request_id = mcp.request("POST", f"/v1/models/{EDIT}", body={"prompt": "x", "image_urls": [missing]})["request_id"]
    done = mcp.wait_for_completion(request_id)
    assert done["status_payload"]["status"] == "failed"
    error = done["result_payload"]["error"]
    assert "image_urls[0]" in error["message"] and "HTTP 404" in error["message"]


# --- the ComfyUI partner nodes: runcomfy-com/comfyui-runcomfy-partner-nodes ---------------------------

REQUEST_ID = re.compile(r"[a-zA-Z0-9_-]{1,128}")  # client.py: validate_request_id
WAITING = ("in_queue", "in_progress", "pending", "waiting", "starting", "processing")  # execution.py


class NodesReplay:
    """``RunComfyClient`` (client.py) with the price check of pricing.py: one model, no retries."""

    def __init__(self, base_url: str, token: str, model_id: str, output_type: str) -> None:
        self.base_url, self.token, self.model_id, self.output_type = base_url, token, model_id, output_type
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {
            "Authorization": "Bearer " + self.token,
            "Accept": "application/json",
            "Cache-Control": "no-cache",
            "Pragma": "no-cache",
            "User-Agent": "RunComfy-ComfyUI/0.2.0",
        }
        response = self.session.request(
            method, self.base_url + path, headers=headers, timeout=(10, 20), allow_redirects=False, **kwargs
        )
        if response.status_code in (401, 403):
            raise ClientError("unauthorized", "unauthorized")
        if response.status_code == 402:
            raise ClientError("insufficient balance", "insufficient_balance")
        if not 200 <= response.status_code < 300:
            raise ClientError(f"RunComfy returned HTTP {response.status_code}", "api_error")
        try:
            data = response.json()
        except ValueError:
            raise ClientError("unreadable response", "invalid_response") from None
        if not isinstance(data, dict):
            raise ClientError("unexpected response", "invalid_response")
        return data

    def price(self) -> dict[str, Any]:
        """pricing.py's parse_price: the entry must be this model's, in the unit the node expects (catalog.py:
        ``output`` for IMAGE models, ``second`` otherwise), with a finite non-negative base price."""
        data = self.request("GET", "/v1/models/" + self.model_id)
        value = data.get("base_price_usd")
        unit = "output" if self.output_type == "IMAGE" else "second"
        if (
            data.get("model_id") != self.model_id
            or data.get("price_unit") != unit
            or isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise ClientError("The Model API did not return a valid price for this model.", "price_unavailable")
        return {"rate": value, "unit": unit, "note": str(data.get("pricing_note") or "")}

    def submit(self, inputs: dict[str, Any]) -> str:
        try:
            data = self.request("POST", "/v1/models/" + self.model_id, json=inputs)
        except ClientError as exc:
            if exc.code in ("api_error", "invalid_response"):
                raise ClientError("Submission could not be confirmed", "unknown_submission") from None
            raise
        request_id = data.get("request_id")
        if not isinstance(request_id, str) or not REQUEST_ID.fullmatch(request_id):
            raise ClientError("Submission returned no usable request ID", "unknown_submission")
        return request_id

    def result(self, request_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/requests/{request_id}/result", params={"include_cost": "true"})

    def cancel(self, request_id: str) -> dict[str, Any]:
        return self.request("POST", f"/v1/requests/{request_id}/cancel")

    def run_generation(self, inputs: dict[str, Any], *, timeout: float = 10) -> dict[str, Any]:
        """execution.py's async_run_generation: price, one submit, then /result?include_cost=true until done."""
        price = self.price()
        request_id = self.submit(inputs)
        states = []
        deadline = time.monotonic() + timeout
        while True:
            assert time.monotonic() < deadline, "poll_timeout"
            result = self.result(request_id)
            state = result.get("status")
            states.append(state)
            if result.get("model_id") and result["model_id"] != self.model_id:
                raise ClientError("This request belongs to a different RunComfy model.", "model_mismatch")
            if state in ("completed", "succeeded"):
                urls = output_images(result) if self.output_type == "IMAGE" else output_video(result)
                if not urls:
                    raise ClientError("completed without usable output", "missing_output")
                cost = result.get("cost")
                usable = isinstance(cost, int | float) and not isinstance(cost, bool) and math.isfinite(cost)
                return {"urls": urls, "cost": cost if usable and cost >= 0 else None, "price": price, "states": states}
            if state in ("failed", "cancelled"):
                raise ClientError(f"RunComfy request {request_id} {state}", "generation_" + str(state))
            if state not in WAITING:
                raise ClientError(f"Unknown state for request {request_id}", "unknown_state")
            time.sleep(0.01)


def output_images(result: dict[str, Any]) -> list[str] | None:
    """execution.py's output_images: ``images`` (non-empty strings) or one ``image``."""
    output = result.get("output") or {}
    images = output.get("images") if isinstance(output, dict) else None
    if isinstance(images, list) and images and all(isinstance(url, str) and url for url in images):
        return images
    image = output.get("image") if isinstance(output, dict) else None
    return [image] if isinstance(image, str) and image else None


def output_video(result: dict[str, Any]) -> str | None:
    """execution.py's output_video: ``video``, or ``videos`` holding exactly one URL."""
    output = result.get("output") or {}
    if not isinstance(output, dict):
        return None
    if isinstance(output.get("video"), str) and output["video"]:
        return str(output["video"])
    videos = output.get("videos")
    return videos[0] if isinstance(videos, list) and len(videos) == 1 and isinstance(videos[0], str) else None


def test_partner_nodes_generate_an_image_and_read_its_cost(emu: Emulator) -> None:
    nodes = NodesReplay(emu.base_url, emu.token, EDIT, "IMAGE")
    image = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    done = nodes.run_generation({"prompt": "a cat", "image_urls": [image], "num_images": 2})
    assert done["price"]["unit"] == "output" and "not RunComfy's price" in done["price"]["note"]
    assert len(done["urls"]) == 2
    assert done["cost"] == pytest.approx(done["price"]["rate"] * 2)  # per output file


def test_partner_nodes_generate_a_video_priced_per_second() -> None:
    prices = {IMAGE_TO_VIDEO: (0.25, "second")}
    with Emulator(max_side=32, prices=prices, workers=1, processing_time=1, time_scale=50) as emu:
        nodes = NodesReplay(emu.base_url, emu.token, IMAGE_TO_VIDEO, "VIDEO")
        image = emu.add_file("frame.png", png_bytes(), "image/png")
        done = nodes.run_generation({"prompt": "waves", "image": image, "duration": 8})
        assert done["price"] == {"rate": 0.25, "unit": "second", "note": done["price"]["note"]}
        assert done["cost"] == pytest.approx(0.25 * 8)  # per second asked for
        assert done["urls"].startswith(emu.base_url) and "in_progress" in done["states"]


def test_partner_nodes_refuse_a_price_in_another_unit() -> None:
    with Emulator(max_side=32, prices={EDIT: (0.1, "request")}) as emu:
        nodes = NodesReplay(emu.base_url, emu.token, EDIT, "IMAGE")
        with pytest.raises(ClientError) as refused:
            nodes.run_generation({"prompt": "x", "image_urls": ["https://example.com/a.png"]})
        assert refused.value.code == "price_unavailable"
        assert not emu.jobs  # the node never submitted


def test_partner_nodes_see_a_failed_input_and_cancel_a_queued_job(emu: Emulator) -> None:
    nodes = NodesReplay(emu.base_url, emu.token, EDIT, "IMAGE")
    with pytest.raises(ClientError) as failed:
        nodes.run_generation({"prompt": "x", "image_urls": ["data:image/png;base64,AAAA"]})
    assert failed.value.code == "generation_failed"
    emu.queue_time = 3600
    request_id = nodes.submit({"prompt": "x", "image_urls": ["https://example.com/a.png"]})
    answer = nodes.cancel(request_id)
    assert answer["status"] == "cancelled" or answer["outcome"] == "cancelled"  # execution.py's test
    emu.fail_next()
    emu.queue_time = 0
    with pytest.raises(ClientError) as second:
        nodes.run_generation({"prompt": "x", "image_urls": ["https://example.com/a.png"]})
    assert second.value.code == "generation_failed"


def test_partner_nodes_catalog_curation_accepts_every_entry(emu: Emulator) -> None:
    """scripts/update_model_catalog.py: each entry must be ``kind: model``, priced per ``output`` or
    ``second``, and its categories must name exactly one output (ending in image, video or audio)."""
    models = requests.get(
        emu.base_url + "/v1/models",
        params={"include_schema": "true", "limit": "500"},
        headers={"Authorization": "Bearer " + emu.token},
        timeout=10,
    ).json()["models"]
    for entry in models:
        assert entry["kind"] == "model" and entry["price_unit"] in {"output", "second"}, entry["model_id"]
        outputs = {word for c in entry["categories"] for word in ("audio", "image", "video") if c.endswith(word)}
        assert len(outputs) == 1, entry["model_id"]
        assert entry["price_unit"] == ("output" if outputs == {"image"} else "second"), entry["model_id"]
        assert isinstance(entry["input_schema"].get("properties"), dict)
