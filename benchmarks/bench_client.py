"""The client at run time, against the local emulator (``runcomfy.testing.Emulator``), in three parts:

1. Overhead: ``edit.run(...)`` of a job that finishes at once (``PollSchedule(first=0.0)``: one submit, one
   ``/result``) vs the same two HTTP calls made with a bare ``requests.Session``. Interleaved iterations;
   medians, the ratio of medians and the median of per-iteration ratios. A cProfile pass then splits one
   iteration of each by package (µs per iteration, main thread only: the emulator's thread is not in it).
2. Polling: jobs of 1 s, 10 s and 60 s (real time). ``run()`` with the default ``PollSchedule()`` (a fresh
   client per job: nothing learned) vs a fixed 0.5 s and a fixed 0.1 s loop (a ``requests.Session`` that
   sleeps, then polls ``/result``). Per contender: the ``/result`` calls the emulator received for the job,
   and the delay from the job's end (``Job.finished_at``, ``time.monotonic()`` in the emulator, which runs in
   this process) to the result being in hand (``time.monotonic()`` once ``run()`` / the loop has the parsed
   answer). The contenders of one repeat run at once in threads, on identical jobs; the repeats of a
   duration last a little longer each (``--spread``), so that job ends fall at several phases of each
   contender's polls (for one exact duration, a schedule's delay is a matter of luck).
3. Learning: 20 jobs of 2 s in a row with one ``Client`` (its ``DurationMemory`` learns the model's
   duration): calls and delay per job, and their mean over jobs 2-20.

4. Outliers: with one ``Client``, one job of ``--outlier-seconds`` (10 s), then ``--after-jobs`` (5) jobs of
   0.3 s: the time from submit to result and the ``/result`` calls of each quick job (learning must not let
   the slow job delay them: the first poll of any job comes within ``PollSchedule.first``).

``--schedule "first=1,minimum=0.5,growth=0.12"`` (repeatable) adds a ``PollSchedule(...)`` contender to
parts 2 and 3, to try other parameters.

The emulator's request handler is switched to ``TCP_NODELAY`` here (``--keep-nagle`` keeps it as shipped):
it writes the headers and the body of an answer in two sends, so Nagle's algorithm and the client's
delayed ACK stall every answer by ~40 ms, which would swamp what part 1 measures.

Run: ``.venv/bin/python benchmarks/bench_client.py [--quick]`` (~4.5 min; ``--quick`` ~1.5 min, no 60 s jobs)
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import functools
import os
import platform
import pstats
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from runcomfy._polling import PollSchedule
from runcomfy.client import Client
from runcomfy.models.google.nano_banana_2 import edit
from runcomfy.testing import Emulator, _emulator

MODEL_ID = edit.MODEL_ID
INPUT = edit.Input(
    prompt="Keep the subject, make the background a rainy neon street at night.",
    image_urls=["https://example.com/input.png"],  # not fetched: the emulator draws a placeholder
)
BODY = INPUT.to_dict()
SUBMIT_PATH = f"/v1/models/{MODEL_ID}"
FINISHED = ("succeeded", "failed", "cancelled")


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1e3:.0f}"


def bare_session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


# --- part 1: overhead ------------------------------------------------------------------------------


def part_overhead(args: argparse.Namespace) -> None:
    with Emulator(models=[MODEL_ID], max_side=16) as emu:  # a 16 px output image: little server work
        client = Client(token=emu.token, base_url=emu.base_url, poll=PollSchedule(first=0.0))
        session = bare_session(emu.token)
        base = emu.base_url

        def runcomfy_run() -> None:
            result = edit.run(INPUT, client=client)
            assert result.status == "succeeded" and result.output.images, result

        def bare_run() -> None:
            response = session.post(base + SUBMIT_PATH, json=BODY, timeout=30)
            response.raise_for_status()
            request_id = response.json()["request_id"]
            response = session.get(f"{base}/v1/requests/{request_id}/result", timeout=30)
            response.raise_for_status()
            assert response.json()["status"] == "succeeded"

        contenders: dict[str, Callable[[], None]] = {
            "runcomfy edit.run()": runcomfy_run,
            "bare requests.Session": bare_run,
        }
        names = list(contenders)
        for _ in range(args.warmup):
            for name in names:
                contenders[name]()
        emu.reset_calls()
        samples: dict[str, list[float]] = {name: [] for name in names}
        for i in range(args.iterations):
            for name in names if i % 2 else names[::-1]:
                start = time.perf_counter()
                contenders[name]()
                samples[name].append(time.perf_counter() - start)
        calls = emu.calls
        per_iteration = len(calls) / (2 * args.iterations)

        profiles = {name: profile_by_package(contenders[name], args.profile_iterations) for name in names}
        top = top_runcomfy_functions(runcomfy_run, args.profile_iterations)
        client.close()
        session.close()

    ours, bare = samples[names[0]], samples[names[1]]
    med = {name: statistics.median(values) for name, values in samples.items()}
    ratio = med[names[0]] / med[names[1]]
    paired = statistics.median(a / b for a, b in zip(ours, bare, strict=True))
    print("## 1. Client overhead: a job that finishes at once (submit + one /result)\n")
    print(
        f"{args.iterations} interleaved iterations per contender after {args.warmup} warm-up ones; emulator in "
        f"this process (processing_time=0, 16 px output image), {per_iteration:.2f} HTTP calls per iteration "
        f"seen by the emulator.\n"
    )
    print("| contender | median ms | p10 ms | p90 ms | mean ms | ratio to bare (medians) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in names:
        values = sorted(samples[name])
        p10, p90 = values[len(values) // 10], values[len(values) * 9 // 10]
        print(
            f"| {name} | {med[name] * 1e3:.3f} | {p10 * 1e3:.3f} | {p90 * 1e3:.3f} | "
            f"{statistics.fmean(values) * 1e3:.3f} | {med[name] / med[names[1]]:.3f}× |"
        )
    extra = (med[names[0]] - med[names[1]]) * 1e6
    print(
        f"\nMedian of per-iteration ratios: {paired:.3f}×; extra time per run(): {extra:.0f} µs (difference of medians)."
    )
    met = ratio <= 1.15
    print(f"\nTarget (runcomfy ≤ 1.15× the bare session): {ratio:.3f}× → **{'MET' if met else 'NOT MET'}**\n")

    print(
        f"#### Where an iteration's time goes (cProfile, {args.profile_iterations} iterations each, µs per iteration)\n"
    )
    print("Profiling inflates Python-heavy code; compare the two columns, not with the timings above.\n")
    groups = sorted({g for p in profiles.values() for g in p}, key=lambda g: -profiles[names[0]].get(g, 0.0))
    print(f"| package | {names[0]} | {names[1]} | difference |")
    print("|---|---:|---:|---:|")
    for group in groups:
        a, b = profiles[names[0]].get(group, 0.0), profiles[names[1]].get(group, 0.0)
        print(f"| {group} | {a:.0f} | {b:.0f} | {a - b:+.0f} |")
    total_a, total_b = sum(profiles[names[0]].values()), sum(profiles[names[1]].values())
    print(f"| **total** | {total_a:.0f} | {total_b:.0f} | {total_a - total_b:+.0f} |")
    if not met or args.profile:
        print("\n#### The costliest runcomfy functions (own time, µs per run(), cProfile)\n")
        print("| function | own µs | cumulative µs | calls per run() |")
        print("|---|---:|---:|---:|")
        for label, own, cumulative, ncalls in top:
            print(f"| `{label}` | {own:.1f} | {cumulative:.1f} | {ncalls:g} |")
    print()


def _group(filename: str, function: str) -> str:
    if filename == "~":
        if any(word in function for word in ("recv", "send", "socket", "select", "poll", "connect")):
            return "socket calls (incl. waiting for the server)"
        return "C builtins (other)"
    path = filename.replace(os.sep, "/")
    for marker, label in (
        ("/runcomfy/", "runcomfy"),
        ("/requests/", "requests"),
        ("/urllib3/", "urllib3"),
        ("/http/client.py", "http.client"),
        ("/json/", "json"),
        ("/email/", "email (header parsing)"),
    ):
        if marker in path:
            return label
    return "other stdlib"


def _stats(func: Callable[[], None], iterations: int) -> pstats.Stats:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(iterations):
        func()
    profiler.disable()
    return pstats.Stats(profiler)


def profile_by_package(func: Callable[[], None], iterations: int) -> dict[str, float]:
    """Own (tottime) µs per iteration, summed by package."""
    totals: dict[str, float] = {}
    for (filename, _, function), (_, _, own, _, _) in _stats(func, iterations).stats.items():  # type: ignore[attr-defined]
        group = _group(filename, function)
        totals[group] = totals.get(group, 0.0) + own * 1e6 / iterations
    return totals


def top_runcomfy_functions(
    func: Callable[[], None], iterations: int, n: int = 12
) -> list[tuple[str, float, float, float]]:
    rows = []
    for (filename, line, function), (_, ncalls, own, cumulative, _) in _stats(func, iterations).stats.items():  # type: ignore[attr-defined]
        if "/runcomfy/" in filename.replace(os.sep, "/"):
            short = filename.replace(os.sep, "/").split("/runcomfy/", 1)[1]
            rows.append(
                (
                    f"{short}:{line} {function}",
                    own * 1e6 / iterations,
                    cumulative * 1e6 / iterations,
                    ncalls / iterations,
                )
            )
    return sorted(rows, key=lambda row: -row[1])[:n]


# --- parts 2 and 3: polling --------------------------------------------------------------------------


@dataclasses.dataclass
class Sample:
    request_id: str
    done_at: float  # time.monotonic() with the result in hand
    calls: int = 0
    delay: float = 0.0


class Contender:
    """Runs one job at a time against the emulator; ``run_job()`` returns the request id and done time."""

    name: str

    def run_job(self, base_url: str, token: str) -> Sample:
        raise NotImplementedError


class RuncomfyContender(Contender):
    def __init__(self, name: str, schedule: PollSchedule, *, learn_across_jobs: bool) -> None:
        self.name = name
        self.schedule = schedule
        self.learn_across_jobs = learn_across_jobs
        self._client: Client | None = None

    def run_job(self, base_url: str, token: str) -> Sample:
        client = self._client
        if client is None or not self.learn_across_jobs:
            if client is not None:
                client.close()
            client = self._client = Client(token=token, base_url=base_url, poll=self.schedule)
        result = edit.run(INPUT, client=client)
        done = time.monotonic()
        assert result.status == "succeeded", result
        return Sample(result.request_id, done)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


class FixedLoop(Contender):
    """The simple loop: submit, then sleep ``interval`` and poll /result until the job has ended."""

    def __init__(self, interval: float) -> None:
        self.name = f"fixed {interval:g} s loop"
        self.interval = interval

    def run_job(self, base_url: str, token: str) -> Sample:
        with bare_session(token) as session:
            response = session.post(base_url + SUBMIT_PATH, json=BODY, timeout=30)
            response.raise_for_status()
            request_id = response.json()["request_id"]
            while True:
                time.sleep(self.interval)
                response = session.get(f"{base_url}/v1/requests/{request_id}/result", timeout=30)
                response.raise_for_status()
                body: dict[str, Any] = response.json()
                if body["status"] in FINISHED:
                    done = time.monotonic()
                    assert body["status"] == "succeeded", body
                    return Sample(request_id, done)


def measure(emu: Emulator, sample: Sample) -> Sample:
    job = emu.jobs[sample.request_id]
    sample.calls = sum(
        1 for call in emu.calls if call.request_id == sample.request_id and call.path.endswith("/result")
    )
    sample.delay = sample.done_at - job.finished_at
    return sample


def in_threads(tasks: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run the tasks at once, one thread each; their results by name (a task's exception is re-raised)."""
    results: dict[str, Any] = {}
    errors: list[BaseException] = []

    def target(name: str, task: Callable[[], Any]) -> None:
        try:
            results[name] = task()
        except BaseException as exc:  # re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=target, args=item, daemon=True) for item in tasks.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def parse_schedule(spec: str) -> PollSchedule:
    fields: dict[str, Any] = {}
    for part in filter(None, (piece.strip() for piece in spec.split(","))):
        key, _, value = part.partition("=")
        fields[key.strip()] = value.strip().lower() in ("1", "true", "yes") if key.strip() == "learn" else float(value)
    return PollSchedule(**fields)


