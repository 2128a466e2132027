"""`runcomfy` speaks the dialect of RunComfy's own CLI (runcomfy-com/runcomfy-cli) for the Model API.

A user with its habits, or a script written for it, gets the same flags, environment, token file, JSON
documents and exit codes here: each test drives the command as a subprocess against a local emulator,
configured only the way RunComfy's CLI is (``RUNCOMFY_TOKEN``, ``RUNCOMFY_MODEL_API_BASE``), unless it
says otherwise. See docs/cli.md for the whole CLI and where it deliberately differs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from runcomfy import _cli_save, cli
from runcomfy.testing import Emulator

EDIT = "google/nano-banana-2/edit"
STATUS_KEYS = ["request_id", "status", "queue_position", "status_url", "result_url"]


def official_env(emu: Emulator | None, **extra: str) -> dict[str, str]:
    """The environment RunComfy's CLI is configured with (and nothing of this client's own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNCOMFY_", "XDG_CONFIG_HOME", "NO_COLOR"))}
    env["XDG_CONFIG_HOME"] = "/nonexistent-config"  # no token file from the machine running the tests
    if emu is not None:
        env.update(RUNCOMFY_TOKEN=emu.token, RUNCOMFY_MODEL_API_BASE=f"{emu.base_url}/v1")
    env.update(extra)
    return env


def runcomfy(
    emu: Emulator | None, *args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runcomfy.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=official_env(emu) if env is None else env,
        cwd=cwd,
        timeout=30,
    )


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = zlib.compress((b"\x00" + b"\xff\x00\x00" * 2) * 2)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


IMAGE: list[str] = []  # the input image's URL, served by the module's emulator


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(processing_time=0.2, max_side=32) as emulator:
        IMAGE[:] = [emulator.add_file("in.png", png_bytes(), "image/png")]
        yield emulator


@pytest.fixture
def queued() -> Iterator[Emulator]:
    with Emulator(queue_time=60.0, max_side=32) as emulator:
        yield emulator


def prompt(text: str, **more: object) -> str:
    """An input of the edit model as JSON: ``text`` and the emulator's image, and ``more``."""
    return json.dumps({"prompt": text, "image_urls": IMAGE or ["https://example.com/a.png"], **more})


# --- run, --no-wait, status, result, cancel: the JSON documents ---------------------------------------------


