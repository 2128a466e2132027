"""A hostile server: answers of the API and output files that try to write outside the output directory,
replace existing files, exhaust memory, disk or time, crash the client, or pull the token to another host.

``HostileServer`` is a small loopback HTTP server (standard library, in threads, bound to 127.0.0.1) that
plays the RunComfy API with one scenario at a time, plus a second one, "foreign", standing for any other
host. Every scenario is run through the four ways of using the client: ``runcomfy.Client``,
``runcomfy.AsyncClient``, the ``runcomfy run ... --out DIR`` command (a subprocess) and the batch
(``runcomfy.map(..., save_to=DIR)``, and the ``runcomfy batch`` command for some). Each must: write
nothing outside DIR, replace no existing file, leave no partial file, end in a typed error (exit 3 for the
command, never a traceback) or in files with plain names inside DIR, and never send the token anywhere but
the API (no download carries it, the foreign host never sees it).

The unit tests at the end pin each mechanism on its own (names, ids, paths, handles, limits, placement).
"""

from __future__ import annotations

import asyncio
import dataclasses
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import runcomfy
import runcomfy.async_client
import runcomfy.client
from conftest import IMAGE
from runcomfy import _core, _http
from runcomfy._core import RetryPolicy
from runcomfy._polling import PollSchedule
from runcomfy.async_client import AsyncClient, AsyncRequestHandle
from runcomfy.client import Client, RequestHandle, Result
from runcomfy.errors import (
    BadAnswerError,
    DownloadError,
    ForeignHandleError,
    InvalidIdError,
    OutputExistsError,
    RunComfyError,
)
from runcomfy.models.google.nano_banana_2 import edit

TOKEN = "hostile-suite-token-5f1c"
EDIT = "google/nano-banana-2/edit"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FAST_POLL = PollSchedule(first=0.0, minimum=0.02, growth=0.1, maximum=0.1, learn=False)
NO_RETRY = RetryPolicy(max_retries=0, backoff=0.01, max_backoff=0.02)
CAP = 1 << 20  # the size cap given where one can be given (the default, 2 GiB, is too much to send)
LIFETIME = 120.0  # the servers stop by themselves after this many seconds, whatever happens
PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9]{1,8})")


# --- the servers -------------------------------------------------------------------------------------


@dataclasses.dataclass
class Call:
    server: str
    method: str
    path: str
    authorization: str | None


@dataclasses.dataclass
class Scenario:
    """What the hostile API answers: the submit's ``request_id`` and the result's ``output``, or a raw
    result body. In strings, ``{api}``/``{foreign}`` become the servers' URLs, ``{tmp}`` the run's
    directory and ``{tag}`` the run's tag (file URLs carry it, so that each fetch is traced to its run)."""

    request_id: str = "job-1"
    output: Any = dataclasses.field(default_factory=lambda: {"images": [file_url("png", "a.png")]})
    raw_result: bytes | None = None


def file_url(kind: str, name: str) -> str:
    return f"{{api}}/files/{kind}/{{tag}}/{name}"


@dataclasses.dataclass
class Run:
    """One scenario run one way: its own token (the server answers by it), tag, and directories."""

    scenario: Scenario
    token: str
    tag: str
    tmp: Path
    out: Path


