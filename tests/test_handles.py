"""Request handles are plain data: ``to_dict()`` → JSON → ``from_dict()`` and pickle, for
``RequestHandle`` and ``AsyncRequestHandle``, with no token inside. A restored handle calls through
the default client, configured from the environment, and only when that client serves the handle's
base URL (else it is refused, so stored data never sends the token to another host).

The batch pattern of the README: submit N jobs here, send the handles (objects, their JSON, or just
the request ids) to a "spawn" ``ProcessPoolExecutor`` (fresh interpreters, as on another machine), each
worker waits for its job and saves the files; every result comes back and nothing is submitted twice.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import pickle
import secrets
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from pathlib import Path
from typing import Any

import _workers
import pytest
import runcomfy.async_client
import runcomfy.client
from conftest import IMAGE, submits
from runcomfy.async_client import AsyncClient, AsyncRequestHandle
from runcomfy.client import Client, RequestHandle, Result
from runcomfy.errors import ForeignHandleError, InvalidIdError
from runcomfy.models.google.nano_banana_2 import edit
from runcomfy.testing import Emulator

TOKEN = "handles-" + secrets.token_hex(12)  # unique: searching serialised bytes for it means something
N = 4
OUTPUT_TYPE = f"{edit.Output.__module__}.{edit.Output.__qualname__}"


@pytest.fixture
def emu():
    with Emulator(token=TOKEN, max_side=64, processing_time=0.3) as emulator:
        yield emulator


@pytest.fixture
def env(emu, monkeypatch):
    """The emulator, with the environment a worker is configured by (inherited by spawned children)
    and no default client left over from another test."""
    monkeypatch.setenv("RUNCOMFY_API_TOKEN", emu.token)
    monkeypatch.setenv("RUNCOMFY_BASE_URL", emu.base_url)
    monkeypatch.setattr(runcomfy.client, "_default", None)
    monkeypatch.setattr(runcomfy.async_client, "_default", None)
    return emu


def assert_plain_data_without_token(handle: Any) -> None:
    data = handle.to_dict()
    assert data == {"request_id": handle.request_id, "model_id": edit.MODEL_ID, "base_url": handle.base_url}
    assert TOKEN not in json.dumps(data)
    pickled = pickle.dumps(handle)
    assert TOKEN.encode() not in pickled and b"_transport" not in pickled and b"Session" not in pickled


def assert_typed(result: Result[Any], request_id: str) -> None:
    assert isinstance(result, Result) and isinstance(result.output, edit.Output)
    assert result.request_id == request_id and result.model_id == edit.MODEL_ID
    assert result.output.images and result.output.urls()


def test_request_handle_round_trips_through_json_and_pickle(env):
    with Client(token=env.token, base_url=env.base_url) as client:
        handle = edit.submit(prompt="p", image_urls=[IMAGE], client=client)
    assert_plain_data_without_token(handle)

    from_json = RequestHandle.from_dict(json.loads(json.dumps(handle.to_dict())))
    from_pickle = pickle.loads(pickle.dumps(handle))
    for restored in (from_json, from_pickle):
        assert type(restored) is RequestHandle and restored == handle and hash(restored) == hash(handle)
        assert restored._client is None  # the client is not part of the data
        assert restored.output_type is edit.Output  # found again from the model id
        assert_typed(restored.result(timeout=10), handle.request_id)
        # the base URL is RUNCOMFY_BASE_URL's: the default client, made from the environment
        assert restored.client is runcomfy.client.default_client()
    assert submits(env) == 1


FOREIGN = "http://127.0.0.1:9"  # nothing listens there: a call would fail, not succeed


def test_a_restored_handle_of_another_base_url_is_refused_unless_given_a_client_of_that_url(env, monkeypatch):
    with Client(token=env.token, base_url=env.base_url) as client:
        handle = edit.submit(prompt="p", image_urls=[IMAGE], client=client)
    data = {**handle.to_dict(), "base_url": FOREIGN}  # stored data pointing elsewhere
    foreign = RequestHandle(Client(token="t", base_url=FOREIGN), handle.request_id, edit.MODEL_ID, None)
    for restore in (
        lambda: RequestHandle.from_dict(data),
        lambda: AsyncRequestHandle.from_dict(data),
        lambda: pickle.loads(pickle.dumps(foreign)),  # unpickling follows the same rule
        lambda: RequestHandle.from_dict(data, client=runcomfy.client.default_client()),  # a client of another URL
    ):
        with pytest.raises(ForeignHandleError) as caught:
            restore()
        assert caught.value.base_url == FOREIGN and caught.value.client_base_url == env.base_url
        assert isinstance(caught.value, ValueError) and FOREIGN in str(caught.value)
    restored = RequestHandle.from_dict(handle.to_dict())  # its own base URL: fine
    with pytest.raises(ForeignHandleError):
        restored.client = Client(token="t", base_url=FOREIGN)
    # an explicit client of that URL is the caller's choice (here nothing listens: the call fails there)
    explicit = RequestHandle.from_dict(data, client=Client(token="t", base_url=FOREIGN + "/", max_retries=0))
    assert explicit.client.base_url == FOREIGN
    # the default client was made before the environment changed: it is what a restored handle must match
    runcomfy.client.default_client()
    monkeypatch.delenv("RUNCOMFY_BASE_URL")
    again = RequestHandle.from_dict(handle.to_dict())
    assert again.status().request_id == handle.request_id
    monkeypatch.setattr(runcomfy.client, "_default", None)
    with pytest.raises(ForeignHandleError):  # now the default client would serve the public API
        RequestHandle.from_dict(handle.to_dict())
    assert all(call.path.startswith(("/v1/", "/files/")) for call in env.calls)


def test_handle_data_without_a_base_url_takes_the_configured_one_and_a_bad_request_id_is_refused(env):
    restored = RequestHandle.from_dict({"request_id": "abc-123", "model_id": edit.MODEL_ID})
    assert restored.base_url == env.base_url and restored.client is runcomfy.client.default_client()
    for bad in ("a/../../X", "x?y=1", "", "a" * 129, None, 5, "\x00"):
        with pytest.raises(InvalidIdError) as caught:
            RequestHandle.from_dict({"request_id": bad, "base_url": env.base_url})
        assert caught.value.value == bad and isinstance(caught.value, ValueError)


def test_async_request_handle_round_trips_through_json_and_pickle(env):
    async def main() -> tuple[AsyncRequestHandle[edit.Output], list[Any]]:
        async with AsyncClient(token=env.token, base_url=env.base_url) as client:
            handle = await edit.submit_async(prompt="p", image_urls=[IMAGE], client=client)
        from_json = AsyncRequestHandle.from_dict(json.loads(json.dumps(handle.to_dict())))
        from_pickle = pickle.loads(pickle.dumps(handle))
        restored_list = [from_json, from_pickle]
        for restored in restored_list:
            assert type(restored) is AsyncRequestHandle and restored == handle and restored._client is None
        results = [await restored.result(timeout=10) for restored in restored_list]
        assert from_json.client is from_pickle.client is runcomfy.async_client.default_async_client()
        await from_json.client.aclose()
        return handle, results

    handle, results = asyncio.run(main())
    assert_plain_data_without_token(handle)
    for result in results:
        assert_typed(result, handle.request_id)
    as_sync = RequestHandle.from_dict(handle.to_dict())  # same data format for both kinds
    assert as_sync.to_dict() == handle.to_dict() and as_sync != handle  # equal data, different kind
    assert submits(env) == 1


@pytest.mark.parametrize("sent", ["handle", "json", "json_async", "request_id"])
def test_a_batch_submitted_here_is_waited_for_in_spawned_processes(env, tmp_path, sent):
    with Client(token=env.token, base_url=env.base_url) as client:
        handles = [edit.submit(prompt=f"job {n}", image_urls=[IMAGE], client=client) for n in range(N)]
    ids = [handle.request_id for handle in handles]
    assert submits(env) == N
    payloads: list[Any] = {
        "handle": handles,  # the pool pickles them
        "json": [json.dumps(handle.to_dict()) for handle in handles],
        "json_async": [json.dumps(handle.to_dict()) for handle in handles],
        "request_id": ids,
    }[sent]
    for handle, payload in zip(handles, payloads, strict=True):
        assert_plain_data_without_token(handle)
        assert TOKEN.encode() not in pickle.dumps(payload)  # exactly what goes to the workers

    out = tmp_path / "out"
    out.mkdir()
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no state inherited but the environment
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        reports = list(pool.map(_workers.WORKERS[sent], payloads, repeat(str(out)), timeout=120))

    assert [report["request_id"] for report in reports] == ids  # all N came back, in order
    for report in reports:
        assert report["pid"] != os.getpid() and report["token_from_env"]
        assert report["output_type"] == OUTPUT_TYPE  # typed from the model id in the worker
        assert report["client_base_url"] == env.base_url and report["urls"]
        paths = [Path(path) for path in report["paths"]]
        assert [path.name for path in paths] == [f"{report['request_id']}_images_0.png"]
        assert all(path.parent == out and path.read_bytes().startswith(b"\x89PNG") for path in paths)

    calls = env.calls
    assert submits(env) == N and len(env.jobs) == N  # the workers submitted nothing
    polled = {call.path.split("/")[3] for call in calls if call.method == "GET" and call.path.endswith("/result")}
    assert polled == set(ids)
    assert all(call.had_auth for call in calls if call.path.startswith("/v1/"))
    assert all(call.status == 200 for call in calls)  # no 401: every worker had the token
    assert not any(call.had_auth for call in calls if call.path.startswith("/files/"))  # downloads without it