def test_run_with_inline_json_prints_the_output_and_downloads_into_the_current_directory(
    emu: Emulator, tmp_path: Path
) -> None:
    done = runcomfy(emu, "--output", "json", "run", EDIT, "--input", prompt("a cat", num_images=2), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # JSON mode: stderr stays empty
    output = json.loads(done.stdout)  # one document: the output object
    assert done.stdout.count("\n") == 1 and list(output) == ["images", "cost"]  # and the cost the API reported
    assert all(url.startswith(emu.base_url) for url in output["images"])  # the emulator, not the real host
    assert sorted(path.name for path in tmp_path.iterdir()) == ["image_1.png", "image_2.png"]
    job = next(job for job in emu.jobs.values() if job.input.get("prompt") == "a cat")
    assert job.input == {"prompt": "a cat", "image_urls": IMAGE, "num_images": 2}


def test_no_wait_then_status_result_and_the_requests_aliases(emu: Emulator, tmp_path: Path) -> None:
    done = runcomfy(emu, "run", EDIT, "--input", prompt("later"), "--no-wait", "--output", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    submitted = json.loads(done.stdout)
    assert list(submitted) == ["request_id", "wait"] and submitted["wait"] is False
    request_id = submitted["request_id"]
    assert list(tmp_path.iterdir()) == []

    status = json.loads(runcomfy(emu, "status", request_id, "--output", "json", cwd=tmp_path).stdout)
    assert list(status)[:5] == STATUS_KEYS and status["request_id"] == request_id
    same = runcomfy(emu, "--output", "json", "requests", "get", request_id, cwd=tmp_path)
    assert json.loads(same.stdout)["request_id"] == request_id

    done = runcomfy(emu, "wait", request_id, "--no-download", "-q", cwd=tmp_path)  # ours: wait for it
    assert done.returncode == 0, done.stderr
    done = runcomfy(emu, "result", request_id, "--output", "json", "--output-dir", "got", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)  # `result` prints the whole record
    assert {"request_id", "status", "output", "created_at", "finished_at"} <= set(record)
    assert record["status"] == "succeeded" and record["request_id"] == request_id
    assert [path.name for path in (tmp_path / "got").iterdir()] == ["image_1.png"]
    done = runcomfy(emu, "requests", "result", request_id, "--no-download", "--output", "json", cwd=tmp_path)
    assert json.loads(done.stdout) == record

    done = runcomfy(emu, "cancel", request_id, "--output", "json", cwd=tmp_path)
    assert done.returncode == 0  # a finished job: not cancellable, not an error
    cancel = json.loads(done.stdout)
    assert list(cancel) == ["request_id", "status", "outcome"] and cancel["outcome"] == "not_cancellable"


def test_cancel_of_a_queued_job_and_the_pretty_documents(queued: Emulator, tmp_path: Path) -> None:
    done = runcomfy(queued, "run", EDIT, "--input", prompt("q"), "--no-wait", cwd=tmp_path)
    assert json.loads(done.stdout)["wait"] is False  # pretty mode: the same document, indented
    request_id = json.loads(done.stdout)["request_id"]
    lines = runcomfy(queued, "status", request_id, cwd=tmp_path).stdout.splitlines()
    assert lines[:3] == [f"request_id: {request_id}", "status:     in_queue", "queue:      position 1"]
    done = runcomfy(queued, "requests", "cancel", request_id, "--output", "json", cwd=tmp_path)
    assert json.loads(done.stdout) == {"request_id": request_id, "status": "cancelled", "outcome": "cancelled"}
    done = runcomfy(queued, "result", request_id, cwd=tmp_path)
    assert done.returncode == 1 and json.loads(done.stdout)["status"] == "cancelled"  # record, then the error
    assert "was cancelled" in done.stderr


def test_input_file_and_stdin(emu: Emulator, tmp_path: Path) -> None:
    spec = tmp_path / "req.json"
    spec.write_text(prompt("from a file"))
    done = runcomfy(emu, "run", EDIT, "--input-file", str(spec), "--no-wait", "--json", cwd=tmp_path)
    assert emu.jobs[json.loads(done.stdout)["request_id"]].input["prompt"] == "from a file"
    done = runcomfy(emu, "run", EDIT, "--input-file", "-", "--no-wait", "--json", cwd=tmp_path, stdin=prompt("piped"))
    assert emu.jobs[json.loads(done.stdout)["request_id"]].input["prompt"] == "piped"


# --- downloads ---------------------------------------------------------------------------------------------------


def test_output_dir_names_files_after_the_url_and_numbers_clashes(emu: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "image_1.png").write_bytes(b"mine")
    for _ in range(2):
        done = runcomfy(emu, "run", EDIT, "--input", prompt("clash"), "--output-dir", str(out), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in out.iterdir()) == ["image_1-1.png", "image_1-2.png", "image_1.png"]
    assert (out / "image_1.png").read_bytes() == b"mine"  # never replaced
    assert f"runcomfy: saved {out / 'image_1-2.png'}" in done.stderr
    done = runcomfy(emu, "run", EDIT, "--input", prompt("o"), "--output-dir", str(out), "--overwrite", cwd=tmp_path)
    assert done.returncode == 0 and (out / "image_1.png").read_bytes().startswith(b"\x89PNG")  # ours: asked for


def test_no_download_prints_the_urls_and_writes_nothing(emu: Emulator, tmp_path: Path) -> None:
    done = runcomfy(emu, "run", EDIT, "--input", prompt("n"), "--no-download", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["images"][0].startswith(f"{emu.base_url}/files/")
    assert list(tmp_path.iterdir()) == []


def test_a_download_from_another_host_is_refused(emu: Emulator, tmp_path: Path) -> None:
    """The API is reached as localhost, the files are on 127.0.0.1: not the API's host, not RunComfy's."""
    port = emu.base_url.rsplit(":", 1)[1]
    env = official_env(emu, RUNCOMFY_MODEL_API_BASE=f"http://localhost:{port}/v1")
    done = runcomfy(emu, "run", EDIT, "--input", prompt("elsewhere"), env=env, cwd=tmp_path)
    assert done.returncode == 74, done.stderr
    assert "not downloaded: 1 output URL(s) on a host other than RunComfy's storage" in done.stderr
    assert "--no-download skips downloading" in done.stderr
    assert json.loads(done.stdout)["images"][0].startswith("http://127.0.0.1:")  # the output is still printed
    assert list(tmp_path.iterdir()) == []


def test_downloads_are_allowed_from_runcomfy_storage_and_the_api_host_only() -> None:
    allowed = _cli_save.allowed_hosts("http://127.0.0.1:8787")
    for url in (
        "https://playgrounds-storage-public.runcomfy.net/a/b.png",
        "http://files.runcomfy.com/x.mp4?sig=1",
        "https://user:pw@cdn.runcomfy.net:443/x",
        "http://127.0.0.1:8787/files/x.png",
    ):
        assert allowed(url), url
    for url in (
        "https://runcomfy.net.evil.com/x",
        "https://evil.example.com/runcomfy.net/x",
        "https://cdn.runcomfy.net@evil.example.com/x",
        "https://evil.example.com/?u=https://cdn.runcomfy.net",
        "https://127.0.0.1\\@cdn.runcomfy.net/x",
        "ftp://files.runcomfy.net/x",
        "http://127.0.0.1:8788/files/x.png",  # another port
        "http://localhost:8787/files/x.png",
        "not a url",
    ):
        assert not allowed(url), url


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://x.runcomfy.net/a/b.png?x=1#f", "b.png"),
        ("https://x.runcomfy.net/", "output"),
        ("https://x.runcomfy.net/a/..", "output"),
        ("https://x.runcomfy.net/a/..\\victim", "_victim"),
        ("https://x.runcomfy.net/a/con:fig%3F.txt", "con_fig%3F.txt"),
        ("https://x.runcomfy.net/a/\u202eevil\x1b.png", "_evil_.png"),
        ("https://x.runcomfy.net/-rf", "_rf"),
        ("https://x.runcomfy.net/" + "a" * 300 + ".png", "a" * 196 + ".png"),
    ],
)
def test_output_file_names_are_one_plain_name(url: str, name: str) -> None:
    assert _cli_save.file_name(url) == name


# --- environment and the token file ---------------------------------------------------------------------------


def test_the_token_file_of_runcomfy_login_is_read(emu: Emulator, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    login = {"access_token": emu.token, "refresh_token": None, "expires_at": None, "user_email": "a@b.c"}
    (config / "token.json").write_text(json.dumps(login))
    base = {"RUNCOMFY_MODEL_API_BASE": f"{emu.base_url}/v1"}
    env = official_env(None, RUNCOMFY_CONFIG_DIR=str(config), **base)
    done = runcomfy(None, "status", "nope", "-v", env=env, cwd=tmp_path)
    assert done.returncode == 65 and f"token from {config / 'token.json'}" in done.stderr  # it got to the API
    xdg = tmp_path / "xdg"
    (xdg / "runcomfy").mkdir(parents=True)
    shutil.copy(config / "token.json", xdg / "runcomfy" / "token.json")
    env = official_env(None, XDG_CONFIG_HOME=str(xdg), **base)
    assert runcomfy(None, "status", "nope", env=env, cwd=tmp_path).returncode == 65
    # the environment goes before the file: a refused token there is refused (77)
    env = official_env(None, RUNCOMFY_CONFIG_DIR=str(config), RUNCOMFY_TOKEN="wrong", **base)
    assert runcomfy(None, "status", "nope", env=env, cwd=tmp_path).returncode == 77
    (config / "token.json").write_text("{not json")
    env = official_env(None, RUNCOMFY_CONFIG_DIR=str(config), **base)
    done = runcomfy(None, "status", "nope", env=env, cwd=tmp_path)
    assert done.returncode == 77 and "is not the JSON object `runcomfy login` writes" in done.stderr


def test_token_and_base_url_precedence(emu: Emulator, tmp_path: Path) -> None:
    ours = official_env(emu, RUNCOMFY_API_TOKEN=emu.token, RUNCOMFY_TOKEN="wrong")  # ours first
    assert runcomfy(emu, "status", "nope", env=ours, cwd=tmp_path).returncode == 65
    blank = official_env(emu, RUNCOMFY_API_TOKEN="  ")  # blank is unset: RUNCOMFY_TOKEN is used
    assert runcomfy(emu, "status", "nope", env=blank, cwd=tmp_path).returncode == 65
    flag = runcomfy(emu, "--token", "wrong", "status", "nope", cwd=tmp_path)
    assert flag.returncode == 77
    nowhere = official_env(emu, RUNCOMFY_BASE_URL="http://127.0.0.1:9")  # ours goes before RunComfy's
    assert runcomfy(emu, "status", "nope", env=nowhere, cwd=tmp_path).returncode == 69
    no_v1 = official_env(emu, RUNCOMFY_MODEL_API_BASE=emu.base_url)
    done = runcomfy(emu, "status", "nope", env=no_v1, cwd=tmp_path)
    assert done.returncode == 64 and "does not end in /v1" in done.stderr


# --- the parser: no abbreviations, did you mean ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["run", EDIT, "--num", "3"], "--num: did you mean --num-images?"),
        (["run", EDIT, "--promt", "x"], "--promt: did you mean --prompt?"),
        (["run", EDIT, "--input-fil", "x.json"], "--input-fil: did you mean --input-file?"),
        (["run", EDIT, "--no-wai"], "--no-wai: did you mean --no-wait?"),
        (["models", "list", "--lim", "3"], "--lim: did you mean --limit?"),
        (["stauts", "x"], "unknown command 'stauts'; did you mean status?"),
        (["models", "lst"], "unknown command 'lst'; did you mean list?"),
        (["--outptu", "json", "status", "x"], "--outptu: did you mean --output?"),
    ],
)
def test_abbreviations_are_refused_and_mistakes_get_a_did_you_mean(argv: list[str], hint: str, tmp_path: Path) -> None:
    done = runcomfy(None, *argv, cwd=tmp_path)
    assert done.returncode == 64, done.stderr
    assert hint in done.stderr, done.stderr


