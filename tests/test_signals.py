"""Stopping from outside: SIGTERM (``docker stop``, systemd, CI cancellation, ``timeout``) and ``kill -9``
while submits are in flight, judged by the emulator's own log.

The floods: ``runcomfy batch`` with 100 inputs at concurrency 100, killed while submits are in flight
(the emulator answers some at once and holds the others for 1.5 s), then run again to resume; three rounds
each, killed after 10, 50 and 90 answers. Whatever the moment: no input gets two jobs, and every input
ends as a result or as uncertain (a submit cut short before its request id was recorded: it may have a
job, so it is reported, never submitted again). SIGTERM is handled like Ctrl-C: the submits under way
finish and are recorded, so nothing is even uncertain, and the exit code is 143.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import runcomfy
from conftest import IMAGE
from runcomfy._polling import PollSchedule
from runcomfy.batch import Journal
from runcomfy.models.google.nano_banana_2 import edit
from runcomfy.testing import Emulator

EDIT = "google/nano-banana-2/edit"
INPUTS = 100
HELD = 1.5  # seconds the emulator holds the submits that are not answered at once


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(max_side=16, processing_time=0.3) as emulator:
        yield emulator


def env_for(emu: Emulator) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNCOMFY_")}
    return {**env, "RUNCOMFY_API_TOKEN": emu.token, "RUNCOMFY_BASE_URL": emu.base_url}


def fast_client(emu: Emulator) -> runcomfy.AsyncClient:
    return runcomfy.AsyncClient(emu.token, base_url=emu.base_url, poll=PollSchedule(first=0.05, learn=False))


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.005)


def write_inputs(path: Path, tag: str) -> list[str]:
    prompts = [f"{tag} #{n}" for n in range(INPUTS)]
    path.write_text("".join(json.dumps({"prompt": p, "image_urls": [IMAGE]}) + "\n" for p in prompts))
    return prompts


def start_batch(emu: Emulator, source: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "runcomfy.cli", "batch", EDIT, str(source), "--out", str(out)]
    command += ["--concurrency", str(INPUTS), "--quiet", *extra]
    return subprocess.Popen(command, env=env_for(emu), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def jobs_of(emu: Emulator, prompts: list[str]) -> dict[str, list[str]]:
    """prompt → the request ids of the jobs the emulator made for it."""
    wanted = set(prompts)
    jobs: dict[str, list[str]] = collections.defaultdict(list)
    for job in emu.jobs.values():
        if job.input.get("prompt") in wanted:
            jobs[job.input["prompt"]].append(job.request_id)
    return jobs


def hold_submits(emu: Emulator, answered: int) -> tuple[Any, Any]:
    """The next ``answered`` submits are answered at once, the rest of the batch's held for HELD seconds."""
    at_once = emu.inject("slow", times=answered, method="POST", path_prefix="/v1/models/", delay=0.0)
    held = emu.inject("slow", times=INPUTS - answered, method="POST", path_prefix="/v1/models/", delay=HELD)
    return at_once, held


def flood_round(emu: Emulator, tmp_path: Path, how: signal.Signals, round_: int) -> dict[str, int]:
    """One kill-and-resume round; returns how the inputs ended (from the journal), judged against the
    emulator's jobs."""
    answered = (10, 50, 90)[round_]
    source, out = tmp_path / f"inputs{round_}.jsonl", tmp_path / f"out{round_}"
    prompts = write_inputs(source, f"{how.name} round {round_}")
    emu.reset_calls()
    at_once, held = hold_submits(emu, answered)
    first = start_batch(emu, source, out)
    wait_until(
        lambda: sum(map(len, jobs_of(emu, prompts).values())) >= answered and held.times < INPUTS - answered,
        "submits in flight",
    )
    arrived = (answered - at_once.times) + (INPUTS - answered - held.times)
    in_flight = arrived - sum(1 for c in emu.calls if c.fault == "slow")  # arrived, not answered yet
    first.send_signal(how)
    assert in_flight > 0
    _, err = first.communicate(timeout=30)
    if how == signal.SIGTERM:
        assert first.returncode == 143, err
        assert "run the same command again to resume" in err
    else:
        assert first.returncode == -signal.SIGKILL, err
    arrived = (answered - at_once.times) + (INPUTS - answered - held.times)
    emu.clear_faults()
    resume = start_batch(emu, source, out, "--json")
    lines, err = resume.communicate(timeout=60)
    # the submits the killed run had sent are all handled by now (the emulator holds none any longer)
    wait_until(lambda: sum(1 for c in emu.calls if c.fault == "slow") == arrived, "the held submits to end")

    jobs = jobs_of(emu, prompts)
    assert max(map(len, jobs.values())) == 1, {p: len(ids) for p, ids in jobs.items() if len(ids) > 1}  # no duplicate
    journal = Journal(out / "journal.jsonl")
    journal.close()
    ends = collections.Counter(status for _, status in journal.ended.values())
    assert sorted(journal.ended) == list(range(INPUTS)), "an input was lost"
    assert set(ends) <= {"succeeded", "uncertain"}, ends
    for index, (_, status) in journal.ended.items():
        if status == "succeeded":
            assert jobs[prompts[index]] == [journal.submitted[index][1]]
    assert resume.returncode == (1 if ends["uncertain"] else 0), err
    reported = [json.loads(line) for line in lines.splitlines()]
    uncertain = [line for line in reported if line.get("error") == "SubmitUncertainError"]
    assert len(uncertain) == ends["uncertain"] and all(line["request_id"] is None for line in uncertain)
    return dict(ends)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "kill -9"])
