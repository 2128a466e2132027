"""The token never shows, even when it carries whitespace: a token read from a CRLF ``.env`` file or with
``open().read()`` is stripped; one with whitespace, control or non-ASCII characters inside is refused
when the client is made, with a message that does not show it; and the text of an HTTP library's error
never carries a header value into an exception, the CLI's stderr, or a batch journal."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import runcomfy
from conftest import IMAGE
from runcomfy import errors
from runcomfy._core import RetryPolicy
from runcomfy._http import Transport
from runcomfy._polling import PollSchedule
from runcomfy.async_client import AsyncClient, AsyncTransport
from runcomfy.client import Client
from runcomfy.models.google.nano_banana_2 import edit
from runcomfy.testing import Emulator

SECRET = "sk-LEAK-789"
PADDED = [SECRET + "\r\n", SECRET + "\n", f"  {SECRET}\t", " " + SECRET]
REFUSED = [
    "sk-LE AK-789",
    "sk-LE\tAK-789",
    "sk-LE\r\nAK-789",
    "sk-LE\x00AK-789",
    "sk-LEÄK-789",
    "sk-LE\u2028AK",
    "sk-LE☃K",
]
FAST_POLL = PollSchedule(first=0.0, minimum=0.02, growth=0.1, maximum=0.1, learn=False)
FAST_RETRY = RetryPolicy(max_retries=1, backoff=0.01, max_backoff=0.02)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(max_side=64, token=SECRET) as emulator:
        yield emulator


def shown(text: str) -> bool:
    """Whether ``text`` shows the secret, or a piece of it long enough to matter."""
    return any(piece in text for piece in (SECRET, "LEAK", "LE AK", "LE\\tAK", "LE\\r\\nAK", "LE\x00AK", "AK-789"))


# --- whitespace around the token is stripped ----------------------------------------------------------


@pytest.mark.parametrize("token", PADDED)
def test_a_token_with_whitespace_around_it_works_in_the_sync_client(emu: Emulator, token: str) -> None:
    with Client(token=token, base_url=emu.base_url, poll=FAST_POLL, retry=FAST_RETRY, timeout=5) as client:
        result = edit.run(prompt="p", image_urls=[IMAGE], client=client)
        assert result.output.images
        assert client.status(result.request_id).status in ("completed", "succeeded")
        assert client.get_request(result.request_id, model=edit).result(timeout=5).request_id == result.request_id


@pytest.mark.parametrize("token", PADDED)
def test_a_token_with_whitespace_around_it_works_in_the_async_client(emu: Emulator, token: str) -> None:
    async def main() -> None:
        async with AsyncClient(token=token, base_url=emu.base_url, poll=FAST_POLL, retry=FAST_RETRY) as client:
            result = await edit.run_async(prompt="p", image_urls=[IMAGE], client=client)
            assert result.output.images
            assert (await client.status(result.request_id)).status in ("completed", "succeeded")

    asyncio.run(main())


def test_a_token_from_the_environment_is_stripped_too(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNCOMFY_API_TOKEN", SECRET + "\r\n")
    with Client(base_url=emu.base_url, poll=FAST_POLL) as client:
        assert client.run(edit.Input(prompt="p", image_urls=[IMAGE]), timeout=5).output.images
    assert asyncio.run(
        AsyncClient(base_url=emu.base_url, poll=FAST_POLL).run(edit.Input(prompt="p", image_urls=[IMAGE]))
    )


# --- a token with characters inside that a header cannot carry is refused, unshown ------------------------


@pytest.mark.parametrize("make", [Client, AsyncClient], ids=["sync", "async"])
@pytest.mark.parametrize("token", REFUSED)
def test_a_token_with_inner_whitespace_control_or_non_ascii_characters_is_refused(
    emu: Emulator, make: type[Client] | type[AsyncClient], token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(runcomfy.RunComfyError) as info:
        make(token=token, base_url=emu.base_url)
    assert "token" in str(info.value) and not shown(str(info.value)) and not shown(repr(info.value.args))
    if "\x00" in token:  # an environment variable cannot hold it
        return
    monkeypatch.setenv("RUNCOMFY_API_TOKEN", token)
    with pytest.raises(runcomfy.RunComfyError) as info:
        make(base_url=emu.base_url)
    assert not shown(str(info.value))
    assert emu.calls == []


@pytest.mark.parametrize("make", [Client, AsyncClient], ids=["sync", "async"])
@pytest.mark.parametrize("token", ["", " ", "\r\n"])
def test_a_blank_token_is_no_token(make: type[Client] | type[AsyncClient], token: str) -> None:
    with pytest.raises(runcomfy.RunComfyError, match="no API token"):
        make(token=token)


# --- what an HTTP library says about a header never reaches an error ----------------------------------------


def test_the_http_libraries_error_text_is_redacted_in_the_sync_transport(emu: Emulator) -> None:
    # A transport made directly, past the client's check: requests refuses the header and quotes it.
    bad = SECRET + "\r\n"
    transport = Transport(bad, emu.base_url, timeout=2.0, connect_timeout=2.0, retry=FAST_RETRY, sleep=lambda _: None)
    with pytest.raises(errors.APIConnectionError) as info:
        transport.call("GET", "/v1/requests/x/status", request_id="x")
    assert "InvalidHeader" in str(info.value) and "Bearer ***" in str(info.value)
    assert not shown(str(info.value)) and not shown(repr(info.value.__dict__))


def test_the_http_libraries_error_text_is_redacted_in_the_async_transport(emu: Emulator) -> None:
    bad = SECRET + "\r\n"

    async def no_sleep(_: float) -> None:
        return None

    async def main() -> None:
        transport = AsyncTransport(
            bad, emu.base_url, timeout=2.0, connect_timeout=2.0, retry=FAST_RETRY, sleep=no_sleep
        )
        try:
            await transport.call("GET", "/v1/requests/x/status", request_id="x")
        finally:
            await transport.aclose()

    with pytest.raises(errors.APIConnectionError) as info:
        asyncio.run(main())
    assert "Bearer ***" in str(info.value) and not shown(str(info.value)) and not shown(repr(info.value.__dict__))


@pytest.mark.parametrize(
    "message",
    [
        "Invalid header value: 'Bearer sk-LEAK-789\\r'",
        "Illegal header value b'Bearer sk-LEAK-789\\r\\n'",
        "header {'Authorization': 'bearer sk-LEAK-789'} refused",
        "the token sk-LEAK-789 was refused",
        "Bearer   sk-LEAK-789",
    ],
)
def test_attempts_redact_the_token_and_any_bearer_value(message: str) -> None:
    from runcomfy._core import Attempts

    attempts = Attempts(
        "GET", "/v1/x", request_id="x", deadline=None, policy=RetryPolicy(), timeout=1, connect_timeout=1
    )
    attempts.attempt = attempts.policy.max_retries  # the last attempt: the error is raised
    with pytest.raises(errors.APIConnectionError) as info:
        attempts.failed(ValueError(message), never_sent=False, secret=SECRET)
    assert not shown(str(info.value)), str(info.value)


# --- the CLI and the batch journal --------------------------------------------------------------------------


def cli(emu: Emulator, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNCOMFY_")}
    env.update(RUNCOMFY_API_TOKEN=token, RUNCOMFY_BASE_URL=emu.base_url)
    command = [sys.executable, "-m", "runcomfy.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def test_the_cli_works_with_a_crlf_token_and_never_prints_a_token(emu: Emulator) -> None:
    handle = Client(token=SECRET, base_url=emu.base_url).submit(edit.Input(prompt="p", image_urls=[IMAGE]))
    done = cli(emu, SECRET + "\r\n", "status", handle.request_id)
    assert done.returncode == 0, done.stderr
    assert not shown(done.stderr) and not shown(done.stdout)
    done = cli(emu, "sk-LE AK-789", "status", handle.request_id)
    assert done.returncode != 0 and "token" in done.stderr
    assert not shown(done.stderr) and not shown(done.stdout)


def test_a_resumed_batch_with_a_crlf_token_journals_no_token(emu: Emulator, tmp_path: Path) -> None:
    emu.processing_time = 0.5
    emu.workers = 1  # one job at a time: when the first ends, the next is still in flight (two ended together)
    journal = tmp_path / "journal.jsonl"
    given = [{"prompt": f"job {n}", "image_urls": [IMAGE]} for n in range(4)]

    def client(token: str) -> AsyncClient:
        return AsyncClient(token=token, base_url=emu.base_url, poll=FAST_POLL, retry=FAST_RETRY, timeout=2)

    first = runcomfy.map(edit, given, concurrency=2, client=client(SECRET), journal=journal)
    next(first)
    first.close()  # stopped early: jobs submitted and not waited for are resumed below
    started = time.monotonic()
    rest = list(runcomfy.map(edit, given, concurrency=2, client=client(SECRET + "\r\n"), journal=journal))
    assert time.monotonic() - started < 30
    assert rest and all(item.ok for item in rest), [item.error for item in rest]
    assert any(item.resumed for item in rest)
    assert not shown(journal.read_text())