# --- exit codes ----------------------------------------------------------------------------------------------------


def test_exit_codes_of_each_error_class(emu: Emulator, queued: Emulator, tmp_path: Path) -> None:
    def code(*argv: str, server: Emulator = emu, env: dict[str, str] | None = None) -> int:
        return runcomfy(server, *argv, cwd=tmp_path, env=env).returncode

    calls = len(emu.calls)
    assert code("run", EDIT, "--input", "{}", "--input-file", "x.json") == 64  # usage
    assert code("models", "list", "--limit", "501") == 64
    assert code("-q", "-v", "status", "x") == 64
    assert code("run", EDIT, "--input", '{"prompt": ') == 65  # malformed JSON
    assert code("run", EDIT, "--input", "[1, 2]") == 65  # not an object
    assert code("run", EDIT, "--input", prompt("x", num_images=99)) == 65  # the schema, before any call
    assert code("run", "not-a-model-id", "--input", "{}") == 65
    assert code("run", EDIT, "--input-file", str(tmp_path / "missing.json")) == 66
    assert len(emu.calls) == calls  # none of these sent anything
    assert code("status", "0b8f2f8e-6c1a-4d0e-9a57-3f5c6f1f0a9b") == 65  # HTTP 404
    assert code("status", "x", env=official_env(None)) == 77  # no token anywhere
    assert code("status", "x", env=official_env(emu, RUNCOMFY_TOKEN="wrong")) == 77  # refused
    # 69 (unreachable): test_token_and_base_url_precedence; 5xx and the others: the test below
    emu.fail_next()
    assert code("run", EDIT, "--input", prompt("fails"), "--no-download") == 1
    assert code("run", EDIT, "--input", prompt("slow"), "--timeout", "0.5", server=queued) == 75
    assert code("login") == 64


