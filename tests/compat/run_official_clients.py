"""Run RunComfy's own Python clients, unchanged, against this project's emulator (not run in CI).

Their code is not vendored: point this script at checkouts of

- ``runcomfy-com/runcomfy-mcp`` (``--mcp DIR``: the directory holding ``runcomfy_client.py``; give it
  more than once to run several versions), and
- ``runcomfy-com/comfyui-runcomfy-partner-nodes`` (``--nodes DIR``: the directory holding their
  ``runcomfy/`` package),

and at a Python that has their dependencies (``--python``: ``httpx``, ``requests``, ``aiohttp``)::

    .venv/bin/python tests/compat/run_official_clients.py --python /tmp/rc-venv/bin/python \\
        --mcp /tmp/rc-mcp --nodes /tmp/rc-nodes

This script runs twice over: as the orchestrator (in this project's virtualenv) it starts an
:class:`~runcomfy.testing.Emulator` per scenario and then runs itself as a driver (``--driver``) in
``--python``, with the checkout first on ``sys.path``; the driver calls their classes and functions
with their own arguments. Their partner package is also named ``runcomfy``, so the two never share a
process. How each client is pointed at the emulator, without editing their code:

- MCP: ``RunComfyModelAPIClient(base_url=...)`` (what their server passes from
  ``RUNCOMFY_MODEL_API_BASE_URL``); the token by the constructor's ``api_key`` (older versions) or their
  ``current_user_token`` context variable (newer versions, which have no other way).
- Partner nodes: the base URL is not configurable (``RUNCOMFY_API_ENVIRONMENT`` picks production or
  development only), so the driver sets ``runcomfy.client.API_ENVIRONMENTS["production"]`` to the
  emulator's URL before making a client (their ``configured_api_base()`` reads that dict on each call).

Each flow prints one line, ``PASS flow`` or ``FAIL flow: error``; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import inspect
import os
import struct
import subprocess
import sys
import time
import traceback
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

TOKEN = "compat-token"
IMAGE_MODEL = "google/nano-banana-2-lite/text-to-image"  # in both the emulator and the nodes' models.json
EDIT_MODEL = "google/nano-banana-2-lite/edit"
VIDEO_MODEL = "bytedance/seedance-2.5/text-to-video/1080p"

# --- the orchestrator (this project's virtualenv) -------------------------------------------------

# scenario → (Emulator options, what to do to it before the driver runs, the flows the driver runs)
SCENARIOS: dict[str, tuple[dict[str, Any], Callable[[Any], None], dict[str, list[str]]]] = {
    "normal": (
        {"queue_time": 0.5, "processing_time": 1.0, "max_side": 64},
        lambda emu: None,
        {
            "mcp": [
                "list_models",
                "list_models_filtered",
                "list_model_categories",
                "get_model",
                "submit_poll_status_result",
                "wait_for_completion",
                "cancel_queued",
                "cancel_finished",
                "errors",
            ],
            "nodes": [
                "price",
                "price_every_model",
                "sync_submit_poll_result_cost",
                "async_run_generation_image",
                "async_run_generation_edit_data_uri",
                "async_run_generation_video",
                "sync_cancel_queued",
                "async_interrupt_cancels",
                "errors",
            ],
        },
    ),
    "failing": (
        {"max_side": 64, "fail_jobs": True},
        lambda emu: None,
        {"mcp": ["failed_job"], "nodes": ["failed_job"]},
    ),
}


def orchestrate(args: argparse.Namespace) -> int:
    """Start an emulator per scenario and run the drivers in ``args.python``; returns the exit status."""
    from runcomfy.testing import Emulator

    failed = 0
    targets = [("mcp", path) for path in args.mcp] + [("nodes", path) for path in args.nodes]
    for scenario, (options, prepare, flows) in SCENARIOS.items():
        for client, path in targets:
            with Emulator(token=TOKEN, **options) as emu:
                prepare(emu)
                print(f"== {client} {path} [{scenario}]", flush=True)
                command = [args.python, __file__, "--driver", client, "--checkout", str(path)]
                command += ["--base-url", emu.base_url, "--flows", ",".join(flows[client])]
                env = {**os.environ, "PYTHONPATH": str(path), "PYTHONDONTWRITEBYTECODE": "1"}
                env.pop("RUNCOMFY_API_ENVIRONMENT", None)
                done = subprocess.run(command, env=env, cwd=path, timeout=300, check=False)
                failed += done.returncode != 0
    return 1 if failed else 0


# --- the driver (their virtualenv, their checkout on sys.path) ---------------------------------------


def tiny_png() -> bytes:
    """An 8x8 opaque PNG, made without Pillow."""
    rows = b"".join(b"\x00" + bytes((10, 120, 200)) * 8 for _ in range(8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def check(condition: object, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def fetch_bytes(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


class McpFlows:
    """``runcomfy_client.RunComfyModelAPIClient`` of runcomfy-com/runcomfy-mcp."""

    def __init__(self, base_url: str) -> None:
        import runcomfy_client as rc

        self.rc = rc
        if "api_key" in inspect.signature(rc.RunComfyModelAPIClient.__init__).parameters:
            self.client = rc.RunComfyModelAPIClient(TOKEN, base_url=base_url)
        else:  # newer versions: the token only through the request-scoped context variable
            rc.current_user_token.set(TOKEN)
            self.client = rc.RunComfyModelAPIClient(base_url=base_url)

    def has(self, method: str) -> bool:
        return hasattr(self.client, method)

    async def list_models(self) -> None:
        page = await self.client.list_models()
        check(isinstance(page.get("models"), list) and page["models"], f"no models: {page!r:.200}")
        check(isinstance(page.get("total"), int) and page["total"] >= len(page["models"]), "bad total")
        check(len(page["models"]) <= 100, "the client's default limit=100 was not honoured")
        first = page["models"][0]
        for key in ("model_id", "display_name", "categories", "kind", "base_price_usd", "price_unit"):
            check(key in first, f"entry lacks {key}")
        check("input_schema" not in first, "input_schema without include_schema=true")
        second = await self.client.list_models(limit=2, offset=2)
        check([m["model_id"] for m in second["models"]] == [m["model_id"] for m in page["models"][2:4]], "paging")

    async def list_models_filtered(self) -> None:
        page = await self.client.list_models(search="nano-banana", category="text-to-image", include_schema=True)
        ids = [m["model_id"] for m in page["models"]]
        check(IMAGE_MODEL in ids, f"{IMAGE_MODEL} not found: {ids}")
        check(all("text-to-image" in m["categories"] for m in page["models"]), "category filter")
        check(all(isinstance(m.get("input_schema"), dict) for m in page["models"]), "include_schema")
        kind = await self.client.list_models(kind="model", limit=500)
        check(kind["total"] == len(kind["models"]), "kind=model, limit=500")

    async def list_model_categories(self) -> None:
        payload = await self.client.list_model_categories()
        categories = payload.get("categories")
        check(isinstance(categories, list) and "text-to-image" in categories, f"categories: {payload!r:.200}")

    async def get_model(self) -> None:
        entry = await self.client.get_model(IMAGE_MODEL)
        check(entry.get("model_id") == IMAGE_MODEL and entry.get("price_unit") == "output", f"{entry!r:.200}")

    async def submit(self, model_id: str = IMAGE_MODEL, body: dict[str, Any] | None = None) -> dict[str, Any]:
        submission = await self.client.submit_request(model_id, request_body=body or {"prompt": "a red kite"})
        for key in ("request_id", "status_url", "result_url", "cancel_url"):
            check(isinstance(submission.get(key), str), f"submission lacks {key}: {submission}")
        return submission

    async def submit_poll_status_result(self) -> None:
        request_id = (await self.submit())["request_id"]
        seen = []
        while True:
            status = await self.client.get_request_status(request_id)
            if status["status"] not in seen:
                seen.append(status["status"])
            if status["status"] == "in_queue":
                check(isinstance(status.get("queue_position"), int), "in_queue without queue_position")
            if status["status"] in ("completed", "cancelled", "failed"):
                break
            await asyncio.sleep(0.1)
        check(seen == ["in_queue", "in_progress", "completed"], f"states seen: {seen}")
        result = await self.client.get_request_result(request_id)
        check(result.get("status") == "succeeded", f"result status {result.get('status')}")
        urls = self.rc.collect_model_output_urls(result)
        check(len(urls) == 1, f"collect_model_output_urls: {urls}")
        check(fetch_bytes(urls[0]["url"]).startswith(b"\x89PNG"), "the output URL is not a PNG")

    async def wait_for_completion(self) -> None:
        request_id = (await self.submit())["request_id"]
        states: list[str] = []
        done = await self.client.wait_for_completion(
            request_id, poll_interval_seconds=0.2, timeout_seconds=30, on_status=lambda p: states.append(p["status"])
        )
        check(done["status_payload"]["status"] == "completed", f"{done['status_payload']}")
        check(done["result_payload"]["status"] == "succeeded", f"{done['result_payload']!r:.300}")
        check(states[-1] == "completed" and "in_queue" in states, f"on_status saw {states}")

    async def cancel_queued(self) -> None:
        request_id = (await self.submit())["request_id"]
        answer = await self.client.cancel_request(request_id)
        check(answer.get("outcome") == "cancelled", f"cancel: {answer}")
        done = await self.client.wait_for_completion(request_id, poll_interval_seconds=0.2, timeout_seconds=10)
        check(done["status_payload"]["status"] == "cancelled", f"{done['status_payload']}")
        check(done["result_payload"]["status"] == "cancelled", f"{done['result_payload']}")

    async def cancel_finished(self) -> None:
        request_id = (await self.submit())["request_id"]
        await self.client.wait_for_completion(request_id, poll_interval_seconds=0.2, timeout_seconds=30)
        answer = await self.client.cancel_request(request_id)
        check(answer.get("outcome") == "not_cancellable", f"cancel of a finished job: {answer}")

    async def errors(self) -> None:
        api_error = self.rc.RunComfyAPIError
        cases: list[tuple[str, Any, int, int]] = [
            ("unknown request", self.client.get_request_status("0" * 32), 404, 404001),
            ("unknown model", self.client.submit_request("nobody/nothing", request_body={}), 404, 400001),
            ("invalid input", self.client.submit_request(IMAGE_MODEL, request_body={"aspect_ratio": 3}), 422, 0),
        ]
        for name, call, status, code in cases:
            try:
                await call
            except api_error as exc:
                check(exc.status_code == status, f"{name}: HTTP {exc.status_code}, expected {status}")
                check(not code or exc.error_code == code, f"{name}: error_code {exc.error_code}")
                check(exc.message and exc.message != "Not Found", f"{name}: message {exc.message!r}")
                if name == "invalid input":
                    check(isinstance(exc.detail, list) and exc.detail, f"invalid input: detail {exc.detail!r}")
            else:
                raise AssertionError(f"{name}: no RunComfyAPIError")

    async def failed_job(self) -> None:
        request_id = (await self.submit())["request_id"]
        done = await self.client.wait_for_completion(request_id, poll_interval_seconds=0.2, timeout_seconds=10)
        check(done["status_payload"]["status"] == "failed", f"{done['status_payload']}")
        result = done["result_payload"]
        check(result["status"] == "failed" and result.get("error"), f"{result}")

    async def close(self) -> None:
        await self.client.aclose()


class NodesFlows:
    """``runcomfy.client``/``runcomfy.execution`` of runcomfy-com/comfyui-runcomfy-partner-nodes."""

    def __init__(self, base_url: str) -> None:
        import runcomfy.client as client_module
        from runcomfy import execution

        # Their base URL is not configurable: point the "production" environment at the emulator.
        client_module.API_ENVIRONMENTS["production"] = base_url
        self.client_module, self.execution = client_module, execution

    def has(self, method: str) -> bool:
        return True

    def sync(self, model_id: str) -> Any:
        return self.client_module.RunComfyClient(TOKEN, model_id=model_id)

    def run(self, model_id: str, inputs: dict[str, Any], output_type: str, **options: Any) -> Any:
        async def go() -> Any:
            client = self.client_module.AsyncRunComfyClient(TOKEN, model_id=model_id)
            try:
                return await self.execution.async_run_generation(
                    client, inputs, output_type=output_type, model_id=model_id, poll_interval=0.2, **options
                )
            finally:
                await client.close()

        return go()

    async def price(self) -> None:
        image = self.sync(IMAGE_MODEL).price()
        check(image.price_unit == "output" and image.rate > 0 and image.estimate({}) == image.rate, f"{image}")
        video = self.sync(VIDEO_MODEL).price()
        check(video.price_unit == "second" and video.estimate({"duration": 5}) == video.rate * 5, f"{video}")

    async def price_every_model(self) -> None:
        """Their ``price()`` for every model of their ``models.json``; the models the emulator does not
        serve (it serves this project's schemas) are listed, not failed."""
        from runcomfy.catalog import MODELS

        missing = []
        for model_id in MODELS:
            try:
                self.sync(model_id).price()
            except self.client_module.RunComfyError as exc:
                if exc.code != "api_error":  # 404: a model the emulator does not serve
                    raise
                missing.append(model_id)
        check(len(missing) < len(MODELS), "no model of theirs is served")
        for model_id in missing:
            print(f"INFO price_every_model: the emulator does not serve {model_id}", flush=True)

    async def sync_submit_poll_result_cost(self) -> None:
        client = self.sync(IMAGE_MODEL)
        request_id = client.submit({"prompt": "a red kite", "aspect_ratio": "1:1"})
        states = []
        while True:
            result = client.result(request_id)
            states.append(result.get("status"))
            if result.get("status") not in ("in_queue", "in_progress"):
                break
            time.sleep(0.1)
        check(result.get("status") == "succeeded", f"states: {states}")
        check(result.get("model_id") == IMAGE_MODEL, f"model_id {result.get('model_id')}")
        urls = self.execution.output_images(result)
        check(urls and fetch_bytes(urls[0]).startswith(b"\x89PNG"), f"output_images: {urls}")
        cost = self.execution.cost_from_result(result)
        check(cost is not None and cost > 0, f"cost_from_result: {result.get('cost')!r}")

    async def async_run_generation_image(self) -> None:
        events: list[str] = []
        done = await self.run(
            IMAGE_MODEL, {"prompt": "a red kite"}, "IMAGE", on_event=lambda e: events.append(e["state"])
        )
        check(done["state"] == "completed" and done["image_urls"], f"{done}")
        check(done["cost_usd"] == done["quote"]["estimated_cost_usd"], f"cost {done['cost_usd']} vs quote")
        check(events[:3] == ["submitting", "submitted", "in_queue"], f"events {events}")

    async def async_run_generation_edit_data_uri(self) -> None:
        image = "data:image/png;base64," + base64.b64encode(tiny_png()).decode()
        done = await self.run(EDIT_MODEL, {"prompt": "make it red", "image_urls": [image]}, "IMAGE")
        check(done["state"] == "completed" and len(done["image_urls"]) >= 1, f"{done}")

    async def async_run_generation_video(self) -> None:
        done = await self.run(VIDEO_MODEL, {"prompt": "a kite in the wind", "duration": 5}, "VIDEO")
        check(done["state"] == "completed" and isinstance(done["video_url"], str), f"{done}")
        check(len(fetch_bytes(done["video_url"])) > 0, "empty video")
        quote = done["quote"]
        check(quote["estimated_cost_usd"] == quote["unit_price_usd"] * 5, f"estimate {quote}")
        check(done["cost_usd"] == quote["estimated_cost_usd"], f"cost {done['cost_usd']} vs {quote}")

    async def sync_cancel_queued(self) -> None:
        client = self.sync(IMAGE_MODEL)
        request_id = client.submit({"prompt": "never mind"})
        answer = client.cancel(request_id)
        check(answer.get("outcome") == "cancelled", f"cancel: {answer}")
        check(client.result(request_id).get("status") == "cancelled", "result after cancel")

    async def async_interrupt_cancels(self) -> None:
        events: list[dict[str, Any]] = []

        def interrupt() -> None:
            if any(event["state"] == "submitted" for event in events):
                raise KeyboardInterrupt("the user pressed Cancel in ComfyUI")

        try:
            await self.run(IMAGE_MODEL, {"prompt": "stop"}, "IMAGE", on_event=events.append, check_interrupt=interrupt)
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError("the interrupt did not stop the generation")
        last = events[-1]
        check(last["state"] == "interrupted", f"last event {last}")
        check(last["message"] == "The queued request was cancelled.", f"message {last['message']!r}")

    async def errors(self) -> None:
        error = self.client_module.RunComfyError
        wrong = self.client_module.RunComfyClient("wrong-token", model_id=IMAGE_MODEL)
        try:
            wrong.price()
        except error as exc:
            check(exc.code == "unauthorized", f"wrong token: {exc.code}")
        else:
            raise AssertionError("a wrong token was accepted")
        try:
            self.sync(IMAGE_MODEL).result("0" * 32)
        except error as exc:
            check(exc.code == "api_error", f"unknown request: {exc.code}")
        else:
            raise AssertionError("an unknown request id was answered")

    async def failed_job(self) -> None:
        try:
            await self.run(IMAGE_MODEL, {"prompt": "doomed"}, "IMAGE")
        except self.client_module.RunComfyError as exc:
            check(exc.code == "generation_failed", f"code {exc.code}: {exc}")
        else:
            raise AssertionError("a failed job completed")

    async def close(self) -> None:
        return None


def drive(args: argparse.Namespace) -> int:
    """Run the named flows of one client; one line per flow; returns the exit status."""
    sys.path.insert(0, str(Path(args.checkout).resolve()))
    flows = McpFlows(args.base_url) if args.driver == "mcp" else NodesFlows(args.base_url)
    failed = 0

    async def main() -> None:
        nonlocal failed
        try:
            for name in args.flows.split(","):
                needs = {"list_models": "list_models", "list_models_filtered": "list_models"}
                needs |= {"list_model_categories": "list_model_categories", "get_model": "get_model"}
                if name in needs and not flows.has(needs[name]):
                    print(f"SKIP {name}: this version of the client has no {needs[name]}()", flush=True)
                    continue
                try:
                    await getattr(flows, name)()
                except Exception as exc:  # a flow's failure is reported, the next flow runs
                    failed += 1
                    where = traceback.extract_tb(exc.__traceback__)[-1]
                    print(f"FAIL {name}: {type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})")
                else:
                    print(f"PASS {name}", flush=True)
        finally:
            await flows.close()

    asyncio.run(main())
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="a Python with their dependencies")
    parser.add_argument("--mcp", action="append", default=[], help="a runcomfy-mcp checkout (repeatable)")
    parser.add_argument("--nodes", action="append", default=[], help="a partner-nodes checkout (repeatable)")
    parser.add_argument("--driver", choices=("mcp", "nodes"), help=argparse.SUPPRESS)
    parser.add_argument("--checkout", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--flows", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.driver:
        return drive(args)
    if not args.mcp and not args.nodes:
        parser.error("give at least one --mcp or --nodes checkout")
    return orchestrate(args)


if __name__ == "__main__":
    sys.exit(main())