class QuietServer(http.server.ThreadingHTTPServer):
    """A threaded HTTP server that does not print a client hanging up on it (clients here do, on purpose)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class HostileServer:
    """The hostile API (``url``) and a foreign host (``foreign_url``), recording every call in ``calls``.
    Runs go on side by side: each is answered by its token, and its file URLs carry its tag."""

    def __init__(self) -> None:
        self.runs: dict[str, Run] = {}
        self.calls: list[Call] = []
        self.stopped = threading.Event()
        self._servers = [self._start("api"), self._start("foreign")]
        self.url = f"http://127.0.0.1:{self._servers[0].server_address[1]}"
        self.foreign_url = f"http://127.0.0.1:{self._servers[1].server_address[1]}"
        self._timer = threading.Timer(LIFETIME, self.close)
        self._timer.daemon = True
        self._timer.start()

    def _start(self, name: str) -> QuietServer:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner.serve(name, self)

            def do_POST(self) -> None:
                owner.serve(name, self)

        server = QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return server

    def close(self) -> None:
        self.stopped.set()
        self._timer.cancel()
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def add(self, scenario: Scenario, tmp: Path) -> Run:
        n = len(self.runs)
        run = Run(scenario, f"{TOKEN}-{n}", f"run{n}", tmp, tmp / "a" / "b" / "out")
        self.runs[run.token] = run
        return run

    def calls_of(self, run: Run) -> list[Call]:
        return [c for c in self.calls if c.authorization == f"Bearer {run.token}" or f"/{run.tag}/" in c.path]

    def expand(self, value: Any, run: Run) -> Any:
        if isinstance(value, str):
            for key, text in (
                ("api", self.url),
                ("foreign", self.foreign_url),
                ("tmp", str(run.tmp)),
                ("tag", run.tag),
            ):
                value = value.replace("{" + key + "}", text)
            return value
        if isinstance(value, list):
            return [self.expand(item, run) for item in value]
        if isinstance(value, dict):
            return {self.expand(key, run): self.expand(item, run) for key, item in value.items()}
        return value

    # --- answering --------------------------------------------------------------------------------

    def serve(self, server: str, request: http.server.BaseHTTPRequestHandler) -> None:
        authorization = request.headers.get("Authorization")
        self.calls.append(Call(server, request.command, request.path, authorization))
        length = int(request.headers.get("Content-Length") or 0)
        if length:
            request.rfile.read(length)
        path = request.path.split("?", 1)[0]  # /result is polled with ?include_cost=true
        if path.startswith("/files/"):
            return self.file(request, path.split("/"))
        run = self.runs.get((authorization or "").removeprefix("Bearer "))
        if server != "api" or run is None:
            return self.send(request, 401, b'{"error_code": 400004, "message": "no"}')
        scenario = run.scenario
        request_id = self.expand(scenario.request_id, run)
        if request.command == "POST" and path.startswith("/v1/models/"):
            return self.send_json(request, {"request_id": request_id, "status": "in_queue"})
        if path.endswith("/result"):
            if scenario.raw_result is not None:
                return self.send(request, 200, scenario.raw_result)
            answer = {"request_id": request_id, "status": "succeeded", "output": self.expand(scenario.output, run)}
            return self.send_json(request, answer)
        if path.endswith("/status"):
            return self.send_json(request, {"request_id": request_id, "status": "completed"})
        return self.send_json(request, {"request_id": request_id, "outcome": "not_cancellable"})

    def send_json(self, request: http.server.BaseHTTPRequestHandler, data: Any) -> None:
        self.send(request, 200, json.dumps(data).encode())

    def send(self, request: http.server.BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
        request.send_response(status)
        request.send_header("Content-Length", headers.pop("length", str(len(body))))
        for key, value in headers.items():
            request.send_header(key.replace("_", "-"), value)
        request.end_headers()
        request.wfile.write(body)

    def file(self, request: http.server.BaseHTTPRequestHandler, parts: list[str]) -> None:
        kind, tag = parts[2], parts[3] if len(parts) > 3 else ""
        redirects = {
            "to-file": "file:///etc/passwd",
            "to-data": "data:text/plain,pwned",
            "to-ftp": "ftp://127.0.0.1/x.png",
            "to-foreign": f"{self.foreign_url}/files/png/{tag}/b.png",
        }
        if kind == "png":
            self.send(request, 200, PNG, Content_Type="image/png")
        elif kind in redirects:
            self.send(request, 302, b"", Location=redirects[kind])
        elif kind == "huge":  # announces 3 GiB, sends a little, then hangs up
            request.close_connection = True
            self.send(request, 200, b"x" * 1024, length=str(3 * 1024**3))
        elif kind == "stream":  # no length: 8 MiB (eight times the cap), then the connection closes
            request.close_connection = True
            request.send_response(200)
            request.send_header("Connection", "close")
            request.end_headers()
            for _ in range(128):
                if self.stopped.is_set():
                    break
                try:
                    request.wfile.write(b"y" * 65536)
                except OSError:
                    break
        elif kind == "trickle":  # a byte every 0.2 s, for at most 20 s
            request.close_connection = True
            request.send_response(200)
            request.send_header("Content-Length", "100")
            request.end_headers()
            for _ in range(100):
                if self.stopped.wait(0.2):
                    break
                try:
                    request.wfile.write(b"z")
                    request.wfile.flush()
                except OSError:
                    break
        else:
            self.send(request, 404, b"no such file")


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    hostile = HostileServer()
    try:
        yield hostile
    finally:
        hostile.close()


# --- the scenarios -----------------------------------------------------------------------------------

DEEP = 100_000
NESTED_TOO_DEEP = (
    b'{"request_id": "job-1", "status": "succeeded", "output": {"images": ' + b"[" * DEEP + b"]" * DEEP + b"}}"
)
NESTED_500 = b'{"request_id": "job-1", "status": "succeeded", "output": {"x": ' + b"[" * 500 + b"]" * 500 + b"}}"
HOSTILE_KEYS = {
    "/../../pwned": file_url("png", "1.png"),
    "../../../pwned": file_url("png", "2.png"),
    "{tmp}/abs-key": file_url("png", "3.png"),
    "a\x00b": file_url("png", "4.png"),
    "esc\x1b[31mred": file_url("png", "5.png"),
    "k" * 5000: file_url("png", "6.png"),
    "a/b": file_url("png", "7.png"),
    "a_b": file_url("png", "8.png"),
    "Image": file_url("png", "9.png"),
    "image": [file_url("png", "10.png"), file_url("png", "10.png")],  # the same URL twice: two files
    "..": file_url("png", "12.png/..%2F..%2Fpwned"),
}


@dataclasses.dataclass(frozen=True)
class Case:
    scenario: Scenario
    error: type[RunComfyError] | None = None  # None: it succeeds
    files: int = 0  # files saved when it succeeds
    save: dict[str, Any] = dataclasses.field(default_factory=dict)  # Result.save's keywords where needed
    cli: tuple[str, ...] = ()  # extra flags of `runcomfy run`
    existing: str | None = None  # a file ("file") or a symlink out of DIR ("symlink") already at the name
    foreign_download: bool = False  # the file is fetched from the foreign host (after a redirect)


CASES: dict[str, Case] = {
    "request id: absolute path": Case(Scenario(request_id="{tmp}/pwned"), BadAnswerError),
    "request id: traversal": Case(Scenario(request_id="a/../../../pwned"), BadAnswerError),
    "request id: query": Case(Scenario(request_id="x?y=1"), BadAnswerError),
    "request id: NUL": Case(Scenario(request_id="job\x00-1"), BadAnswerError),
    "request id: 5,000 chars": Case(Scenario(request_id="r" * 5000), BadAnswerError),
    "output keys: traversal, absolute, NUL, escape, 5,000 chars, clashes": Case(
        Scenario(output=HOSTILE_KEYS), files=12
    ),
    "output: file:// URL": Case(
        Scenario(output={"images": [file_url("png", "ok.png"), "file:///etc/passwd"]}), BadAnswerError
    ),
    "output: relative URL": Case(Scenario(output={"image": "/files/png/x.png"}), BadAnswerError),
    "output: traversal URL path": Case(Scenario(output={"image": "../../../etc/passwd"}), BadAnswerError),
    "output: NUL in the URL": Case(Scenario(output={"image": file_url("png", "a\x00.png")}), BadAnswerError),
    "output: a data: URI is not a file": Case(Scenario(output={"image": "data:image/png;base64,AAAA"}), files=0),
    "download: 3 GiB Content-Length": Case(Scenario(output={"video": file_url("huge", "v.mp4")}), DownloadError),
    "download: streamed body over the cap": Case(
        Scenario(output={"video": file_url("stream", "v.mp4")}), DownloadError, save={"max_bytes": CAP}
    ),
    "download: trickling body": Case(
        Scenario(output={"video": file_url("trickle", "v.mp4")}),
        DownloadError,
        save={"timeout": 1.0},
        cli=("--download-timeout", "1"),
    ),
    "download: redirect to file://": Case(Scenario(output={"image": file_url("to-file", "x.png")}), DownloadError),
    "download: redirect to data:": Case(Scenario(output={"image": file_url("to-data", "x.png")}), DownloadError),
    "download: redirect to ftp://": Case(Scenario(output={"image": file_url("to-ftp", "x.png")}), DownloadError),
    "download: redirect to another host": Case(
        Scenario(output={"image": file_url("to-foreign", "x.png")}), files=1, foreign_download=True
    ),
    "answer: JSON nested 100,000 deep": Case(Scenario(raw_result=NESTED_TOO_DEEP), BadAnswerError),
    "answer: JSON nested 500 deep": Case(Scenario(raw_result=NESTED_500), BadAnswerError),
    "existing file in DIR": Case(Scenario(), OutputExistsError, existing="file"),
    "existing symlink out of DIR": Case(Scenario(), OutputExistsError, existing="symlink"),
}
CLI_SKIPS = {"download: streamed body over the cap"}  # the command's cap is the default 2 GiB
# `runcomfy run --output-dir DIR` (RunComfy's CLI's way): files named after their URL's last segment, the
# same URL once, a name taken numbered (-1), only from RunComfy's hosts or the API's. Exit 0 with the files
# saved, or the error's code with none: 69 a malformed answer, 74 a download refused or failed.
CLI_EXPECTED: dict[str, tuple[int, int]] = {  # case → (exit code, files)
    **{name: (69, 0) for name in CASES if name.startswith(("request id", "answer", "output: "))},
    "output keys: traversal, absolute, NUL, escape, 5,000 chars, clashes": (0, 11),
    "output: a data: URI is not a file": (0, 0),
    **{name: (74, 0) for name in CASES if name.startswith("download")},
    "existing file in DIR": (0, 1),  # saved as a-1.png beside it
    "existing symlink out of DIR": (0, 1),
}
CLI_NAME = re.compile(r"[^/\\\x00-\x1f]+")  # one plain file name, from the URL
BATCH_CASES = {  # `runcomfy batch`: exit 1 when an input ended in an error
    "output keys: traversal, absolute, NUL, escape, 5,000 chars, clashes": 0,
    "existing file in DIR": 1,
    "download: trickling body": 1,
    "request id: traversal": 1,
}


# --- the four ways -----------------------------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    error: Exception | None = None
    exit_code: int | None = None
    stderr: str = ""
    stdout: str = ""
    paths: list[Path] = dataclasses.field(default_factory=list)
    took: float = 0.0


def sync_client(server: HostileServer, run: Run) -> Client:
    return Client(token=run.token, base_url=server.url, retry=NO_RETRY, poll=FAST_POLL, timeout=10)


def run_sync(server: HostileServer, run: Run, case: Case) -> Outcome:
    try:
        with sync_client(server, run) as client:
            result = client.run(edit.Input(prompt="p", image_urls=[IMAGE]), timeout=10)
            return Outcome(paths=result.save(run.out, **case.save))
    except RunComfyError as error:  # anything else fails the test: no untyped error, no traceback
        return Outcome(error=error)


def run_async(server: HostileServer, run: Run, case: Case) -> Outcome:
    async def main() -> Outcome:
        async with AsyncClient(token=run.token, base_url=server.url, retry=NO_RETRY, poll=FAST_POLL) as client:
            try:
                result = await client.run(edit.Input(prompt="p", image_urls=[IMAGE]), timeout=10)
                return Outcome(paths=await asyncio.to_thread(result.save, run.out, **case.save))
            except RunComfyError as error:
                return Outcome(error=error)

    return asyncio.run(main())


def run_map(server: HostileServer, run: Run, case: Case) -> Outcome:
    limits = {
        "download_timeout": case.save.get("timeout", _core.DOWNLOAD_TIMEOUT),
        "max_download_bytes": case.save.get("max_bytes", _core.MAX_DOWNLOAD_BYTES),
    }
    inputs = [{"prompt": "p", "image_urls": [IMAGE]}]
    items = list(runcomfy.map(edit, inputs, client=sync_client(server, run), timeout=10, save_to=run.out, **limits))
    assert len(items) == 1
    return Outcome(error=items[0].error, paths=items[0].files)


def cli_env(server: HostileServer, token: str = TOKEN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNCOMFY_")}
    env.update(RUNCOMFY_API_TOKEN=token, RUNCOMFY_BASE_URL=server.url)
    return env


@dataclasses.dataclass
class Launch:
    """A command started in the background: the suite starts them all at once (each takes most of a
    second to start and poll, little CPU), and each test waits for its own."""

    run: Run
    before: dict[str, bytes | str]
    process: subprocess.Popen[str]
    started: float

    def outcome(self) -> Outcome:
        stdout, stderr = self.process.communicate(timeout=60)
        took = time.monotonic() - self.started
        return Outcome(exit_code=self.process.returncode, stdout=stdout, stderr=stderr, took=took)


def launch(server: HostileServer, run: Run, argv: list[str]) -> Launch:
    before = snapshot(run.tmp)
    process = subprocess.Popen(
        [sys.executable, "-m", "runcomfy.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=cli_env(server, run.token),
    )
    return Launch(run, before, process, time.monotonic())


def cli_run_argv(run: Run, case: Case) -> list[str]:
    return ["run", EDIT, "--prompt", "p", "--image-urls", IMAGE, "--out", str(run.out), "--quiet", "--json", *case.cli]


def cli_batch_argv(run: Run, case: Case) -> list[str]:
    inputs = run.tmp / "inputs.jsonl"
    inputs.write_text(json.dumps({"prompt": "p", "image_urls": [IMAGE]}) + "\n")
    return ["batch", EDIT, str(inputs), "--out", str(run.out), "--quiet", "--json", "--timeout", "20", *case.cli]


@pytest.fixture(scope="module")
def launched(
    server: HostileServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[tuple[str, str], Launch]]:
    """Every command of the suite, started at once: ``(way, case name)`` → :class:`Launch`."""
    launches: dict[tuple[str, str], Launch] = {}
    try:
        for name, case in CASES.items():
            if name not in CLI_SKIPS:
                run = prepare(server, tmp_path_factory.mktemp("cli"), case)
                launches["cli run", name] = launch(server, run, cli_run_argv(run, case))
        for name in BATCH_CASES:
            run = prepare(server, tmp_path_factory.mktemp("batch"), CASES[name])
            launches["cli batch", name] = launch(server, run, cli_batch_argv(run, CASES[name]))
        yield launches
    finally:
        for started in launches.values():  # only the processes started here
            if started.process.poll() is None:
                started.process.kill()
            started.process.communicate()


RUNNERS: dict[str, Callable[[HostileServer, Run, Case], Outcome]] = {
    "Client": run_sync,
    "AsyncClient": run_async,
    "map": run_map,
    "cli run": lambda *_: Outcome(),  # launched by the fixture
}


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file and symlink below ``root``: its bytes, or where a symlink points."""
    found: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            found[os.path.relpath(path, root)] = (
                "-> " + os.readlink(path) if os.path.islink(path) else Path(path).read_bytes()
            )
    return found


