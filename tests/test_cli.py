"""The `runcomfy` command line, driven as a user would (subprocesses) against a local emulator."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from runcomfy.testing import Emulator

EDIT = "google/nano-banana-2/edit"
KLING = "kling/kling-3.0/pro/image-to-video"


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = (b"\x00" + b"\xff\x00\x00" * 4) * 4
    header = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def env_for(emu: Emulator | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNCOMFY_")}
    if emu is not None:
        env.update(RUNCOMFY_API_TOKEN=emu.token, RUNCOMFY_BASE_URL=emu.base_url)
    env.update(COLUMNS="200", **extra)  # help text on one line per field
    return env


WORKDIR: list[Path] = []  # the commands' working directory: `run` downloads into it by default


@pytest.fixture(scope="module", autouse=True)
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    WORKDIR[:] = [tmp_path_factory.mktemp("cwd")]
    yield WORKDIR[0]


def cli(emu: Emulator | None, *args: str, stdin: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runcomfy.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=env_for(emu, **extra),
        timeout=30,
        cwd=WORKDIR[0],
    )


def submitted_id(stderr: str) -> str:
    """The request id of ``runcomfy: submitted ID``, the first line of `run`'s progress."""
    first = stderr.splitlines()[0]
    assert first.startswith("runcomfy: submitted "), stderr
    return first.split()[-1]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(processing_time=0.3, max_side=64) as emulator:
        yield emulator


@pytest.fixture
def queued() -> Iterator[Emulator]:
    """Jobs stay queued for a minute."""
    with Emulator(queue_time=60.0, max_side=64) as emulator:
        yield emulator


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "in.png"
    path.write_bytes(png_bytes())
    return path


