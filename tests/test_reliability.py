"""The reliability suite: the sync and async clients against the emulator's faults, each scenario judged
from the emulator's own log (``emu.calls``, ``emu.jobs``):

- every input ends as a ``Result`` or a typed ``runcomfy`` error, never a bare exception, never missing;
- no job is created twice for one input (each input has a unique prompt; ``job.input`` holds it), and a
  submit the client reported as uncertain is checked against what the emulator really did;
- no call outlives its deadline by more than 1 s, even against a server that never answers;
- the token never appears in logs, errors or reprs;
- ``Retry-After`` is honoured (no retry storm).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import socket
import time
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
import runcomfy
from conftest import IMAGE
from runcomfy import errors
from runcomfy._core import RetryPolicy
from runcomfy._polling import PollSchedule
from runcomfy.async_client import AsyncClient
from runcomfy.client import Client, Result
from runcomfy.models.google.nano_banana_2 import edit
from runcomfy.testing import FAULTS, Emulator, Job

SECRET = "sk-SECRET-123"  # the emulator's token in every scenario: it must never show
FAST_POLL = PollSchedule(first=0.0, minimum=0.02, growth=0.1, maximum=0.1, learn=False)
FAST_RETRY = RetryPolicy(max_retries=3, backoff=0.01, max_backoff=0.05)
MODES = ("sync", "async")
SLACK = 1.0  # how long past its deadline a call may end

_prompts = itertools.count()


def new_prompt(tag: str) -> str:
    """A prompt no other input of this test run uses: how an input is found among the emulator's jobs."""
    return f"{tag} #{next(_prompts)}"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(max_side=64, processing_time=0.1, token=SECRET) as emulator:
        yield emulator


@pytest.fixture
def silent_server() -> Iterator[str]:
    """The base URL of a TCP listener that never accepts nor answers (the kernel completes the
    handshakes up to the backlog, so connecting and sending succeed; no answer ever comes)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture
def runcomfy_logger() -> Iterator[None]:
    """Keep the ``runcomfy`` logger as it was: ``RUNCOMFY_LOG=debug`` makes a client attach a handler."""
    logger = logging.getLogger("runcomfy")
    handlers, level = list(logger.handlers), logger.level
    yield
    for handler in logger.handlers:
        if handler not in handlers:
            logger.removeHandler(handler)
    logger.setLevel(level)


def client_options(**options: Any) -> dict[str, Any]:
    return {"poll": FAST_POLL, "retry": FAST_RETRY, "timeout": 2.0, **options}


def run_inputs(
    mode: str, base_url: str, prompts: list[str], *, wait: float, token: str = SECRET, **options: Any
) -> list[tuple[object, float]]:
    """``run(..., timeout=wait)`` each prompt (concurrently for async, one after the other for sync) with a
    fresh client made with ``options`` (``timeout=`` is the client's, per HTTP call): ``(Result or the
    exception raised, seconds taken)`` per prompt, in order."""
    settings = client_options(**options)
    inputs = [edit.Input(prompt=prompt, image_urls=[IMAGE]) for prompt in prompts]
    if mode == "sync":
        outcomes = []
        with Client(token=token, base_url=base_url, **settings) as client:
            for value in inputs:
                started = time.monotonic()
                try:
                    outcome: object = client.run(value, timeout=wait)
                except Exception as exc:  # judged by the caller: a bare exception fails the test there
                    outcome = exc
                outcomes.append((outcome, time.monotonic() - started))
        return outcomes

    async def one(client: AsyncClient, value: edit.Input) -> tuple[object, float]:
        started = time.monotonic()
        try:
            outcome: object = await client.run(value, timeout=wait)
        except Exception as exc:
            outcome = exc
        return outcome, time.monotonic() - started

    async def main() -> list[tuple[object, float]]:
        async with AsyncClient(token=token, base_url=base_url, **settings) as client:
            return list(await asyncio.gather(*(one(client, value) for value in inputs)))

    return asyncio.run(main())


def run_one(mode: str, base_url: str, prompt: str, *, wait: float, **options: Any) -> tuple[object, float]:
    (outcome,) = run_inputs(mode, base_url, [prompt], wait=wait, **options)
    return outcome


def call_one(mode: str, base_url: str, action: str, request_id: str, **options: Any) -> tuple[object, float]:
    """``status()`` or ``cancel()`` of ``request_id``, no deadline but the client's ``timeout``."""
    settings = client_options(**options)
    started = time.monotonic()
    try:
        if mode == "sync":
            with Client(token=SECRET, base_url=base_url, **settings) as client:
                outcome: object = getattr(client, action)(request_id)
        else:

            async def main() -> object:
                async with AsyncClient(token=SECRET, base_url=base_url, **settings) as client:
                    return await getattr(client, action)(request_id)

            outcome = asyncio.run(main())
    except Exception as exc:
        outcome = exc
    return outcome, time.monotonic() - started


