"""Many jobs at once: ``runcomfy.map`` / ``runcomfy.amap`` and ``runcomfy batch``, judged by the emulator's log:
every input ends as one item, at most N jobs are in flight, what is safe is retried, nothing is submitted
twice, and an interrupted batch resumes from its journal without resubmitting."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import runcomfy
from conftest import IMAGE, submits
from runcomfy import errors
from runcomfy._core import RetryPolicy
from runcomfy._polling import PollSchedule
from runcomfy.batch import BatchItem, Journal, JournalError, JournalWarning, fingerprint
from runcomfy.models.google.nano_banana_2 import edit
from runcomfy.testing import Emulator

EDIT = "google/nano-banana-2/edit"
FAST_POLL = PollSchedule(first=0.05, minimum=0.02, growth=0.1, maximum=0.2, learn=False)
NO_RETRY = RetryPolicy(max_retries=0)


@pytest.fixture
def emu():
    with Emulator(max_side=32) as emulator:
        yield emulator


def client(emu: Emulator, **options: Any) -> runcomfy.AsyncClient:
    settings: dict[str, Any] = {"poll": FAST_POLL, "retry": RetryPolicy(backoff=0.01, max_backoff=0.05), "timeout": 5}
    return runcomfy.AsyncClient(emu.token, base_url=emu.base_url, **{**settings, **options})


def inputs(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"prompt": f"job {i}", "image_urls": [IMAGE]} for i in range(start, start + n)]


def jobs_per_prompt(emu: Emulator) -> collections.Counter[str]:
    return collections.Counter(job.input["prompt"] for job in emu.jobs.values())


def test_every_input_ends_once_with_at_most_n_in_flight(emu):
    emu.processing_time = 0.3
    given = [*inputs(24), {"prompt": 5}]  # the last one is invalid: an item with a ValidationError, no call
    items = list(runcomfy.map(edit, given, concurrency=5, client=client(emu)))
    assert sorted(item.index for item in items) == list(range(25))
    assert all(isinstance(item, BatchItem) for item in items)
    ok = [item for item in items if item.ok]
    assert len(ok) == 24 and all(isinstance(item.result.output, edit.Output) for item in ok)
    bad = next(item for item in items if not item.ok)
    assert bad.index == 24 and isinstance(bad.error, errors.ValidationError) and bad.request_id is None
    assert submits(emu) == 24 and set(jobs_per_prompt(emu).values()) == {1}
    # in flight: from a job's submit to the poll that saw it end, per the emulator's clock
    spans = collections.defaultdict(list)
    for call in emu.calls:
        spans[call.request_id].append(call.at)
    events = sorted([(min(t), 1) for t in spans.values()] + [(max(t), -1) for t in spans.values()])
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    assert 2 <= peak <= 5


def test_failed_jobs_and_saving_files(emu, tmp_path):
    emu.fail_next(2)
    items = list(runcomfy.map(edit, inputs(6), concurrency=1, client=client(emu), save_to=tmp_path))
    failed = [item for item in items if not item.ok]
    assert len(failed) == 2 and all(isinstance(item.error, errors.JobFailedError) for item in failed)
    assert all(item.request_id for item in failed)
    saved = [path for item in items for path in item.files]
    assert len(saved) == 4 and all(path.exists() and path.parent == tmp_path for path in saved)
    assert all(path.read_bytes().startswith(b"\x89PNG") and path.stat().st_mode & 0o777 == 0o644 for path in saved)
    downloads = [call for call in emu.calls if call.path.startswith("/files/")]
    assert len(downloads) == 4 and not any(call.had_auth for call in downloads)  # never with the token
    assert not list(tmp_path.glob(".*.part"))


def test_a_refused_submit_is_tried_again_by_the_batch(emu):
    emu.inject("429", times=3, path_prefix="/v1/models/", retry_after=0)
    items = list(runcomfy.map(edit, inputs(2), concurrency=1, client=client(emu, retry=NO_RETRY)))
    assert all(item.ok for item in items)
    assert jobs_per_prompt(emu) == {"job 0": 1, "job 1": 1}


def test_a_wait_that_failed_on_the_network_is_resumed_not_resubmitted(emu):
    emu.processing_time = 0.2
    emu.inject("500", times=2, path_prefix="/v1/requests/")
    emu.inject("drop", times=1, path_prefix="/v1/requests/")
    items = list(runcomfy.map(edit, inputs(1), concurrency=1, client=client(emu, retry=NO_RETRY)))
    assert items[0].ok, items[0].error
    assert submits(emu) == 1


def test_an_uncertain_submit_is_reported_not_repeated(emu):
    emu.inject("drop", times=1, path_prefix="/v1/models/")  # handled, then the answer is lost
    items = sorted(runcomfy.map(edit, inputs(3), concurrency=1, client=client(emu)), key=lambda i: i.index)
    assert isinstance(items[0].error, errors.SubmitUncertainError) and items[1].ok and items[2].ok
    assert jobs_per_prompt(emu) == {"job 0": 1, "job 1": 1, "job 2": 1}  # job 0 exists: not submitted again


def test_interrupted_batch_resumes_from_its_journal_without_resubmitting(emu, tmp_path):
    emu.processing_time = 0.3
    emu.workers = 1  # one job at a time: when the first ends, the others are still queued (in flight)
    journal = tmp_path / "journal.jsonl"
    given = inputs(12)
    first = runcomfy.map(edit, given, concurrency=4, client=client(emu), journal=journal)
    done_first = [next(first)]
    first.close()  # stop early: 3 jobs submitted and not waited for, 8 inputs never submitted
    recorded = Journal(journal)
    in_flight = len(recorded.submitted) - len(recorded.ended)
    assert len(recorded.submitted) >= 4 and in_flight >= 1
    ended = set(recorded.ended)
    recorded.close()
    rest = list(runcomfy.map(edit, given, concurrency=4, client=client(emu), journal=journal))
    assert sorted(item.index for item in rest) == sorted(set(range(12)) - ended)
    assert {item.index for item in done_first} <= ended
    assert all(item.ok for item in rest)
    assert sum(item.resumed for item in rest) == in_flight
    assert set(jobs_per_prompt(emu).values()) == {1} and submits(emu) == 12
    assert list(runcomfy.map(edit, given, concurrency=4, client=client(emu), journal=journal)) == []
    assert submits(emu) == 12
    assert emu.token not in journal.read_text()


def test_a_journal_of_other_inputs_is_refused(emu, tmp_path):
    journal = tmp_path / "journal.jsonl"
    list(runcomfy.map(edit, inputs(2), client=client(emu), journal=journal))
    with pytest.raises(ValueError, match="differs from the one recorded"):
        list(runcomfy.map(edit, inputs(2, start=5), client=client(emu), journal=journal))
    assert submits(emu) == 2


def test_retry_errors_runs_the_failed_inputs_again(emu, tmp_path):
    journal = tmp_path / "journal.jsonl"
    emu.fail_next(1)
    first = list(runcomfy.map(edit, inputs(3), concurrency=1, client=client(emu), journal=journal))
    assert sum(not item.ok for item in first) == 1
    again = list(runcomfy.map(edit, inputs(3), client=client(emu), journal=journal, retry_errors=True))
    assert len(again) == 1 and again[0].ok and again[0].index == next(i.index for i in first if not i.ok)


def test_a_sync_client_is_accepted_and_the_module_can_be_named(emu):
    sync = runcomfy.Client(emu.token, base_url=emu.base_url, poll=FAST_POLL)
    items = list(runcomfy.map("google/nano-banana-2/edit", inputs(3), client=sync))
    assert all(item.ok for item in items) and submits(emu) == 3


def test_amap_many_jobs_with_faults_loses_and_duplicates_nothing():
    with Emulator(max_side=16, processing_time=0.2) as emu:
        emu.chaos(0.15, seed=3)

        async def main() -> list[BatchItem[Any]]:
            api = client(emu, timeout=2)
            return [item async for item in runcomfy.amap(edit, inputs(120), concurrency=40, client=api, timeout=30)]

        items = asyncio.run(main())
        per_prompt = jobs_per_prompt(emu)
    assert sorted(item.index for item in items) == list(range(120))  # every input ended, once
    assert all(item.ok or isinstance(item.error, errors.RunComfyError) for item in items)
    assert max(per_prompt.values()) == 1  # never two jobs for one input
    for item in items:  # an input without a job is an error, and its error says the submit did not go through
        if per_prompt[item.input["prompt"]] == 0:
            assert not item.ok
    assert sum(item.ok for item in items) >= 100


# --- the command -----------------------------------------------------------------------------------


def cli(emu: Emulator, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "RUNCOMFY_API_TOKEN": emu.token, "RUNCOMFY_BASE_URL": emu.base_url}
    command = [sys.executable, "-m", "runcomfy.cli", "batch", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_batch_command_interrupt_and_resume(emu, tmp_path):
    emu.processing_time = 1.0
    source = tmp_path / "inputs.jsonl"
    source.write_text("\n".join(json.dumps(data) for data in inputs(10)) + "\n\n")
    out = tmp_path / "out"
    first = cli(emu, "google/nano-banana-2/edit", str(source), "--out", str(out), "-j", "4")
    deadline = time.monotonic() + 20
    while submits(emu) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=20)
    assert first.returncode == 130, err
    assert "run the same command again to resume" in err
    second = cli(emu, "google/nano-banana-2/edit", str(source), "--out", str(out), "-j", "4", "--json")
    out_text, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    lines = [json.loads(line) for line in out_text.splitlines()]
    assert all(line["ok"] for line in lines)
    assert set(jobs_per_prompt(emu).values()) == {1} and submits(emu) == 10
    assert len(list(out.glob("*.png"))) == 10
    assert "10/10 done" in err


def test_batch_command_reports_bad_lines_before_any_call(emu, tmp_path):
    source = tmp_path / "inputs.jsonl"
    source.write_text(json.dumps(inputs(1)[0]) + "\n[1, 2]\n")
    process = cli(emu, "google/nano-banana-2/edit", str(source), "--out", str(tmp_path / "out"))
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2 and "inputs.jsonl:2: expected a JSON object" in err
    assert not emu.calls


def test_batch_command_exit_code_when_an_input_fails(emu, tmp_path):
    source = tmp_path / "inputs.jsonl"
    source.write_text("\n".join(json.dumps(data) for data in [*inputs(2), {"prompt": 1}]))
    process = cli(emu, "google/nano-banana-2/edit", str(source), "--out", str(tmp_path / "out"), "--quiet")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 4 and "input 3: ValidationError" not in err  # --quiet
    assert Path(tmp_path / "out" / "journal.jsonl").exists()


def test_a_jobs_deadline_bounds_its_submit_too(emu):
    emu.inject("429", times=10, path_prefix="/v1/models/", retry_after=2)  # every try refused, each for 2 s
    started = time.monotonic()
    (item,) = list(runcomfy.map(edit, inputs(1), client=client(emu), timeout=1.0))
    assert time.monotonic() - started < 2.0
    assert isinstance(item.error, errors.RateLimitError) and not emu.jobs  # no job started past its deadline


def test_a_resubmitted_input_interrupted_again_is_resumed_not_submitted_a_third_time(emu, tmp_path):
    journal = tmp_path / "journal.jsonl"
    emu.fail_next(1)
    (failed,) = list(runcomfy.map(edit, inputs(1), client=client(emu), journal=journal))
    assert isinstance(failed.error, errors.JobFailedError)
    # a retry_errors run submitted the input again and was killed while waiting: the journal then ends
    # with that submit, after the failure
    retry = runcomfy.Client(emu.token, base_url=emu.base_url).submit(edit.Input.from_dict(inputs(1)[0]))
    log = Journal(journal)
    log.write({"index": 0, "input": fingerprint(inputs(1)[0]), "request_id": retry.request_id}, sync=True)
    log.close()
    for retry_errors in (True, False):  # either way: the running retry is waited for, not submitted again
        (resumed,) = list(runcomfy.map(edit, inputs(1), client=client(emu), journal=journal, retry_errors=retry_errors))
        assert resumed.ok and resumed.resumed and resumed.request_id == retry.request_id
        assert jobs_per_prompt(emu) == {"job 0": 2}  # the failed job and its retry: never a third
        journal.write_text(journal.read_text().rsplit("\n", 2)[0] + "\n")  # forget that outcome for the next round


def test_a_journal_of_another_model_is_refused(emu, tmp_path):
    journal = tmp_path / "journal.jsonl"
    list(runcomfy.map(edit, inputs(1), client=client(emu), journal=journal))
    with pytest.raises(ValueError, match="records jobs of google/nano-banana-2/edit"):
        list(runcomfy.map("google/nano-banana-2-lite/edit", inputs(1), client=client(emu), journal=journal))


# --- the journal: intents, group commits, damage ---------------------------------------------------


class FsyncSpy(list[tuple[float, list[str]]]):
    """Each ``os.fsync`` while the test runs: (when, the synced file's lines then)."""

    first_delay = 0.0
    """Seconds the first ``fsync`` sleeps before syncing."""


@pytest.fixture
def fsyncs(monkeypatch):
    spy = FsyncSpy()
    real = os.fsync

    def fsync(descriptor: int) -> None:
        if not spy and spy.first_delay:
            time.sleep(spy.first_delay)
        spy.append((time.monotonic(), Path(f"/proc/self/fd/{descriptor}").read_text().splitlines()))
        real(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    return spy


def records(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if line.strip()]


def test_the_intent_of_a_submit_is_on_disk_before_the_request_is_sent(emu, tmp_path, fsyncs):
    journal = tmp_path / "journal.jsonl"
    emu.inject("hang", method="POST", path_prefix="/v1/models/")
    (item,) = list(runcomfy.map(edit, inputs(1), client=client(emu, timeout=0.5), journal=journal))
    assert isinstance(item.error, errors.SubmitUncertainError)  # the submit hung: the job may exist
    (submit,) = [call for call in emu.calls if call.method == "POST"]
    synced_before = [lines for at, lines in fsyncs if at < submit.at]
    assert synced_before and {
        "index": 0,
        "input": fingerprint(inputs(1)[0]),
        "model_id": edit.MODEL_ID,
        "intent": True,
    } in records(synced_before[0])
    log = Journal(journal)
    log.close()
    assert log.ended[0][1] == "uncertain" and not log.intended


def test_the_intents_written_on_one_turn_of_the_loop_share_one_fsync(emu, tmp_path, fsyncs):
    journal = tmp_path / "journal.jsonl"
    items = list(runcomfy.map(edit, inputs(30), concurrency=30, client=client(emu), journal=journal))
    assert all(item.ok for item in items)
    first = records(fsyncs[0][1])
    assert len(first) == 30 and all(record.get("intent") for record in first)  # every intent, nothing else
    assert len(fsyncs) <= 31  # one for the intents, at most one per request id (fewer when answers come together)


def test_stopping_before_the_intents_are_on_disk_withdraws_them(emu, tmp_path, fsyncs):
    journal = tmp_path / "journal.jsonl"
    fsyncs.first_delay = 0.5

    async def stop_early() -> None:
        async def run() -> None:
            async for _ in runcomfy.amap(edit, inputs(5), concurrency=5, client=client(emu), journal=journal):
                pass

        task = asyncio.ensure_future(run())
        await asyncio.sleep(0.1)  # the intents are written, their fsync under way
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(stop_early())
    assert submits(emu) == 0  # nothing was sent
    log = Journal(journal)
    log.close()
    assert not log.intended and not log.submitted and len(records(journal.read_text().splitlines())) == 10
    items = list(runcomfy.map(edit, inputs(5), client=client(emu), journal=journal))
    assert all(item.ok and not item.resumed for item in items) and submits(emu) == 5


def test_a_submit_cut_short_before_its_request_id_is_uncertain_on_resume(emu, tmp_path):
    journal = tmp_path / "journal.jsonl"
    log = Journal(journal)  # a run killed after the intent, before the request id reached the journal
    log.write({"index": 0, "input": fingerprint(inputs(1)[0]), "model_id": edit.MODEL_ID, "intent": True}, sync=True)
    log.close()
    item, other = sorted(runcomfy.map(edit, inputs(2), client=client(emu), journal=journal), key=lambda i: i.index)
    assert isinstance(item.error, errors.SubmitUncertainError) and other.ok, item
    assert item.resumed and item.request_id is None and "retry_uncertain" in str(item.error)
    assert jobs_per_prompt(emu) == {"job 1": 1}  # input 0 was not submitted again
    assert list(runcomfy.map(edit, inputs(2), client=client(emu), journal=journal, retry_errors=True)) == []
    (again,) = list(runcomfy.map(edit, inputs(2), client=client(emu), journal=journal, retry_uncertain=True))
    assert again.index == 0 and again.ok and jobs_per_prompt(emu) == {"job 0": 1, "job 1": 1}


def test_a_torn_last_journal_line_is_dropped_with_a_warning(emu, tmp_path):
    journal = tmp_path / "journal.jsonl"
    list(runcomfy.map(edit, inputs(2), client=client(emu), journal=journal))
    whole = journal.read_bytes()
    journal.write_bytes(whole + b'{"index": 2, "input": "0f3')  # a write cut short by a crash
    torn = len(whole.splitlines()) + 1
    with pytest.warns(JournalWarning, match=rf"journal.jsonl:{torn}: dropped a last line cut short"):
        items = list(runcomfy.map(edit, inputs(3), client=client(emu), journal=journal))
    assert [item.index for item in items] == [2] and items[0].ok
    assert journal.read_bytes().startswith(whole) and b'"0f3' not in journal.read_bytes()  # cut back first
    assert list(runcomfy.map(edit, inputs(3), client=client(emu), journal=journal)) == []  # and resumable again
    assert submits(emu) == 3


def test_a_damaged_journal_line_is_a_journal_error_naming_it(emu, tmp_path):
    journal = tmp_path / "journal.jsonl"
    list(runcomfy.map(edit, inputs(2), client=client(emu), journal=journal))
    lines = journal.read_text().splitlines(keepends=True)
    journal.write_text("".join([lines[0], '{"index": 1, "inp\n', *lines[2:]]))
    with pytest.raises(JournalError, match=r"journal.jsonl:2: not a journal record"):
        list(runcomfy.map(edit, inputs(2), client=client(emu), journal=journal))
    assert submits(emu) == 2


def test_batch_command_repairs_a_torn_journal_and_refuses_a_damaged_one(emu, tmp_path):
    source, out = tmp_path / "inputs.jsonl", tmp_path / "out"
    source.write_text("\n".join(json.dumps(data) for data in inputs(2)))
    assert cli(emu, EDIT, str(source), "--out", str(out), "--quiet").wait(timeout=60) == 0
    journal = out / "journal.jsonl"
    journal.write_bytes(journal.read_bytes() + b'{"index": 1, "status": "succ')
    source.write_text("\n".join(json.dumps(data) for data in inputs(3)))
    process = cli(emu, EDIT, str(source), "--out", str(out), "--quiet")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "runcomfy: warning: " in err and "dropped a last line cut short" in err
    assert submits(emu) == 3
    lines = journal.read_text().splitlines(keepends=True)
    journal.write_text("".join([*lines[:2], "not json\n", *lines[3:]]))
    process = cli(emu, EDIT, str(source), "--out", str(out))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2 and "journal.jsonl:3: not a journal record" in err, err
    assert "Traceback" not in err and submits(emu) == 3


def test_batch_command_reports_a_cut_short_submit_and_retries_it_only_when_asked(emu, tmp_path):
    source, out = tmp_path / "inputs.jsonl", tmp_path / "out"
    source.write_text("\n".join(json.dumps(data) for data in inputs(2)))
    log = Journal(out / "journal.jsonl")  # a run killed after input 0's intent, before its request id
    log.write({"index": 0, "input": fingerprint(inputs(1)[0]), "model_id": edit.MODEL_ID, "intent": True}, sync=True)
    log.close()
    process = cli(emu, EDIT, str(source), "--out", str(out), "--json")
    lines, err = process.communicate(timeout=60)
    assert process.returncode == 4, err
    assert "1 submit(s) cut short before their request id was recorded: reported as uncertain" in err
    assert "1 uncertain" in err and jobs_per_prompt(emu) == {"job 1": 1}
    (reported,) = [json.loads(line) for line in lines.splitlines() if json.loads(line)["index"] == 0]
    assert reported["error"] == "SubmitUncertainError" and reported["request_id"] is None
    process = cli(emu, EDIT, str(source), "--out", str(out), "--retry-errors")
    assert process.wait(timeout=60) == 4 and jobs_per_prompt(emu) == {"job 1": 1}  # not an error to retry
    process = cli(emu, EDIT, str(source), "--out", str(out), "--retry-uncertain")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert jobs_per_prompt(emu) == {"job 0": 1, "job 1": 1}