def schedule_label(schedule: PollSchedule) -> str:
    default = PollSchedule()
    changed = [
        f"{f.name}={getattr(schedule, f.name):g}"
        for f in dataclasses.fields(schedule)
        if getattr(schedule, f.name) != getattr(default, f.name)
    ]
    return f"PollSchedule({', '.join(changed)})"


def part_polling(args: argparse.Namespace, emu: Emulator, schedules: list[PollSchedule]) -> None:
    durations = [d for d in args.durations if not (args.quick and d > 30)]
    runcomfy_names = ["runcomfy PollSchedule() (default)"] + [schedule_label(s) for s in schedules[1:]]
    print("## 2. Polling: calls to /result and delay after the job's end, cold client (nothing learned)\n")
    print(
        "The contenders of a repeat run at once in threads, each on its own job of the same duration "
        f"(queue_time=0). Repeat r = 0..n-1 of n lasts {args.offset:g} + r/n × max(0.5 s, {args.spread:g} × duration) "
        "more than the nominal duration, so that job ends fall at several phases of each contender's polls "
        "(a schedule's delay for one exact duration is a matter of luck). "
        "Delay: job end (emulator) → result in hand (client). Calls and delays are means over the repeats.\n"
    )
    goal_rows = []
    print("| job | contender | repeats | /result calls | mean delay ms | max delay ms |")
    print("|---|---|---:|---:|---:|---:|")
    for duration in durations:
        repeats = args.repeats_long if duration > 30 else args.repeats
        contenders: list[Contender] = [
            RuncomfyContender(name, schedule, learn_across_jobs=False)
            for name, schedule in zip(runcomfy_names, schedules, strict=True)
        ]
        contenders += [FixedLoop(0.5), FixedLoop(0.1)]
        samples: dict[str, list[Sample]] = {c.name: [] for c in contenders}
        for repeat in range(repeats):
            emu.processing_time = duration + args.offset + repeat / repeats * max(0.5, args.spread * duration)
            done = in_threads({c.name: functools.partial(c.run_job, emu.base_url, emu.token) for c in contenders})
            for name, sample in done.items():
                samples[name].append(measure(emu, sample))
        for contender in contenders:
            if isinstance(contender, RuncomfyContender):
                contender.close()
        mean_calls = {name: statistics.fmean(s.calls for s in values) for name, values in samples.items()}
        mean_delay = {name: statistics.fmean(s.delay for s in values) for name, values in samples.items()}
        for contender in contenders:
            values = samples[contender.name]
            print(
                f"| {duration:g} s | {contender.name} | {len(values)} | {mean_calls[contender.name]:.1f} "
                f"| {fmt_ms(mean_delay[contender.name])} | {fmt_ms(max(s.delay for s in values))} |"
            )
        allowed = max(0.25, 0.1 * duration)
        for name in runcomfy_names:
            fewer = mean_calls[name] < mean_calls["fixed 0.5 s loop"]
            quick = mean_delay[name] < allowed
            goal_rows.append(
                (
                    duration,
                    name,
                    mean_calls[name],
                    mean_calls["fixed 0.5 s loop"],
                    mean_delay[name],
                    allowed,
                    fewer and quick,
                )
            )
    print("\nGoals: fewer /result calls than the fixed 0.5 s loop, and mean delay under max(0.25 s, 10% of the job).\n")
    print("| job | schedule | calls (fixed 0.5 s) | mean delay ms (allowed) | goal |")
    print("|---|---|---:|---:|---|")
    for duration, name, calls, fixed_calls, delay, allowed, met in goal_rows:
        print(
            f"| {duration:g} s | {name} | {calls:.1f} ({fixed_calls:.1f}) | {fmt_ms(delay)} ({fmt_ms(allowed)}) | **{'MET' if met else 'NOT MET'}** |"
        )
    print()