def jobs_of(emu: Emulator, prompt: str) -> list[Job]:
    return [job for job in emu.jobs.values() if job.input.get("prompt") == prompt]


def judge(emu: Emulator, prompt: str, outcome: object) -> str:
    """Check one input's end against the emulator's log; returns how it ended:

    "result", "job error" (an error about the job the client submitted), "refused" (the submit failed
    and the client said so: no job may exist), "uncertain, created" / "uncertain, not created" (the
    client said the submit may have arrived; the emulator says whether it did).
    """
    jobs = jobs_of(emu, prompt)
    seen = f"{prompt!r}: {len(jobs)} job(s) {[job.request_id for job in jobs]}, outcome {outcome!r}"
    assert isinstance(outcome, (Result, runcomfy.RunComfyError)), f"not a Result nor a typed error: {seen}"
    assert len(jobs) <= 1, f"submitted twice: {seen}"
    if isinstance(outcome, Result):
        assert jobs and jobs[0].request_id == outcome.request_id and jobs[0].status == "succeeded", seen
        assert outcome.output.images, seen
        return "result"
    if isinstance(outcome, errors.SubmitUncertainError):
        assert outcome.request_id is None, seen
        if not jobs:
            return "uncertain, not created"
        (submit,) = [c for c in emu.calls if c.request_id == jobs[0].request_id and c.method == "POST"][:1]
        # the answer never came (or never finished coming)
        assert submit.status is None or submit.fault == "trickle", f"the client missed an answer: {seen}, {submit}"
        return "uncertain, created"
    request_id = getattr(outcome, "request_id", None)
    if request_id is None:
        assert not jobs, f"the client said the submit failed, but the job exists: {seen}"
        return "refused"
    assert jobs and jobs[0].request_id == request_id, seen
    return "job error"


# --- every fault, one input each --------------------------------------------------------------------

# What each fault on the submit must end as: retried (429, 503, a slow answer) to a result; refused by
# the server (200 + error body: no job); uncertain (the submit may have arrived: a broken or unfinished
# answer, a 5xx other than 503, a 200 that is not JSON: not retried); or the job's own end (stuck: the
# deadline, failed).
ON_SUBMIT: dict[str, tuple[type[Exception] | type[Result[Any]], str]] = {
    "429": (Result, "result"),
    "500": (errors.SubmitUncertainError, "uncertain, not created"),  # a 5xx may come after the job was made
    "502": (errors.SubmitUncertainError, "uncertain, not created"),
    "503": (Result, "result"),  # the server says it did not take it: retried
    "error_200": (errors.InsufficientBalanceError, "refused"),
    "malformed": (errors.SubmitUncertainError, "uncertain, not created"),  # a garbled 200: the job may exist
    "drop": (errors.SubmitUncertainError, "uncertain, created"),
    "drop_before_read": (errors.SubmitUncertainError, "uncertain, not created"),
    "hang": (errors.SubmitUncertainError, "uncertain, not created"),
    "trickle": (errors.SubmitUncertainError, "uncertain, created"),  # the answer never finished arriving
    "slow": (Result, "result"),
    "stuck": (errors.TimeoutError, "job error"),
    "fail": (errors.JobFailedError, "job error"),
}
# On the result polls every fault is retried, but HTTP 200 with an error body (a typed answer).
ON_POLL: dict[str, tuple[type[Exception] | type[Result[Any]], str]] = {
    kind: (Result, "result") for kind in FAULTS - {"stuck", "fail", "error_200"}
}
ON_POLL["error_200"] = (errors.InsufficientBalanceError, "job error")
ON_POLL["trickle"] = (errors.TimeoutError, "job error")  # the poll's answer was still arriving at the deadline