def prepare(server: HostileServer, tmp: Path, case: Case) -> Run:
    """A run of ``case`` in ``tmp``: DIR is ``tmp/a/b/out`` (so that ``../../..`` still lands inside
    ``tmp``, where it is seen), with a file outside it, and the existing file or symlink of the case."""
    run = server.add(case.scenario, tmp)
    run.out.mkdir(parents=True)
    precious = tmp / "precious.txt"
    precious.write_bytes(b"precious")
    for name in ("job-1_images_0.png", "a.png"):  # the library's name for the output, and the command's
        if case.existing == "file":
            (run.out / name).write_bytes(b"mine")
        elif case.existing == "symlink":
            (run.out / name).symlink_to(precious)
    return run


def check_files(run: Run, before: dict[str, bytes | str], plain: re.Pattern[str] = PLAIN_NAME) -> set[Path]:
    """Nothing changed or appeared outside DIR, nothing existing changed, no partial file: the new files."""
    after = snapshot(run.tmp)
    changed = {path for path in before if after.get(path) != before[path]}
    assert not changed, f"existing files changed: {changed}"
    new = {run.tmp / path for path in set(after) - set(before) if not path.endswith("journal.jsonl")}
    assert all(path.parent == run.out for path in new), f"written outside DIR: {new}"
    assert all(plain.fullmatch(path.name) and len(path.name) <= 200 for path in new), new
    return new