def test_exit_codes_of_the_api_errors_follow_runcomfys_cli() -> None:
    """By HTTP status, as RunComfy's CLI classifies them (401/403 77, 408/429 75, 5xx 69, other 4xx 65)."""
    from runcomfy import errors
    from runcomfy._cli_common import exit_code_of

    cases = {
        errors.AuthenticationError("t", status_code=401): 77,
        errors.AuthenticationError("t", status_code=400, error_code=400004): 77,
        errors.RateLimitError("r", status_code=429): 75,
        errors.APIError("x", status_code=408): 75,
        errors.ServerError("s", status_code=503): 69,
        errors.BadAnswerError("b"): 69,
        errors.APIConnectionError("c"): 69,
        errors.SubmitUncertainError("u"): 1,  # the job may exist: not "retryable"
        errors.InsufficientBalanceError("b", status_code=402): 65,
        errors.NotFoundError("n", status_code=404): 65,
        errors.InvalidInputError("i", status_code=422): 65,
        errors.APIError("t", status_code=418): 65,
        errors.JobFailedError("r", "e"): 1,
        errors.JobCancelledError("r"): 1,
        errors.TimeoutError("r", 1.0): 75,
        errors.DownloadError("d", url="u"): 74,
        errors.OutputExistsError("p"): 74,
    }
    assert {repr(error): exit_code_of(error) for error in cases} == {repr(e): code for e, code in cases.items()}