def test_the_tables_cover_every_fault() -> None:
    assert set(ON_SUBMIT) == FAULTS and set(ON_POLL) | {"stuck", "fail"} == FAULTS


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("where", "kind"), [("submit", k) for k in ON_SUBMIT] + [("poll", k) for k in ON_POLL])
def test_every_fault_ends_as_a_result_or_a_typed_error(emu: Emulator, mode: str, where: str, kind: str) -> None:
    if where == "submit":
        emu.inject(kind, method="POST", path_prefix="/v1/models/", retry_after=0.05, delay=0.2)
        expected, how = ON_SUBMIT[kind]
    else:
        emu.inject(kind, method="GET", path_prefix="/v1/requests/", retry_after=0.05, delay=0.2)
        expected, how = ON_POLL[kind]
    prompt = new_prompt(f"{where} {kind}")
    wait = 1.2
    outcome, took = run_one(mode, emu.base_url, prompt, wait=wait, timeout=0.5)
    assert isinstance(outcome, expected), (outcome, emu.calls)
    assert judge(emu, prompt, outcome) == how
    assert took <= wait + SLACK
    assert any(call.fault == kind for call in emu.calls), "the fault was not used"
    if kind == "stuck":
        assert isinstance(outcome, errors.TimeoutError) and outcome.cancelled
        assert emu.jobs[str(outcome.request_id)].status == "cancelled"


# --- deadlines ----------------------------------------------------------------------------------------

WAIT = 0.5  # run(timeout=WAIT) in the deadline scenarios
CLIENT_TIMEOUT = 3.0  # the client's per-call timeout there: longer than WAIT + SLACK, so it cannot be what ends a call


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("scenario", ["hang on the poll", "hang on the submit", "stuck in the queue", "silent server"])
def test_run_ends_within_its_deadline(emu: Emulator, silent_server: str, mode: str, scenario: str) -> None:
    base_url = silent_server if scenario == "silent server" else emu.base_url
    emu.queue_time = 30.0  # queued: whoever is left with the job at the deadline cancels it
    if scenario == "hang on the poll":
        emu.inject("hang", times=100, method="GET", path_prefix="/v1/requests/")
    elif scenario == "hang on the submit":
        emu.inject("hang", times=100, method="POST", path_prefix="/v1/models/")
    elif scenario == "stuck in the queue":
        emu.queue_time = 0.0
        emu.inject("stuck")
    prompt = new_prompt(scenario)
    outcome, took = run_one(mode, base_url, prompt, wait=WAIT, timeout=CLIENT_TIMEOUT)
    assert isinstance(outcome, runcomfy.RunComfyError), outcome
    assert took <= WAIT + SLACK, f"{scenario}: ended after {took:.2f} s with {outcome!r}"
    how = judge(emu, prompt, outcome)
    if scenario in ("hang on the submit", "silent server"):
        assert isinstance(outcome, errors.SubmitUncertainError) and how == "uncertain, not created"
    else:
        assert how == "job error"


@pytest.mark.parametrize("mode", MODES)
def test_a_deadline_that_passes_during_a_hung_poll_is_a_timeout(emu: Emulator, mode: str) -> None:
    emu.queue_time = 30.0
    emu.inject("hang", times=100, method="GET", path_prefix="/v1/requests/")
    prompt = new_prompt("hung poll")
    outcome, took = run_one(mode, emu.base_url, prompt, wait=WAIT, timeout=CLIENT_TIMEOUT)
    assert isinstance(outcome, errors.TimeoutError), outcome  # the deadline passed, whatever the last poll did
    assert took <= WAIT + SLACK
    (job,) = jobs_of(emu, prompt)
    assert outcome.request_id == job.request_id
    assert outcome.cancelled and job.status == "cancelled"  # as far as the client knows, it is still queued


