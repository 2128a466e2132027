"""Worker functions for tests/test_handles.py.

They live at module level of an importable module because a "spawn" process pool sends functions by
reference: the child imports this module by name (multiprocessing gives spawned children the parent's
``sys.path``, where tests/conftest.py put tests/). Like a worker on another machine, a child gets only
what it is sent (a handle, its JSON, or a request id) and its environment: ``RUNCOMFY_API_TOKEN`` and
``RUNCOMFY_BASE_URL``. It waits for the job and downloads its files; it never submits.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from runcomfy.async_client import AsyncRequestHandle
from runcomfy.client import Client, RequestHandle, Result

TIMEOUT = 60.0


def _report(result: Result[Any], handle: Any, out_dir: str) -> dict[str, Any]:
    output = result.output
    return {
        "request_id": result.request_id,
        "pid": os.getpid(),
        "output_type": f"{type(output).__module__}.{type(output).__qualname__}",
        "urls": output.urls(),
        "paths": [str(path) for path in result.save(out_dir)],
        "client_base_url": handle.client.base_url,
        "token_from_env": bool(os.environ.get("RUNCOMFY_API_TOKEN")),
    }


def wait_for_handle(handle: RequestHandle[Any], out_dir: str) -> dict[str, Any]:
    """A handle object (the pool pickled it on the way here)."""
    return _report(handle.result(timeout=TIMEOUT), handle, out_dir)


def wait_for_json(text: str, out_dir: str) -> dict[str, Any]:
    """``json.dumps(handle.to_dict())``, as a queue or a database would carry it."""
    handle = RequestHandle.from_dict(json.loads(text))
    return _report(handle.result(timeout=TIMEOUT), handle, out_dir)


def wait_for_json_async(text: str, out_dir: str) -> dict[str, Any]:
    """The same JSON, resumed as an :class:`AsyncRequestHandle` inside the worker's own event loop."""

    async def main() -> dict[str, Any]:
        handle = AsyncRequestHandle.from_dict(json.loads(text))
        try:
            result = await handle.result(timeout=TIMEOUT)
        finally:
            await handle.client.aclose()
        return _report(result, handle, out_dir)

    return asyncio.run(main())


def wait_for_request_id(request_id: str, out_dir: str) -> dict[str, Any]:
    """Only the request id: ``Client().get_request(...)`` with the model id to type the output."""
    handle = Client().get_request(request_id, model="google/nano-banana-2/edit")
    return _report(handle.result(timeout=TIMEOUT), handle, out_dir)


WORKERS = {
    "handle": wait_for_handle,
    "json": wait_for_json,
    "json_async": wait_for_json_async,
    "request_id": wait_for_request_id,
}