# --- import cost ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["--help"], ["describe", EDIT], ["models"], ["run", EDIT, "--help"]])
def test_light_commands_import_neither_requests_nor_every_model(argv: list[str]) -> None:
    code = (
        "import sys, contextlib, io\n"
        "import runcomfy.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        runcomfy.cli.main({argv!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert 'requests' not in sys.modules, 'requests imported'\n"
        "models = [m for m in sys.modules if m.startswith('runcomfy.models.') and hasattr(sys.modules[m], 'MODEL_ID')]\n"
        "assert len(models) <= 1, models\n"
        "print(len(models))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("0" if argv[0] in ("--help", "models") else "1")


# --- catalog commands --------------------------------------------------------------------------------------


def test_help_documents_exit_codes() -> None:
    done = cli(None, "--help")
    assert done.returncode == 0
    for line in ("0    success", "1    the job failed", "64   usage", "65   bad input data", "75   retryable", "130"):
        assert line in done.stdout
    for name in ("RUNCOMFY_API_TOKEN", "RUNCOMFY_TOKEN", "RUNCOMFY_MODEL_API_BASE", "NO_COLOR"):
        assert name in done.stdout


def test_models_search_and_json() -> None:
    done = cli(None, "models", "--search", "nano-banana-2/")
    assert done.returncode == 0
    line = next(line for line in done.stdout.splitlines() if line.startswith(EDIT + " "))
    assert "IMAGE" in line and "prompt, image_urls" in line
    data = json.loads(cli(None, "models", "--json").stdout)
    assert {"model_id": EDIT, "display_name": "Nano Banana 2 Edit", "output_type": "IMAGE"}.items() <= next(
        item for item in data if item["model_id"] == EDIT
    ).items()
    assert len(data) > 50


def test_describe_lists_every_field() -> None:
    done = cli(None, "describe", EDIT)
    assert done.returncode == 0
    out = done.stdout
    assert "image_urls (array of string, image_uri, required)  --image-urls" in out
    assert 'allowed: "jpeg", "png", "webp"' in out
    assert "default: 1" in out and "The number of images to generate." in out
    assert "limit_generations (boolean)" in out
    assert json.loads(cli(None, "describe", EDIT, "--json").stdout)["required"] == ["prompt", "image_urls"]


def test_unknown_model_suggests_close_ids() -> None:
    done = cli(None, "describe", "google/nano-banana-2/edt")
    assert done.returncode == 65  # as the API's 404 for a model is in RunComfy's CLI
    assert "unknown model 'google/nano-banana-2/edt'; did you mean: google/nano-banana-2/edit" in done.stderr
    done = cli(None, "run", "google/nano-banana-2/edt", "--prompt", "x")  # no field flags for a model we lack
    assert done.returncode == 64
    assert "not in this client's catalog: give its fields in --input JSON" in done.stderr
    assert "(did you mean google/nano-banana-2/edit or " in done.stderr


def test_run_help_shows_each_kind_of_field() -> None:
    out = cli(None, "run", EDIT, "--help").stdout
    assert "--image-urls URL|PATH [URL|PATH ...]" in out  # array
    assert "--num-images INT" in out and "(range: 1..4)" in out  # integer
    assert "--output-format {jpeg,png,webp}" in out and '(default: "png")' in out  # enum
    assert "--safety-tolerance {1,2,3,4,5,6}" in out  # integer enum
    assert "--limit-generations, --no-limit-generations" in out  # boolean
    assert "[required]" in out and "exit codes" in out
    out = cli(None, "run", KLING, "--help").stdout
    assert "--cfg-scale NUM" in out  # number
    assert "--start-image-url URL|PATH" in out  # single media field


# --- running -----------------------------------------------------------------------------------------------------


def test_run_sends_local_file_as_data_uri_and_downloads(emu: Emulator, image: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = cli(emu, "run", EDIT, "--prompt", "hi", "--image-urls", str(image), "--num-images", "2", "--out", str(out))
    assert done.returncode == 0, done.stderr
    request_id = submitted_id(done.stderr)
    job = emu.jobs[request_id]
    assert job.input["image_urls"][0].startswith("data:image/png;base64,")
    assert job.input["num_images"] == 2
    output = json.loads(done.stdout)  # the output object, as RunComfy's CLI prints it
    assert [url.rsplit("/", 1)[1] for url in output["images"]] == ["image_1.png", "image_2.png"]
    paths = [out / "image_1.png", out / "image_2.png"]  # named after the URLs (`--out` is `--output-dir`)
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in paths)
    assert [f"runcomfy: saved {path}" in done.stderr for path in paths] == [True, True]
    # Not a terminal: plain progress lines, one per state.
    progress = [line for line in done.stderr.splitlines()[1:] if line.startswith(request_id)]
    assert [line.split(": ")[1].split(",")[0] for line in progress][-1] == "succeeded"
    assert "\r" not in done.stderr


def test_run_json_quiet_and_input_file_overridden_by_flags(emu: Emulator, image: Path, tmp_path: Path) -> None:
    spec = tmp_path / "input.json"
    spec.write_text(json.dumps({"prompt": "from file", "image_urls": [str(image)], "seed": 7}))
    argv = ["--input-file", str(spec), "--seed", "9", "--json", "--quiet", "--no-limit-generations", "--no-download"]
    done = cli(emu, "run", EDIT, *argv)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    data = json.loads(done.stdout)
    assert list(data) == ["images", "cost"] and len(data["images"]) == 1  # `run` prints the output object and cost
    job = next(job for job in emu.jobs.values() if job.input.get("seed") == 9)
    assert (job.input["prompt"], job.input["seed"], job.input["limit_generations"]) == ("from file", 9, False)
    stdin = json.dumps({"prompt": "stdin", "image_urls": ["https://example.com/a.png"]})
    done = cli(emu, "submit", EDIT, "--input-file", "-", stdin=stdin)
    assert done.returncode == 0, done.stderr
    assert emu.jobs[done.stdout.strip()].input["prompt"] == "stdin"


def test_input_given_a_file_still_reads_it_with_a_deprecation_note(emu: Emulator, tmp_path: Path) -> None:
    """`--input` takes JSON now, as in RunComfy's CLI; this CLI's old `--input FILE` keeps working."""
    spec = tmp_path / "input.json"
    spec.write_text(json.dumps({"prompt": "old habit", "image_urls": ["https://example.com/a.png"]}))
    done = cli(emu, "submit", EDIT, "--input", str(spec))
    assert done.returncode == 0, done.stderr
    assert f"--input {spec}: a file for --input is deprecated; use --input-file {spec}" in done.stderr
    assert emu.jobs[done.stdout.strip()].input["prompt"] == "old habit"
    stdin = json.dumps({"prompt": "old stdin", "image_urls": ["https://example.com/a.png"]})
    done = cli(emu, "submit", EDIT, "--input", "-", stdin=stdin)
    assert done.returncode == 0 and "deprecated" in done.stderr
    assert emu.jobs[done.stdout.strip()].input["prompt"] == "old stdin"


def test_validation_errors_exit_65_before_any_call(emu: Emulator) -> None:
    before = len(emu.calls)
    done = cli(emu, "run", EDIT, "--prompt", "hi", "--num-images", "9")
    assert done.returncode == 65
    assert "2 validation errors for google/nano-banana-2/edit:" in done.stderr
    assert "num_images: expected an integer >= 1 and <= 4, got 9" in done.stderr
    assert cli(emu, "run", EDIT, "--output-format", "gif").returncode == 65  # the model's Input checks choices
    done = cli(emu, "run", EDIT, "--input", "/nonexistent.json")  # neither JSON nor a file
    assert done.returncode == 65 and "invalid input JSON: --input: " in done.stderr
    assert len(emu.calls) == before


def test_oversized_and_missing_files_are_refused(emu: Emulator, tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    with big.open("wb") as file:
        file.truncate(51 * 2**20)
    before = len(emu.calls)
    done = cli(emu, "run", EDIT, "--prompt", "hi", "--image-urls", str(big))
    assert done.returncode == 65
    assert (
        "over the 50 MB recommended for images sent inline" in done.stderr
        and "host the file and pass its URL" in done.stderr
    )
    done = cli(emu, "run", EDIT, "--prompt", "hi", "--image-urls", str(tmp_path / "missing.png"))
    assert done.returncode == 66 and "neither a URL nor a readable file" in done.stderr
    assert len(emu.calls) == before


def test_submit_status_wait_result(emu: Emulator, tmp_path: Path) -> None:
    url = emu.add_file("in.png", png_bytes(), "image/png")
    done = cli(emu, "submit", EDIT, "--prompt", "hi", "--image-urls", url, "--json")
    handle = json.loads(done.stdout)
    assert handle == {"request_id": handle["request_id"], "wait": False}  # as `run --no-wait`
    request_id = handle["request_id"]
    lines = cli(emu, "status", request_id).stdout.splitlines()
    assert lines[0] == f"request_id: {request_id}"
    assert lines[1].split() in (["status:", "in_queue"], ["status:", "in_progress"], ["status:", "completed"])
    done = cli(emu, "wait", request_id, "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["images"][0].endswith("/image_1.png")
    assert (tmp_path / "image_1.png").read_bytes().startswith(b"\x89PNG")
    assert cli(emu, "status", request_id, "--json").returncode == 0
    data = json.loads(cli(emu, "result", request_id, "--json", "--no-download").stdout)
    assert data["request_id"] == request_id and data["status"] == "succeeded"
    assert json.loads(cli(emu, "result", request_id, "--no-download").stdout)["output"] == data["output"]


def test_cancel_result_of_queued_job_and_cancelled_exit_code(queued: Emulator) -> None:
    request_id = cli(queued, "submit", EDIT, "--prompt", "hi", "--image-urls", "https://e.com/a.png").stdout.strip()
    done = cli(queued, "result", request_id)  # not finished: its record, exit 0 (as RunComfy's CLI)
    assert done.returncode == 0 and json.loads(done.stdout)["status"] == "in_queue"
    assert "has not finished yet" in done.stderr
    done = cli(queued, "cancel", request_id)
    assert (done.returncode, done.stdout.strip()) == (0, "cancelled")
    done = cli(queued, "wait", request_id)
    assert done.returncode == 1 and "was cancelled" in done.stderr


def test_failed_job_exits_1(emu: Emulator) -> None:
    emu.fail_next()
    done = cli(emu, "run", EDIT, "--prompt", "hi", "--image-urls", "https://e.com/a.png", "-q")
    assert done.returncode == 1 and "failed" in done.stderr


def test_timeout_exits_75_and_cancels_the_queued_job(queued: Emulator) -> None:
    done = cli(queued, "run", EDIT, "--prompt", "hi", "--image-urls", "https://e.com/a.png", "--timeout", "0.6")
    assert done.returncode == 75, done.stderr
    assert "the queued job was cancelled" in done.stderr
    assert all(job.cancelled for job in queued.jobs.values())


def test_api_errors_and_missing_token_exit_codes(emu: Emulator) -> None:
    done = cli(emu, "status", "nope")
    assert done.returncode == 65 and "does not exist" in done.stderr  # HTTP 404
    done = cli(emu, "status", "nope", "--token", "wrong")
    assert done.returncode == 77 and "API token" in done.stderr
    done = cli(emu, "--token=wrong", "status", "nope")
    assert done.returncode == 77 and "API token" in done.stderr
    done = cli(None, "run", EDIT, "--prompt", "hi", "--image-urls", "https://e.com/a.png", XDG_CONFIG_HOME="/nowhere")
    assert done.returncode == 77 and "no API token: pass --token TOKEN, set RUNCOMFY_API_TOKEN" in done.stderr
    done = cli(None, "status", "x", "--token", "t", "--base-url", "http://127.0.0.1:9")
    assert done.returncode == 69  # not reachable


def test_ctrl_c_cancels_a_queued_job(queued: Emulator) -> None:
    args = [sys.executable, "-m", "runcomfy.cli", "run", EDIT, "--prompt", "hi", "--image-urls", "https://e.com/a.png"]
    process = subprocess.Popen(
        args, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env_for(queued), cwd=WORKDIR[0]
    )
    assert process.stderr is not None
    first = process.stderr.readline()
    assert first.startswith("runcomfy: submitted ")
    process.stderr.readline()  # the first progress line: it is waiting
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=20)
    assert process.returncode == 130
    request_id = first.split()[-1]
    assert f"interrupted; job {request_id} was cancelled" in rest
    assert queued.jobs[request_id].cancelled


def read_pty_run(emu: Emulator, *prelude: str) -> tuple[int, str, str]:
    """`runcomfy run` with stderr on a pseudo-terminal (after running `prelude` lines): exit code, stderr, stdout."""
    import pty

    primary, secondary = pty.openpty()
    code = "\n".join([*prelude, "import sys", "from runcomfy.cli import main", "sys.exit(main())"])
    args = [sys.executable, "-c", code, "run", EDIT, "--prompt", "hi", "--image-urls", "https://e.com/a.png"]
    process = subprocess.Popen(args, stderr=secondary, stdout=subprocess.PIPE, env=env_for(emu), cwd=WORKDIR[0])
    os.close(secondary)
    chunks = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            data = os.read(primary, 4096)
        except OSError:  # the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(primary)
    stdout, _ = process.communicate(timeout=20)
    return process.returncode, b"".join(chunks).decode(), stdout.decode()


def test_progress_on_a_terminal_is_a_rich_spinner(emu: Emulator) -> None:
    pytest.importorskip("rich")
    code, text, stdout = read_pty_run(emu)
    assert code == 0
    first, _, spinner = text.partition("\n")
    assert first.startswith("runcomfy: submitted ")
    request_id = first.split()[-1]
    assert f"{request_id}: submitted, 0." in spinner, text  # the state and the elapsed time, shown by the spinner
    assert "\r\x1b[2K" in spinner  # redrawn in place
    assert any(frame in spinner for frame in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"), text  # rich's "dots" spinner
    assert json.loads(stdout)["images"][0].startswith(emu.base_url)


def test_progress_on_a_terminal_without_rich_is_one_live_line(emu: Emulator) -> None:
    code, text, stdout = read_pty_run(emu, "import sys", "sys.modules['rich'] = None  # import rich fails")
    assert code == 0
    assert "\r\x1b[K" in text and " s" in text
    assert not any(frame in text for frame in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"), text
    assert json.loads(stdout)["images"][0].startswith(emu.base_url)


def test_progress_on_a_pipe_is_plain_lines_and_rich_is_not_imported(emu: Emulator) -> None:
    prelude = "import atexit, sys; atexit.register(lambda: print('rich' in sys.modules, file=sys.stderr))"
    args = ["-c", f"{prelude}\nfrom runcomfy.cli import main\nsys.exit(main())"]
    args += ["run", EDIT, "--prompt", "hi", "--image-urls", "https://e.com/a.png"]
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env_for(emu), timeout=30, cwd=WORKDIR[0]
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stderr and "\r" not in done.stderr
    assert f"{done.stderr.split()[2]}: " in done.stderr  # a line per change: "ID: state, … s"
    assert done.stderr.rstrip().endswith("False")


def test_emulator_command_serves_until_ctrl_c() -> None:
    args = [sys.executable, "-m", "runcomfy.cli", "emulator", "--port", "0", "--token", "tok"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env_for(None))
    assert process.stdout is not None
    first = process.stdout.readline()
    assert first.startswith("RunComfy emulator on http://127.0.0.1:")
    base_url = first.split()[3]
    done = cli(None, "status", "nope", "--token", "tok", "--base-url", base_url)
    assert done.returncode == 65 and "does not exist" in done.stderr
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0


def test_runcomfy_validations_are_checked_on_local_images(emu: Emulator, tmp_path: Path) -> None:
    from PIL import Image

    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (10, 10)).save(tiny)
    before = len(emu.calls)
    done = cli(emu, "run", "bytedance/seedream-5.0-pro/image-to-image", "--prompt", "p", "--image", str(tiny))
    assert done.returncode == 65
    assert "The uploaded image width and height must exceed 14 pixels." in done.stderr
    assert len(emu.calls) == before  # refused before any network call


def test_wrong_values_get_the_python_validation_message(emu: Emulator) -> None:
    before = len(emu.calls)
    done = cli(
        emu,
        "run",
        EDIT,
        "--prompt",
        "p",
        "--image-urls",
        "https://x/y.png",
        "--aspect-ratio",
        "16:8",
        "--num-images",
        "two",
    )
    assert done.returncode == 65
    assert (
        "aspect_ratio: expected one of 'auto', '21:9', '16:9'" in done.stderr and "did you mean '16:9'" in done.stderr
    )
    assert "num_images: expected an integer, got 'two'" in done.stderr
    assert len(emu.calls) == before
    help_text = cli(emu, "run", EDIT, "--help").stdout
    assert "{auto,21:9,16:9," in help_text and "(example:" in help_text


def test_a_file_named_like_an_image_is_sent_only_if_it_is_one(emu: Emulator, tmp_path: Path) -> None:
    """``shadow.png``, a symlink to a text file (think ``/etc/shadow``), was sent as ``data:image/png``."""
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$salt$hash:19000:0:99999:7:::\n")
    link = tmp_path / "shadow.png"
    link.symlink_to(secret)
    before = len(emu.calls)
    done = cli(emu, "run", EDIT, "--prompt", "hi", "--image-urls", str(link))
    assert done.returncode == 65
    assert f"image_urls[0]: expected an image file that can be sent inline: the content of {link}" in done.stderr
    assert "is not a recognised image (PNG, JPEG" in done.stderr
    assert len(emu.calls) == before