@pytest.mark.parametrize("mode", MODES)
def test_a_job_stuck_in_the_queue_is_cancelled_at_the_deadline(emu: Emulator, mode: str) -> None:
    emu.inject("stuck")
    prompt = new_prompt("stuck")
    outcome, took = run_one(mode, emu.base_url, prompt, wait=WAIT)
    assert isinstance(outcome, errors.TimeoutError) and isinstance(outcome, TimeoutError), outcome
    assert WAIT <= took <= WAIT + SLACK
    (job,) = jobs_of(emu, prompt)
    assert job.status == "cancelled" and outcome.request_id == job.request_id
    assert outcome.cancelled and outcome.status == "in_queue" and "cancelled" in str(outcome)
    cancels = [c for c in emu.calls if c.path.endswith("/cancel")]
    assert [(c.status, c.request_id) for c in cancels] == [(202, job.request_id)]


@pytest.mark.parametrize("mode", MODES)
def test_the_cancel_at_the_deadline_is_bounded_too(emu: Emulator, mode: str) -> None:
    emu.inject("stuck")
    emu.inject("hang", times=100, method="POST", path_prefix="/v1/requests/")  # the cancel never answers
    prompt = new_prompt("stuck, cancel hangs")
    outcome, took = run_one(mode, emu.base_url, prompt, wait=WAIT, timeout=CLIENT_TIMEOUT)
    assert isinstance(outcome, errors.TimeoutError) and not outcome.cancelled, outcome
    assert took <= WAIT + SLACK
    (job,) = jobs_of(emu, prompt)
    assert job.status == "in_queue" and any(c.fault == "hang" for c in emu.calls)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("action", ["status", "cancel"])
@pytest.mark.parametrize("server", ["hang", "silent server"])
def test_calls_without_a_deadline_end_within_the_client_timeout(
    emu: Emulator, silent_server: str, mode: str, action: str, server: str
) -> None:
    timeout = 0.5
    request_id = "3f1c4a8e-0000-4000-8000-000000000000"
    if server == "hang":
        emu.inject("hang", times=100)
    outcome, took = call_one(
        mode, silent_server if server == "silent server" else emu.base_url, action, request_id, timeout=timeout
    )
    assert isinstance(outcome, errors.APIConnectionError), outcome
    assert outcome.request_id == request_id
    assert took <= timeout + SLACK, f"{action} took {took:.2f} s"


# --- the token ----------------------------------------------------------------------------------------


def error_texts(error: BaseException) -> list[str]:
    """What an error can show: its traceback as printed, and str/repr/args/attributes of it and its causes."""
    texts = ["".join(traceback.format_exception(error))]
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args), repr(getattr(current, "__dict__", {}))]
        pending += [current.__cause__, current.__context__]
    return texts


