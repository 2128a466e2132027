"""The two distributions as users get them: both wheels built, installed into a fresh virtual environment
outside the checkout, and used from there (the seed model end to end against the emulator, the generator
on a temporary schema folder, a user script type-checked with ``mypy --strict``).

One module-scoped environment serves every test here; it takes about a minute to build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT


def _run(*args: str | os.PathLike[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600):
    done = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    for project in (ROOT, ROOT / "generator"):
        _run(sys.executable, "-m", "build", "--wheel", "--outdir", out, project, cwd=ROOT)
    found = {path.name.split("-")[0]: path for path in out.glob("*.whl")}
    assert set(found) == {"runcomfy", "runcomfy_codegen"}, found
    return found


@pytest.fixture(scope="module")
def installed(wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment (outside the checkout) with both wheels, the testing extra and mypy."""
    home = tmp_path_factory.mktemp("user")
    venv.create(home / "venv", with_pip=True)
    python = home / "venv" / "bin" / "python"
    mypy = next(line for line in (ROOT / "pyproject.toml").read_text().splitlines() if '"mypy==' in line).strip(' ",')
    _run(
        python, "-m", "pip", "install", "--quiet",
        f"runcomfy[testing] @ {wheels['runcomfy'].as_uri()}", wheels["runcomfy_codegen"], mypy,
        cwd=home,
    )  # fmt: skip
    return home


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "RUNCOMFY_", "VIRTUAL"))}
    env["PATH"] = f"{home / 'venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


def test_the_client_wheel_holds_the_client_alone(wheels):
    names = zipfile.ZipFile(wheels["runcomfy"]).namelist()
    assert not [name for name in names if name.startswith("runcomfy_codegen")]
    assert "runcomfy/py.typed" in names and "runcomfy/models/google/nano_banana_2/edit.py" in names
    assert any(name.endswith("licenses/LICENSE") for name in names)
    metadata = zipfile.ZipFile(wheels["runcomfy"]).read(next(n for n in names if n.endswith("METADATA"))).decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    # requests, and idna (which requests brings anyway; the host-name formats import it themselves)
    assert sorted(line for line in requires if "extra ==" not in line) == [
        "Requires-Dist: idna<4,>=3.4",
        "Requires-Dist: requests<3,>=2.31",
    ]
    user_facing = [
        line for line in requires if any(f"extra == '{name}'" in line for name in ("async", "cli", "testing"))
    ]
    assert len(user_facing) == 4 and not [line for line in user_facing if "==" in line.split(";")[0]], user_facing
    codegen = zipfile.ZipFile(wheels["runcomfy_codegen"]).namelist()
    assert "runcomfy_codegen/templates/module.py.jinja" in codegen
    assert "runcomfy_codegen/templates/runtime/client.py" in codegen


def test_the_seed_model_runs_end_to_end_from_the_installed_wheel(installed):
    script = installed / "seed.py"
    script.write_text(
        textwrap.dedent(
            """
            import pathlib, runcomfy
            from runcomfy.models.google.nano_banana_2 import edit
            from runcomfy.testing import Emulator

            assert "site-packages" in runcomfy.__file__, runcomfy.__file__
            with Emulator(processing_time=0.05) as emulator:
                client = runcomfy.Client("test-token", base_url=emulator.base_url)
                result = edit.run(prompt="night", image_urls=["https://example.com/cat.png"], client=client)
                (path,) = result.save("out")
            assert pathlib.Path(path).read_bytes().startswith(b"\\x89PNG"), path
            print("saved", path)
            """
        )
    )
    done = _run(installed / "venv" / "bin" / "python", script, cwd=installed, env=_env(installed))
    assert done.stdout.startswith("saved out/")
    version = _run(installed / "venv" / "bin" / "runcomfy", "--version", cwd=installed, env=_env(installed))
    assert version.stdout.startswith("runcomfy ")


def test_the_installed_generator_works_in_an_empty_folder(installed):
    work = installed / "project"
    seed = Path("google/nano-banana-2/edit.json")
    (work / "schemas" / seed).parent.mkdir(parents=True)
    shutil.copy(ROOT / "schemas" / seed, work / "schemas" / seed)
    codegen = installed / "venv" / "bin" / "runcomfy-codegen"
    done = _run(codegen, "generate", "--schemas", "schemas", "--out", "out", cwd=work, env=_env(installed))
    assert "generated 1 models" in done.stdout
    # the installed generator writes the very module the checkout's generator wrote
    module = Path("runcomfy/models/google/nano_banana_2/edit.py")
    assert (work / "out" / module).read_bytes() == (ROOT / "generated" / module).read_bytes()
    check = _run(codegen, "generate", "--schemas", "schemas", "--out", "out", "--check", cwd=work, env=_env(installed))
    assert "up to date" in check.stdout
    assert _run(codegen, "--version", cwd=work, env=_env(installed)).stdout.startswith("runcomfy-codegen ")


def test_a_user_script_passes_mypy_strict(installed):
    script = installed / "typed.py"
    script.write_text(
        textwrap.dedent(
            """
            import runcomfy
            from runcomfy.models.google.nano_banana_2 import edit

            def main(client: runcomfy.Client) -> list[str]:
                urls: list[str] = ["https://example.com/cat.png"]
                value = edit.Input(prompt="night", image_urls=urls, num_images=2)
                result = edit.run(value, client=client, timeout=60)
                images: list[str] | None = result.output.images
                return images or []
            """
        )
    )
    _run(installed / "venv" / "bin" / "mypy", "--strict", script, cwd=installed, env=_env(installed))
    wrong = installed / "wrong.py"
    wrong.write_text("from runcomfy.models.google.nano_banana_2 import edit\nedit.Input(prompt=1, image_urls=['x'])\n")
    done = subprocess.run(
        [str(installed / "venv" / "bin" / "mypy"), "--strict", str(wrong)],
        cwd=installed, env=_env(installed), capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1 and "prompt" in done.stdout, done.stdout