def test_errors_in_json_mode_are_one_json_document_on_stderr(tmp_path: Path) -> None:
    done = runcomfy(None, "--output", "json", "run", EDIT, "--input", "{nope", cwd=tmp_path)
    assert done.returncode == 65 and done.stdout == ""
    assert json.loads(done.stderr)["error"].startswith("invalid input JSON: --input: ")


# --- models list | categories | get ------------------------------------------------------------------------


def test_models_list_categories_and_get(emu: Emulator, tmp_path: Path) -> None:
    page = json.loads(runcomfy(emu, "models", "list", "--limit", "2", "--offset", "1", "--json", cwd=tmp_path).stdout)
    assert set(page) == {"models", "total"} and len(page["models"]) == 2 and page["total"] > 50
    assert {"model_id", "display_name", "categories", "kind", "base_price_usd", "price_unit"} <= set(page["models"][0])
    assert "input_schema" not in page["models"][0]
    done = runcomfy(emu, "models", "list", "--search", "nano-banana-2/edit", "--include-schema", cwd=tmp_path)
    found = json.loads(done.stdout)  # --include-schema prints JSON in pretty mode too
    assert [entry["model_id"] for entry in found["models"]] == [EDIT] and "input_schema" in found["models"][0]
    done = runcomfy(emu, "models", "list", "--category", "text-to-image", "--limit", "3", cwd=tmp_path)
    assert done.stdout.splitlines()[0].split() == ["MODEL_ID", "NAME", "CATEGORY", "PRICE"]
    assert all("text-to-image" in line for line in done.stdout.splitlines()[1:])
    categories = json.loads(runcomfy(emu, "--output", "json", "models", "categories", cwd=tmp_path).stdout)
    assert set(categories) == {"categories"} and "text-to-image" in categories["categories"]
    assert "text-to-image" in runcomfy(emu, "models", "categories", cwd=tmp_path).stdout.splitlines()
    entry = json.loads(runcomfy(emu, "models", "get", EDIT, "--output", "json", cwd=tmp_path).stdout)
    assert entry["model_id"] == EDIT and entry["input_schema"]["required"] == ["prompt", "image_urls"]
    assert runcomfy(emu, "models", "get", "google/nope", cwd=tmp_path).returncode == 65


# --- completion, the rest ---------------------------------------------------------------------------------------