def check_token(server: HostileServer, run: Run, case: Case) -> None:
    """The token went to the API only: never with a download, never to the foreign host."""
    calls = server.calls_of(run)
    assert all(call.authorization == f"Bearer {run.token}" for call in calls if call.path.startswith("/v1/"))
    assert not [call for call in calls if call.path.startswith("/files/") and call.authorization]
    assert not [call for call in server.calls if call.server == "foreign" and call.authorization]
    assert any(call.server == "foreign" for call in calls) == case.foreign_download


@pytest.mark.parametrize("way", list(RUNNERS))
@pytest.mark.parametrize("name", list(CASES))
def test_a_hostile_server_writes_nothing_outside_dir_replaces_nothing_and_gets_no_token(
    server: HostileServer, launched: dict[tuple[str, str], Launch], tmp_path: Path, name: str, way: str
) -> None:
    case = CASES[name]
    if way == "cli run":
        if name in CLI_SKIPS:
            pytest.skip("the command has no size cap flag")
        started = launched[way, name]
        run, before, outcome = started.run, started.before, started.outcome()
    else:
        run = prepare(server, tmp_path, case)
        before = snapshot(tmp_path)
        began = time.monotonic()
        outcome = RUNNERS[way](server, run, case)
        assert time.monotonic() - began < 15  # the trickle and the retries are bounded (the bug: forever)
    new = check_files(run, before, CLI_NAME if way == "cli run" else PLAIN_NAME)

    if way == "cli run":
        assert "Traceback" not in outcome.stderr
        code, files = CLI_EXPECTED[name]
        assert outcome.exit_code == code, outcome.stderr
        assert len(new) == files and all(path.read_bytes() == PNG for path in new)
        assert code == 0 or json.loads(outcome.stderr)["error"], outcome.stderr  # --json: the error as JSON
        if case.scenario.raw_result is not None:  # a deeply nested answer: its error names the job
            assert "request job-1" in outcome.stderr
        if name.startswith("request id"):  # the bad id went into no URL: only the submit was made
            assert [(call.method, call.path.split("/")[1]) for call in server.calls_of(run)] == [("POST", "v1")]
        check_token(server, run, dataclasses.replace(case, foreign_download=False))  # never another host
        return
    if case.error is None:
        assert outcome.error is None, repr(outcome.error)
        assert len(outcome.paths) == case.files == len(new) and set(outcome.paths) == new
        assert all(path.read_bytes() == PNG for path in new)
    else:
        assert isinstance(outcome.error, case.error), repr(outcome.error)
        assert not new
    if case.scenario.raw_result is not None:  # a deeply nested answer: its error names the job
        assert "request job-1" in str(outcome.error)
    if name.startswith("request id"):  # the bad id went into no URL: only the submit was made
        assert [(call.method, call.path.split("/")[1]) for call in server.calls_of(run)] == [("POST", "v1")]
    check_token(server, run, case)