def part_learning(args: argparse.Namespace, emu: Emulator, schedules: list[PollSchedule]) -> None:
    emu.processing_time = args.job_seconds
    names = ["runcomfy PollSchedule() (default)"] + [schedule_label(s) for s in schedules[1:]]
    contenders: list[Contender] = [
        RuncomfyContender(n, s, learn_across_jobs=True) for n, s in zip(names, schedules, strict=True)
    ]
    contenders.append(FixedLoop(0.5))

    def series(contender: Contender) -> list[Sample]:
        return [measure(emu, contender.run_job(emu.base_url, emu.token)) for _ in range(args.jobs)]

    results: dict[str, list[Sample]] = in_threads({c.name: functools.partial(series, c) for c in contenders})
    for contender in contenders:
        if isinstance(contender, RuncomfyContender):
            contender.close()
    print(f"## 3. {args.jobs} jobs of {args.job_seconds:g} s in a row, one client per contender (learning)\n")
    print("The contenders run at once, each in its own thread. Cells: `/result` calls / delay ms.\n")
    header = [c.name for c in contenders]
    print("| job | " + " | ".join(header) + " |")
    print("|---:|" + "---:|" * len(header))
    for index in range(args.jobs):
        cells = [f"{results[name][index].calls} / {fmt_ms(results[name][index].delay)}" for name in header]
        print(f"| {index + 1} | " + " | ".join(cells) + " |")
    later = {name: results[name][1:] for name in header}
    means = {
        name: (statistics.fmean(s.calls for s in v), statistics.fmean(s.delay for s in v)) for name, v in later.items()
    }
    print(f"| **mean 2-{args.jobs}** | " + " | ".join(f"**{c:.2f} / {fmt_ms(d)}**" for c, d in means.values()) + " |")
    print(f"\nGoal (jobs 2-{args.jobs}: at most 4 calls per job, delay under 0.5 s, on average):\n")
    for name in names:
        calls, delay = means[name]
        worst = max(s.calls for s in later[name]), max(s.delay for s in later[name])
        met = calls <= 4 and delay < 0.5
        print(
            f"- {name}: {calls:.2f} calls, {fmt_ms(delay)} ms (worst job: {worst[0]} calls, {fmt_ms(worst[1])} ms) "
            f"→ **{'MET' if met else 'NOT MET'}**"
        )
    print()