@pytest.mark.parametrize("mode", MODES)
def test_the_token_never_appears(
    emu: Emulator,
    silent_server: str,
    mode: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    runcomfy_logger: None,
) -> None:
    monkeypatch.setenv("RUNCOMFY_LOG", "debug")
    caplog.set_level(logging.DEBUG, logger="runcomfy")
    wrong = "sk-WRONG-456"
    get, submit = {"method": "GET", "path_prefix": "/v1/requests/"}, {"method": "POST", "path_prefix": "/v1/models/"}
    scenarios: list[tuple[str, list[tuple[str, int, dict[str, Any]]], type[object]]] = [
        ("fine", [], Result),
        ("failed job", [("fail", 1, {})], errors.JobFailedError),
        ("stuck job", [("stuck", 1, {})], errors.TimeoutError),
        ("dropped submit", [("drop", 1, submit)], errors.SubmitUncertainError),
        ("hung submit", [("hang", 1, submit)], errors.SubmitUncertainError),
        ("submit 500", [("500", 1, submit)], errors.SubmitUncertainError),
        ("submit 200 + error", [("error_200", 1, submit)], errors.InsufficientBalanceError),
        ("bad polls", [("malformed", 1, get), ("429", 1, get), ("hang", 1, get)], Result),  # 1 + 3 retries
        ("polls 503", [("503", 10, get)], errors.ServerError),
    ]
    outcomes: list[object] = []
    for name, faults, expected in scenarios:
        for kind, times, where in faults:
            emu.inject(kind, times, retry_after=0.01, **where)
        prompt = new_prompt(f"secret {name}")
        outcome, _ = run_one(mode, emu.base_url, prompt, wait=0.4 if name == "stuck job" else 1.5, timeout=0.3)
        assert isinstance(outcome, expected), (name, outcome)
        judge(emu, prompt, outcome)
        outcomes.append(outcome)
        emu.clear_faults()
    outcomes.append(run_one(mode, emu.base_url, new_prompt("wrong token"), wait=1.0, token=wrong)[0])
    outcomes.append(run_one(mode, silent_server, new_prompt("silent"), wait=0.5, timeout=0.3)[0])
    outcomes.append(call_one(mode, emu.base_url, "status", "no-such-request", timeout=0.5)[0])
    outcomes.append(call_one(mode, silent_server, "cancel", "no-such-request", timeout=0.3)[0])
    expected_ends = ["AuthenticationError", "SubmitUncertainError", "NotFoundError", "APIConnectionError"]
    assert [type(outcome).__name__ for outcome in outcomes[-4:]] == expected_ends, outcomes[-4:]

    texts: list[str] = []
    for outcome in outcomes:
        texts += error_texts(outcome) if isinstance(outcome, BaseException) else [repr(outcome)]
    client: Client | AsyncClient = Client(token=SECRET, base_url=emu.base_url)
    if mode == "async":
        client = AsyncClient(token=SECRET, base_url=emu.base_url)
    handle = client.get_request("r1", model=edit)
    texts += [
        repr(client),
        str(client),
        repr(client._transport),
        repr(handle),
        repr(vars(handle)),
        str(handle.to_dict()),
    ]
    records = caplog.records
    assert len(records) >= 10
    texts += [record.getMessage() for record in records] + [repr(record.args) for record in records]
    texts += [record.exc_text or "" for record in records]
    captured = capfd.readouterr()
    texts += [captured.out, captured.err]
    for secret in (SECRET, wrong):
        leaks = [text for text in texts if secret in text]
        assert not leaks, f"the token {secret} shows in: {leaks[:3]}"


# --- Retry-After --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_retry_after_is_honoured_by_polls_and_submits(emu: Emulator, mode: str) -> None:
    emu.inject("429", times=2, method="POST", path_prefix="/v1/models/", retry_after=0.1)
    emu.inject("429", times=3, method="GET", path_prefix="/v1/requests/", retry_after=0.15)
    prompt = new_prompt("retry-after")
    outcome, _ = run_one(mode, emu.base_url, prompt, wait=10.0)
    assert judge(emu, prompt, outcome) == "result"
    calls = [c for c in emu.calls if c.path.startswith("/v1/")]
    assert [c.status for c in calls[:2]] == [429, 429] and calls[2].status == 200 and len(emu.jobs) == 1
    gaps = [(later.at - earlier.at, earlier) for earlier, later in itertools.pairwise(calls) if earlier.status == 429]
    assert len(gaps) == 5
    for gap, earlier in gaps:
        wanted = 0.1 if earlier.method == "POST" else 0.15
        assert gap >= wanted * 0.95, f"{earlier.method} {earlier.path} retried after {gap:.3f} s, Retry-After {wanted}"


# --- chaos --------------------------------------------------------------------------------------------


