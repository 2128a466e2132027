"""The pytest plugin, found through its ``pytest11`` entry point: a user's test file with no set-up code
uses the fixtures ``runcomfy_emulator``, ``runcomfy_client`` and ``runcomfy_async_client``."""

from __future__ import annotations

import os
import subprocess
import sys

pytest_plugins = ["pytester"]

USER_TESTS = """
import asyncio
import os

import pytest
import runcomfy
from runcomfy.models.google.nano_banana_2 import edit

IMAGE = "https://example.com/cat.png"


def test_run_through_the_client(runcomfy_client, runcomfy_emulator):
    result = edit.run(prompt="a cat", image_urls=[IMAGE], num_images=2, client=runcomfy_client)
    assert len(result.output.images) == 2
    assert [call.path for call in runcomfy_emulator.calls][0] == "/v1/models/google/nano-banana-2/edit"


def test_code_without_a_client_uses_the_emulator(runcomfy_client, runcomfy_emulator):
    assert os.environ["RUNCOMFY_BASE_URL"] == runcomfy_emulator.base_url
    edit.run(prompt="a cat", image_urls=[IMAGE])  # the default client: this test's
    assert len(runcomfy_emulator.jobs) == 1


def test_faults_reach_the_code(runcomfy_client, runcomfy_emulator):
    runcomfy_emulator.fail_next()
    with pytest.raises(runcomfy.JobFailedError):
        edit.run(prompt="a cat", image_urls=[IMAGE], client=runcomfy_client)


@pytest.mark.runcomfy_emulator(queue_time=3600)
def test_marker_options(runcomfy_client, runcomfy_emulator):
    handle = edit.submit(prompt="a cat", image_urls=[IMAGE], client=runcomfy_client)
    assert runcomfy_client.status(handle.request_id).status == "in_queue"


def test_async_client(runcomfy_async_client):
    async def main():
        result = await edit.run_async(prompt="a cat", image_urls=[IMAGE], client=runcomfy_async_client)
        return result.output.images

    assert len(asyncio.run(main())) == 1


def test_nothing_leaks_between_tests():
    assert "RUNCOMFY_BASE_URL" not in os.environ
    from runcomfy import client

    assert client._default is None
"""


def test_fixtures_work_by_entry_point(pytester, monkeypatch):
    monkeypatch.delenv("RUNCOMFY_BASE_URL", raising=False)
    monkeypatch.delenv("RUNCOMFY_API_TOKEN", raising=False)
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)


def test_import_runcomfy_needs_no_pytest():
    code = "import sys; import runcomfy, runcomfy.testing; print('pytest' in sys.modules, 'PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert out.stdout.split() == ["False", "False"]