def part_outliers(args: argparse.Namespace, emu: Emulator) -> None:
    quick = 0.3
    print(
        f"## 4. One slow job ({args.outlier_seconds:g} s), then {args.after_jobs} jobs of {quick:g} s, one client "
        "(learning must not let the slow job delay the quick ones)\n"
    )
    print("| job | seconds | submit → result s | /result calls | delay ms |")
    print("|---:|---:|---:|---:|---:|")
    contender = RuncomfyContender("runcomfy", PollSchedule(), learn_across_jobs=True)
    quick_runs = []
    for index in range(1 + args.after_jobs):
        emu.processing_time = args.outlier_seconds if index == 0 else quick
        started = time.monotonic()
        sample = measure(emu, contender.run_job(emu.base_url, emu.token))
        took = sample.done_at - started
        if index:
            quick_runs.append((took, sample))
        print(f"| {index + 1} | {emu.processing_time:g} | {took:.2f} | {sample.calls} | {fmt_ms(sample.delay)} |")
    contender.close()
    mean_took = statistics.fmean(took for took, _ in quick_runs)
    mean_calls = statistics.fmean(sample.calls for _, sample in quick_runs)
    print(f"\nQuick jobs: mean {mean_took:.2f} s from submit to result, {mean_calls:.1f} calls.\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer iterations and repeats, no 60 s jobs, 10 learning jobs"
    )
    parser.add_argument(
        "--iterations", type=int, help="part 1: timed iterations per contender (default 400, quick 150)"
    )
    parser.add_argument("--warmup", type=int, default=30, help="part 1: untimed iterations first (default 30)")
    parser.add_argument("--profile-iterations", type=int, default=100, help="part 1: profiled iterations (default 100)")
    parser.add_argument(
        "--profile", action="store_true", help="part 1: list the costliest runcomfy functions even if on target"
    )
    parser.add_argument("--durations", type=float, nargs="+", default=[1.0, 10.0, 60.0], help="part 2: job seconds")
    parser.add_argument("--repeats", type=int, help="part 2: repeats per duration up to 30 s (default 5, quick 3)")
    parser.add_argument("--repeats-long", type=int, default=2, help="part 2: repeats of longer jobs (default 2)")
    parser.add_argument("--offset", type=float, default=0.0, help="part 2: seconds added to every job")
    parser.add_argument(
        "--spread",
        type=float,
        default=0.1,
        help="part 2: repeat r of n lasts r/n*max(0.5 s, spread*duration) more than the first (default 0.1; 0: exact)",
    )
    parser.add_argument("--jobs", type=int, help="part 3: jobs in a row (default 20, quick 10)")
    parser.add_argument("--job-seconds", type=float, default=2.0, help="part 3: seconds per job (default 2)")
    parser.add_argument(
        "--schedule", action="append", default=[], help='extra PollSchedule for parts 2-3: "first=1,minimum=0.5"'
    )
    parser.add_argument("--outlier-seconds", type=float, default=10.0, help="part 4: the slow job (default 10)")
    parser.add_argument("--after-jobs", type=int, default=5, help="part 4: quick jobs after it (default 5)")
    parser.add_argument("--parts", default="1234", help="which parts to run (default 1234)")
    parser.add_argument("--keep-nagle", action="store_true", help="leave the emulator's sockets as shipped (Nagle on)")
    args = parser.parse_args()
    args.iterations = args.iterations or (150 if args.quick else 400)
    args.repeats = args.repeats or (3 if args.quick else 5)
    args.jobs = args.jobs or (10 if args.quick else 20)
    if not args.keep_nagle:
        _emulator._Handler.disable_nagle_algorithm = True  # socketserver sets TCP_NODELAY on each connection
    schedules = [PollSchedule()] + [parse_schedule(spec) for spec in args.schedule]

    print("# runcomfy client benchmark\n")
    print(
        f"Python {platform.python_version()}, requests {requests.__version__}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}; emulator sockets: {'as shipped (Nagle on)' if args.keep_nagle else 'TCP_NODELAY'}; "
        f"default {PollSchedule()}.\n"
    )
    started = time.monotonic()
    if "1" in args.parts:
        part_overhead(args)
    if "2" in args.parts or "3" in args.parts or "4" in args.parts:
        with Emulator(models=[MODEL_ID], max_side=16) as emu:
            if "2" in args.parts:
                part_polling(args, emu, schedules)
            if "3" in args.parts:
                part_learning(args, emu, schedules)
            if "4" in args.parts:
                part_outliers(args, emu)
    print(f"_Total {time.monotonic() - started:.0f} s._")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