def bash_complete(script: Path, words: list[str]) -> list[str]:
    """What the bash completion offers for ``words`` (the last one being completed)."""
    line = " ".join(words)
    program = (
        f"source {script}\n"
        f"COMP_WORDS=({' '.join(json.dumps(word) for word in words)})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        f"COMP_LINE={json.dumps(line)}\n"
        "_runcomfy\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_completion_scripts(tmp_path: Path) -> None:
    scripts = {}
    for shell in ("bash", "zsh", "fish"):
        done = runcomfy(None, "completion", shell, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        scripts[shell] = tmp_path / f"runcomfy.{shell}"
        scripts[shell].write_text(done.stdout)
    assert subprocess.run(["bash", "-n", str(scripts["bash"])], capture_output=True).returncode == 0
    assert bash_complete(scripts["bash"], ["runcomfy", "mo"]) == ["models"]
    assert bash_complete(scripts["bash"], ["runcomfy", "models", ""]) == ["categories", "get", "list"]
    assert bash_complete(scripts["bash"], ["runcomfy", "--output", ""]) == ["pretty", "json"]
    assert EDIT in bash_complete(scripts["bash"], ["runcomfy", "--output", "json", "run", "google/nano-banana-2/e"])
    assert bash_complete(scripts["bash"], ["runcomfy", "run", EDIT, "--no-"]) == ["--no-download", "--no-wait"]
    assert bash_complete(scripts["bash"], ["runcomfy", "completion", ""]) == ["bash", "fish", "zsh"]
    assert scripts["zsh"].read_text().startswith("#compdef runcomfy")
    assert "compdef _runcomfy runcomfy" in scripts["zsh"].read_text()
    fish = scripts["fish"].read_text()
    assert "complete -c runcomfy -n __fish_use_subcommand -a " in fish and "-l output-dir -r -F" in fish
    for shell in ("zsh", "fish"):  # where the shell is installed, its own syntax check
        if shutil.which(shell):
            assert subprocess.run([shell, "-n", str(scripts[shell])], capture_output=True).returncode == 0


def test_no_color_and_term_dumb_turn_the_spinner_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert cli._color()
    monkeypatch.setenv("NO_COLOR", "")  # set, even empty, as RunComfy's CLI reads it
    assert not cli._color()
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert not cli._color()


def test_global_options_go_before_or_after_the_command(emu: Emulator, tmp_path: Path) -> None:
    for argv in (["-q", "--output", "json", "models", "categories"], ["models", "categories", "--output=json", "-q"]):
        done = runcomfy(emu, *argv, cwd=tmp_path)
        assert done.returncode == 0 and "categories" in json.loads(done.stdout)
    done = runcomfy(emu, "-v", "models", "categories", cwd=tmp_path)
    assert f"[v] API base URL {emu.base_url}; token from $RUNCOMFY_TOKEN" in done.stderr


def test_the_cli_modules_import_no_cycle() -> None:
    """``cli`` and ``_batch_cli`` share ``_cli_common``; ``_batch_cli`` imports neither ``cli`` nor back."""
    import runcomfy._batch_cli as batch_cli
    import runcomfy._cli_common as common

    imports = re.compile(r"^\s*(?:from\s+(\S+)\s+import\s+(.+)|import\s+(.+))$", re.MULTILINE)

    def imported(module: object) -> str:
        return " ".join(
            " ".join(filter(None, found)) for found in imports.findall(Path(str(module.__file__)).read_text())
        )

    assert not re.search(r"\.cli\b|\bcli\b", imported(batch_cli))
    assert "cli" not in imported(common).replace("_cli_", "")


def test_help_of_run_without_a_model_and_of_a_model(tmp_path: Path) -> None:
    done = runcomfy(None, "run", "--help", cwd=tmp_path)
    assert done.returncode == 0 and "--input-file PATH" in done.stdout and "--no-download" in done.stdout
    done = runcomfy(None, "run", EDIT, "--help", cwd=tmp_path)
    assert done.returncode == 0 and "--num-images INT" in done.stdout and "--output-dir DIR, --out DIR" in done.stdout
    done = runcomfy(None, "run", cwd=tmp_path)
    assert done.returncode == 64 and "no MODEL_ID" in done.stderr