@pytest.mark.parametrize("name", list(BATCH_CASES))
def test_runcomfy_batch_against_the_hostile_server(
    server: HostileServer, launched: dict[tuple[str, str], Launch], name: str
) -> None:
    case, started = CASES[name], launched["cli batch", name]
    outcome = started.outcome()
    assert outcome.exit_code == BATCH_CASES[name], outcome.stderr
    assert "Traceback" not in outcome.stderr
    new = check_files(started.run, started.before)
    assert len(new) == case.files
    item = json.loads(outcome.stdout)
    if case.error is not None:
        assert not item["ok"] and item["error"] == case.error.__name__
    check_token(server, started.run, case)


def test_overwrite_replaces_an_existing_file_and_a_symlink_without_following_it(
    server: HostileServer, tmp_path: Path
) -> None:
    case = CASES["existing symlink out of DIR"]
    run = prepare(server, tmp_path, case)
    outcome = run_sync(server, run, dataclasses.replace(case, save={"overwrite": True}))
    target = run.out / "job-1_images_0.png"
    assert outcome.error is None and outcome.paths == [target]
    assert not target.is_symlink() and target.read_bytes() == PNG
    assert (tmp_path / "precious.txt").read_bytes() == b"precious"
    target = run.out / "a.png"  # the command names the file after its URL
    assert target.is_symlink()
    argv = [*cli_run_argv(run, case), "--overwrite"]
    done = subprocess.run(
        [sys.executable, "-m", "runcomfy.cli", *argv],
        capture_output=True,
        text=True,
        env=cli_env(server, run.token),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert not target.is_symlink() and target.read_bytes() == PNG
    assert (tmp_path / "precious.txt").read_bytes() == b"precious"


def test_a_handle_pointing_elsewhere_is_refused_and_the_foreign_host_sees_nothing(
    server: HostileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = server.add(Scenario(), tmp_path)
    monkeypatch.setenv("RUNCOMFY_API_TOKEN", run.token)
    monkeypatch.setenv("RUNCOMFY_BASE_URL", server.url)
    monkeypatch.setattr(runcomfy.client, "_default", None)
    monkeypatch.setattr(runcomfy.async_client, "_default", None)
    data = {"request_id": "job-1", "model_id": EDIT, "base_url": server.foreign_url}
    with pytest.raises(ForeignHandleError):
        RequestHandle.from_dict(data)
    with pytest.raises(ForeignHandleError):
        AsyncRequestHandle.from_dict(data)
    with pytest.raises(ForeignHandleError):  # a client of the configured URL does not make it fine either
        RequestHandle.from_dict(json.loads(json.dumps(data)), client=sync_client(server, run))
    with pytest.raises(ForeignHandleError):
        AsyncRequestHandle.from_dict(data, client=AsyncClient(token=run.token, base_url=server.url))
    assert not server.calls_of(run)
    mine = RequestHandle.from_dict({**data, "base_url": server.url})
    assert mine.result(timeout=5).request_id == "job-1"
    assert not [call for call in server.calls_of(run) if call.server == "foreign"]
    assert server.calls_of(run) and all(call.authorization for call in server.calls_of(run))


# --- the mechanisms, one at a time ------------------------------------------------------------------


@pytest.mark.parametrize("key", [*HOSTILE_KEYS, "", ".", "..", "CON", "a" * 48, "a" * 49, "\u202etxt.exe", "\ud800"])
def test_output_names_are_plain_bounded_and_unique(key: str) -> None:
    taken: set[str] = set()
    names = [
        _core.output_name("job-1", key, n, f"https://h/x{suffix}", taken=taken)
        for n, suffix in enumerate(["", ".png?x=/..", ".a/b", ".p\x00g", ".verylongext"])
    ]
    for name in names:
        assert PLAIN_NAME.fullmatch(name) and len(name) <= 120 and name.startswith("job-1_"), name
        assert _core.inside(Path("/d"), name) == Path("/d", name)
    assert names[1].endswith(".png") and names[0].endswith(".bin") and names[3].endswith(".bin")
    assert len({name.casefold() for name in names}) == len(names)


def test_two_outputs_of_one_job_never_share_a_name() -> None:
    output = {
        "a/b": ["https://h/1.png"],
        "a_b": ["https://h/2.png"],
        "A_B": "https://h/3.png",
        "a:b": "https://h/4.png",
    }
    result: Result[Any] = Result("job-1", None, output, raw={"output": output})
    names = [path.name.casefold() for _, path in result.targets("d")]
    assert len(names) == 4 == len(set(names))


@pytest.mark.parametrize("bad", ["/abs/x", "a/../../X", "x?y=1", "x#y", "..", "", "a b", "a\x00", "é", "r" * 129])
def test_request_ids_are_checked_before_any_call(bad: str) -> None:
    client = Client(token="t", base_url="http://127.0.0.1:9", retry=NO_RETRY)  # nothing listens there
    for call in (client.status, client.cancel, client.get_request, _core.result_path):
        with pytest.raises(InvalidIdError) as caught:
            call(bad)
        assert caught.value.value == bad and isinstance(caught.value, ValueError)
    with pytest.raises(BadAnswerError):
        _core.submitted_id({"request_id": bad or "/"})
    with pytest.raises(InvalidIdError):
        Result(bad, None, {}, raw={"output": {"image": "https://h/x.png"}}).targets("d")


def test_request_ids_the_api_sends_are_accepted_and_sent_as_one_segment() -> None:
    for good in ("0b8f2f8e-6c1a-4d0e-9a57-3f5c6f1f0a9b", "abc_DEF-123", "r" * 128):
        assert _core.status_path(good) == f"/v1/requests/{good}/status"
        assert _core.submitted_id({"request_id": good}) == good


@pytest.mark.parametrize("bad", ["a", "a/b/c/d/e/f", "a/../b", "a/./b", "a//b", "/a/b", "a/b?x=1", "a/b%2F", "a/ b", 5])
def test_model_ids_are_checked(bad: Any) -> None:
    with pytest.raises(InvalidIdError):
        _core.submit_path(bad)


def test_model_ids_of_the_catalog_are_accepted() -> None:
    from runcomfy.models import CATALOG

    assert all(_core.submit_path(model_id) == f"/v1/models/{model_id}" for model_id in CATALOG)
    assert _core.submit_path("kling/kling-video-o3/4K/a_b") == "/v1/models/kling/kling-video-o3/4K/a_b"


def test_the_cli_refuses_a_malformed_request_id_with_exit_65(server: HostileServer, tmp_path: Path) -> None:
    run = server.add(Scenario(), tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "runcomfy.cli", "status", "a/../../X"],
        capture_output=True,
        text=True,
        env=cli_env(server, run.token),
        timeout=60,
    )
    assert done.returncode == 65 and "not a request id: 'a/../../X'" in done.stderr and "Traceback" not in done.stderr
    assert not server.calls_of(run)


def test_a_deeply_nested_answer_is_a_bad_answer_error_with_its_request_id() -> None:
    for body in (NESTED_TOO_DEEP, NESTED_500, b"[" * 65 + b"]" * 65):
        error = _core.parse_answer(200, body, request_id="job-1")
        assert isinstance(error, BadAnswerError) and error.request_id == "job-1"
    assert isinstance(_core.parse_answer(500, NESTED_TOO_DEEP, request_id="job-1"), runcomfy.ServerError)
    assert _core.parse_answer(200, b'{"a": ' + b"[" * 60 + b"]" * 60 + b"}", request_id=None) == {"a": _nested(60)}


def _nested(levels: int) -> Any:
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_output_urls_is_linear_and_bounded_in_depth() -> None:
    urls = [f"https://h/{n}.png" for n in range(100_000)]
    output = edit.Output.from_dict({"images": urls, "more": {"nested": urls[:10]}, "deep": _nested(10_000)})
    started = time.monotonic()
    found = output.urls()
    assert time.monotonic() - started < 10  # the quadratic version took about a minute here
    assert found == urls
    assert edit.Output.from_dict({"x": ["https://h/a", "file:///etc/passwd", "https://h/a"]}).urls() == ["https://h/a"]


def test_the_commands_output_urls_are_linear_and_refuse_odd_ones() -> None:
    """``runcomfy run --output-dir`` collects an output's files with the same walker as ``Output.urls``: linear
    in the output (it was a list-membership test per URL) and without recursion."""
    from runcomfy._cli_save import output_urls

    urls = [f"https://h/{n}.png" for n in range(100_000)]
    started = time.monotonic()
    found = output_urls({"images": urls, "again": urls[:10], "deep": _nested(10_000)}, request_id="r")
    assert time.monotonic() - started < 10  # the quadratic version takes minutes here
    assert found == urls
    with pytest.raises(BadAnswerError):
        output_urls({"x": ["https://h/a", "file:///etc/passwd"]}, request_id="r")


def test_no_overwrite_placement_is_atomic_against_a_file_appearing_meanwhile(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    with pytest.raises(OutputExistsError), _http.atomic_file(target) as out:
        out.write(b"downloaded")
        target.write_bytes(b"someone else's")  # appears after the first check
    assert target.read_bytes() == b"someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]  # no temporary left
    with _http.atomic_file(target, overwrite=True) as out:
        out.write(b"downloaded")
    assert target.read_bytes() == b"downloaded"


def test_a_save_is_all_or_nothing(server: HostileServer, tmp_path: Path) -> None:
    run = server.add(Scenario(output={"images": [file_url("png", "1.png"), file_url("nothing", "2.png")]}), tmp_path)
    with sync_client(server, run) as client:
        result = client.run(edit.Input(prompt="p", image_urls=[IMAGE]), timeout=10)
    with pytest.raises(runcomfy.NotFoundError):
        result.save(tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []  # the first file, saved, was removed again


def test_download_limits_are_checked_by_the_shared_decisions() -> None:
    plan = _core.Download("https://h/x.png", timeout=60, max_bytes=10)
    with pytest.raises(DownloadError, match="11 bytes announced"):
        plan.accept(200, {"content-length": "11"})
    plan.take(10)
    with pytest.raises(DownloadError, match="more than the 10 bytes"):
        plan.take(1)
    redirects = _core.Download("https://h/x.png?sig=secret", timeout=60, max_bytes=10)
    assert redirects.redirected(302, {"location": "/y.png"}) and redirects.url == "https://h/y.png"
    with pytest.raises(DownloadError, match="file:///etc/passwd") as caught:
        redirects.redirected(302, {"location": "file:///etc/passwd"})
    assert "secret" not in str(caught.value)
    late = _core.Download("https://h/x.png", timeout=0.0, max_bytes=10)
    time.sleep(0.01)
    with pytest.raises(DownloadError, match="not downloaded within"):
        late.take(1)
    with pytest.raises(BadAnswerError):
        _core.Download("file:///etc/passwd", timeout=1, max_bytes=1)