def check_chaos(emu: Emulator, prompts: list[str], outcomes: list[tuple[object, float]], wait: float) -> dict[str, int]:
    """Judge every input of a chaos run; returns how many ended each way."""
    assert len(outcomes) == len(prompts)
    ends = [judge(emu, prompt, outcome) for prompt, (outcome, _) in zip(prompts, outcomes, strict=True)]
    slowest = max(took for _, took in outcomes)
    assert slowest <= wait + SLACK, f"a run took {slowest:.2f} s"
    # No input was submitted twice: each one's submits are 429s (not handled, retried) then at most one
    # more, so the submits that were not 429 are one per input, less those refused with 429 to the end.
    submits = [c for c in emu.calls if c.method == "POST" and c.path.startswith("/v1/models/")]
    rate_limited = sum(
        1
        for prompt, (outcome, _) in zip(prompts, outcomes, strict=True)
        if isinstance(outcome, (errors.RateLimitError, errors.ServerError)) and not jobs_of(emu, prompt)
    )
    assert sum(1 for c in submits if c.status not in (429, 503)) == len(prompts) - rate_limited
    # Retry-After (0.1 s here) is honoured after every 429 of a request id's calls
    by_path: dict[str, list[Any]] = {}
    for c in emu.calls:
        if c.path.startswith("/v1/requests/"):
            by_path.setdefault(c.path, []).append(c)
    for calls in by_path.values():
        for earlier, later in itertools.pairwise(calls):
            if earlier.status == 429:
                assert later.at - earlier.at >= 0.095, (earlier, later)
    counts = {end: ends.count(end) for end in sorted(set(ends))}
    uncertain = [c for c in submits if c.fault in ("drop", "drop_before_read", "hang", "malformed", "500", "502")]
    assert counts.get("uncertain, created", 0) == sum(1 for c in uncertain if c.fault == "drop"), (counts, uncertain)
    assert counts.get("uncertain, not created", 0) == sum(1 for c in uncertain if c.fault != "drop"), (
        counts,
        uncertain,
    )
    return counts


def test_chaos_sixty_concurrent_async_runs() -> None:
    with Emulator(max_side=64, processing_time=0.2, token=SECRET) as emu:
        emu.chaos(0.2, seed=2024)
        prompts = [new_prompt("chaos async") for _ in range(60)]
        wait = 15.0
        outcomes = run_inputs("async", emu.base_url, prompts, wait=wait)
        counts = check_chaos(emu, prompts, outcomes, wait)
        faults = [c.fault for c in emu.calls if c.fault]
        assert len(faults) >= 20 and counts.get("result", 0) >= 30, (counts, faults)


def test_chaos_of_every_kind_sync_threads() -> None:
    with Emulator(max_side=64, processing_time=0.1, token=SECRET) as emu:
        emu.chaos(0.25, sorted(FAULTS), seed=7, delay=0.1)
        prompts = [new_prompt("chaos sync") for _ in range(24)]
        wait = 2.0

        def one(prompt: str) -> tuple[object, float]:
            return run_one("sync", emu.base_url, prompt, wait=wait, timeout=0.5)

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            outcomes = list(pool.map(one, prompts))
        counts = check_chaos(emu, prompts, outcomes, wait)
        assert counts.get("result", 0) >= 8, counts


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["drop", "hang"])
def test_errors_keep_no_reference_to_the_request_that_carried_the_token(emu: Emulator, mode: str, kind: str) -> None:
    # The HTTP libraries' exceptions hold the request, and so its Authorization header: the typed error
    # raised must not keep them alive as its __context__ or __cause__ (a debugger or error reporter
    # walking the chain would find the token).
    emu.inject(kind, method="POST", path_prefix="/v1/models/")
    outcome, _ = run_one(mode, emu.base_url, new_prompt(f"context {kind}"), wait=1.0, timeout=0.5)
    assert isinstance(outcome, errors.SubmitUncertainError), outcome
    chain: list[BaseException] = []
    current: BaseException | None = outcome
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    assert chain == [outcome], chain
    assert SECRET not in repr(vars(outcome))