def test_batch_killed_during_submits_resumes_without_a_duplicate(
    emu: Emulator, tmp_path: Path, how: signal.Signals
) -> None:
    for round_ in range(3):
        ends = flood_round(emu, tmp_path, how, round_)
        print(f"{how.name} round {round_}: {ends}")  # shown with pytest -s
        if how == signal.SIGTERM:  # handled: the submits under way finished and were recorded
            assert ends == {"succeeded": INPUTS}, (round_, ends)


def test_sigterm_cancels_a_queued_job_of_runcomfy_run() -> None:
    with Emulator(queue_time=60.0, max_side=16) as queued:
        args = [sys.executable, "-m", "runcomfy.cli", "run", EDIT, "--prompt", "hi", "--image-urls", IMAGE]
        process = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env_for(queued))
        assert process.stderr is not None
        first = process.stderr.readline()
        assert first.startswith("runcomfy: submitted ")
        process.stderr.readline()  # the first progress line: it is waiting
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=20)
        assert process.returncode == 143, rest
        request_id = first.split()[-1]
        assert f"interrupted; job {request_id} was cancelled" in rest
        assert queued.jobs[request_id].cancelled


MAP_SCRIPT = """
import sys
import runcomfy
from runcomfy.models.google.nano_banana_2 import edit

inputs = [{"prompt": f"map sigterm #{n}", "image_urls": [sys.argv[2]]} for n in range(int(sys.argv[3]))]
for item in runcomfy.map(edit, inputs, concurrency=len(inputs), journal=sys.argv[1]):
    pass
print("not reached")
"""


def test_sigterm_stops_runcomfy_map_like_ctrl_c(emu: Emulator, tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    _, held = hold_submits(emu, 20)
    args = [sys.executable, "-c", MAP_SCRIPT, str(journal), IMAGE, str(INPUTS)]
    process = subprocess.Popen(args, env=env_for(emu), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: len(emu.jobs) >= 20 and held.times < INPUTS - 20, "submits in flight")
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 143 and "not reached" not in out, err
    assert "Traceback" not in err, err
    recorded = Journal(journal)
    recorded.close()
    assert not recorded.intended  # every submit under way finished and has its request id on disk
    assert len(recorded.submitted) == len(emu.jobs) <= INPUTS
    emu.clear_faults()
    inputs = [{"prompt": f"map sigterm #{n}", "image_urls": [IMAGE]} for n in range(INPUTS)]
    items = list(runcomfy.map(edit, inputs, concurrency=INPUTS, client=fast_client(emu), journal=journal))
    assert all(item.ok for item in items) and len(items) == INPUTS
    assert len(emu.jobs) == INPUTS  # none submitted twice


def test_map_installs_its_sigterm_handler_only_on_the_main_thread(emu: Emulator) -> None:
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        pytest.skip("the test runner set a SIGTERM handler of its own")
    inputs = [{"prompt": f"handler #{n}", "image_urls": [IMAGE]} for n in range(2)]
    seen: list[object] = []
    for _ in runcomfy.map(edit, inputs, client=fast_client(emu)):
        seen.append(signal.getsignal(signal.SIGTERM))
    assert all(callable(handler) for handler in seen) and len(seen) == 2  # ours, while iterating
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored

    def on_a_thread() -> None:
        for _ in runcomfy.map(edit, inputs, client=fast_client(emu)):
            seen.append(signal.getsignal(signal.SIGTERM))

    seen.clear()
    thread = threading.Thread(target=on_a_thread)
    thread.start()
    thread.join(timeout=30)
    assert seen == [signal.SIG_DFL, signal.SIG_DFL]
