"""Knowing what it costs: catalog prices in the schema files, the modules' ``PRICING`` and ``CATALOG``,
``Input.estimate_cost()``, ``Result.cost`` (``/result?include_cost=true``), batch budgets
(``max_cost``: never over, refused inputs journaled, resumed with a larger budget) and the CLI."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest
import runcomfy
from conftest import IMAGE, ROOT, import_file, submits, write_schemas
from runcomfy import errors
from runcomfy._core import make_result
from runcomfy._polling import PollSchedule
from runcomfy.batch import Budget, Journal
from runcomfy.models.google.nano_banana_2 import edit
from runcomfy.pricing import Pricing, reported_cost, usd
from runcomfy.testing import Emulator
from runcomfy_codegen.errors import SchemaError
from runcomfy_codegen.loader import read_schema_file
from runcomfy_codegen.pipeline import generate

EDIT = "google/nano-banana-2/edit"
FAST_POLL = PollSchedule(first=0.05, minimum=0.02, growth=0.1, maximum=0.2, learn=False)
PER_IMAGE = Pricing(0.04, "output")


@pytest.fixture
def emu():
    with Emulator(max_side=16, prices={EDIT: (0.04, "output")}) as emulator:
        yield emulator


def sync_client(emu: Emulator) -> runcomfy.Client:
    return runcomfy.Client(emu.token, base_url=emu.base_url, poll=FAST_POLL)


def async_client(emu: Emulator) -> runcomfy.AsyncClient:
    return runcomfy.AsyncClient(emu.token, base_url=emu.base_url, poll=FAST_POLL)


def inputs(n: int, *, images: int = 1, start: int = 0) -> list[dict[str, Any]]:
    return [{"prompt": f"job {i}", "image_urls": [IMAGE], "num_images": images} for i in range(start, start + n)]


# --- prices in the schema files, the modules and CATALOG -------------------------------------------------

SIMPLE = {"type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"]}


def priced(**keys: Any) -> bytes:
    return json.dumps({"model_id": "acme/m", "input_schema": SIMPLE, **keys}).encode()


def test_a_schema_file_may_carry_the_catalogs_price():
    file = read_schema_file("acme/m.json", priced(base_price_usd=0.04, price_unit="output", pricing_note="per image"))
    assert file.data["base_price_usd"] == 0.04
    assert read_schema_file("acme/m.json", priced(base_price_usd=0, price_unit="second")).data["price_unit"] == "second"


@pytest.mark.parametrize(
    ("keys", "pointer", "message"),
    [
        ({"base_price_usd": -0.01, "price_unit": "output"}, "/base_price_usd", "finite number >= 0"),
        ({"base_price_usd": "0.04", "price_unit": "output"}, "/base_price_usd", "finite number >= 0"),
        ({"base_price_usd": True, "price_unit": "output"}, "/base_price_usd", "finite number >= 0"),
        ({"base_price_usd": 1e400, "price_unit": "output"}, "/base_price_usd", "finite number >= 0"),
        ({"base_price_usd": 0.04}, "/price_unit", "needs its unit"),
        ({"base_price_usd": 0.04, "price_unit": 3}, "/price_unit", "must be a string"),
        ({"base_price_usd": 0.04, "price_unit": ""}, "/price_unit", "must not be empty"),
        ({"base_price_usd": 0.04, "price_unit": "output", "pricing_note": ["x"]}, "/pricing_note", "a string"),
        ({"price_unit": "output"}, "/price_unit", "without base_price_usd"),
        ({"pricing_note": "cheap"}, "/pricing_note", "without base_price_usd"),
    ],
)
def test_a_malformed_price_is_an_error_naming_file_and_key(keys, pointer, message):
    raw = priced(**keys).replace(b"Infinity", b"1e400")  # a JSON number too large for a float: inf
    with pytest.raises(SchemaError) as info:
        read_schema_file("acme/m.json", raw)
    assert (info.value.file, info.value.pointer) == ("acme/m.json", pointer)
    assert message in str(info.value)


def generate_priced(directory: Path, schemas: dict[str, dict[str, Any]]) -> tuple[Path, Any]:
    """Generate ``schemas`` into ``directory/out``; returns it and its imported registry."""
    generate(write_schemas(directory / "schemas", schemas), directory / "out")
    registry = import_file(directory / "out/runcomfy/models/__init__.py", f"_cost_registry_{directory.name}")
    return directory / "out", registry


def edit_file(**keys: Any) -> dict[str, Any]:
    data = json.loads((ROOT / "schemas" / f"{EDIT}.json").read_text())
    return {**data, **keys}


def test_pricing_reaches_the_module_catalog_and_reference_page(tmp_path):
    schemas = {
        EDIT: edit_file(base_price_usd=0.04, price_unit="output", pricing_note="per image"),
        "acme/free": {"model_id": "acme/free", "input_schema": SIMPLE},
    }
    out, registry = generate_priced(tmp_path, schemas)
    module = import_file(out / "runcomfy/models/google/nano_banana_2/edit.py", "_cost_edit")
    assert module.PRICING == Pricing(0.04, "output", "per image") and "PRICING" in module.__all__
    assert registry.CATALOG[EDIT].pricing == module.PRICING
    assert registry.CATALOG["acme/free"].pricing is None
    free = import_file(out / "runcomfy/models/acme/free.py", "_cost_free")
    assert free.PRICING is None and free.Input(prompt="x").estimate_cost() is None
    page = (out / "reference/models/google/nano-banana-2/edit.md").read_text()
    assert "Pricing: **USD 0.04 per output** (per image)" in page
    assert "Pricing" not in (out / "reference/models/acme/free.md").read_text()
    stamp = json.loads((out / "runcomfy/.codegen-stamp.json").read_text())
    assert stamp["models"][EDIT]["price"] == {"base_price_usd": 0.04, "unit": "output", "note": "per image"}


def test_the_shipped_schemas_carry_no_invented_price():
    for path in (ROOT / "schemas").rglob("*.json"):
        assert "base_price_usd" not in json.loads(path.read_text()), path
    assert all(info.pricing is None for info in runcomfy.models.CATALOG.values())
    assert edit.PRICING is None and "runcomfy-codegen pull" in doc(edit)
    assert edit.Input(prompt="x", image_urls=[IMAGE]).estimate_cost() is None


def test_pull_keeps_the_catalogs_pricing(tmp_path):
    from runcomfy_codegen.cli import main

    remote = {"model_id": "acme/m", "input_schema": SIMPLE, "output_type": "IMAGE"}
    remote_priced = {**remote, "base_price_usd": 0.05, "price_unit": "output", "pricing_note": "per image, 1k"}
    schemas = tmp_path / "schemas"
    with Emulator() as emulator:
        emulator.catalog = write_schemas(tmp_path / "catalog", {"acme/m": remote_priced})
        args = ["pull", "--schemas", str(schemas), "--base-url", emulator.base_url, "--token", emulator.token]
        assert main(args) == 0
        data = json.loads((schemas / "acme/m.json").read_text())
        assert (data["base_price_usd"], data["price_unit"], data["pricing_note"]) == (0.05, "output", "per image, 1k")
        keys = list(data)
        assert (
            keys.index("output_type") < keys.index("base_price_usd") < keys.index("pricing_note") < keys.index("source")
        )
        emulator.catalog = write_schemas(tmp_path / "catalog2", {"acme/m": remote})  # unpriced: the emulator's own
        assert main(args) == 0
        data = json.loads((schemas / "acme/m.json").read_text())
        assert "invented by the runcomfy emulator" in data["pricing_note"]  # labelled, never passed off as RunComfy's


def doc(module: Any) -> str:
    """The docstring of a module's ``Input.estimate_cost``, as one line."""
    return " ".join((module.Input.estimate_cost.__doc__ or "").split())


# --- estimate_cost ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def estimating(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Models whose count or duration field the generator must find, with and without defaults."""
    directory = tmp_path_factory.mktemp("estimate")
    prompt = {"prompt": {"type": "string"}}
    schemas = {
        "acme/images": (0.04, "output", {**prompt, "num_images": {"type": "integer", "default": 2, "minimum": 1}}),
        "acme/n": (0.5, "output", {**prompt, "n": {"type": "integer"}}),
        "acme/one": (0.1, "output", prompt),
        "acme/video": (0.1, "second", {**prompt, "duration": {"type": "integer", "default": 5}}),
        "acme/enum": (
            0.2,
            "second",
            {**prompt, "duration": {"type": "string", "enum": ["auto", "5", "10s"], "default": "5"}},
        ),
        "acme/auto": (0.2, "second", {**prompt, "duration": {"type": "string", "enum": ["auto", "8"]}}),
        "acme/ms": (0.01, "second", {**prompt, "music_length_ms": {"type": "integer", "default": 40000}}),
        "acme/still": (0.1, "second", prompt),
        "acme/tokens": (0.1, "token", prompt),
    }
    files = {
        model_id: {
            "model_id": model_id,
            "base_price_usd": price,
            "price_unit": unit,
            "input_schema": {"type": "object", "properties": properties},
        }
        for model_id, (price, unit, properties) in schemas.items()
    }
    out, _ = generate_priced(directory, files)
    return {
        model_id.split("/")[1]: import_file(out / f"runcomfy/models/acme/{model_id.split('/')[1]}.py", f"_est_{n}")
        for n, model_id in enumerate(files)
    }


def test_estimate_per_output_counts_the_outputs_asked_for(estimating):
    images, n, one = estimating["images"], estimating["n"], estimating["one"]
    assert images.Input(num_images=3).estimate_cost() == 0.12
    assert images.Input().estimate_cost() == 0.08  # the schema's default: 2
    assert "``num_images``" in doc(images) and "2 when unset" in doc(images)
    assert n.Input(n=4).estimate_cost() == 2.0 and n.Input().estimate_cost() == 0.5  # no default: one output
    assert one.Input(prompt="x").estimate_cost() == 0.1
    assert "no input field asks for more than one output" in doc(one)


def test_estimate_per_second_multiplies_the_duration(estimating):
    video, enum, auto, ms, still = (estimating[k] for k in ("video", "enum", "auto", "ms", "still"))
    assert video.Input(duration=12).estimate_cost() == 1.2 and video.Input().estimate_cost() == 0.5
    assert enum.Input().estimate_cost() == 1.0 and enum.Input(duration="10s").estimate_cost() == 2.0
    assert enum.Input(duration="auto").estimate_cost() is None  # not a number of seconds
    assert auto.Input().estimate_cost() is None and auto.Input(duration="8").estimate_cost() == 1.6  # no default
    assert ms.Input().estimate_cost() == 0.4 and "milliseconds" in doc(ms)
    assert still.Input(prompt="x").estimate_cost() is None  # per second, but no field says how long
    assert "no input field gives the output's length" in doc(still)
    assert estimating["tokens"].Input(prompt="x").estimate_cost() is None  # a unit nobody knows


def test_estimate_with_a_price_given(estimating):
    video = estimating["video"]
    assert video.Input(duration=10).estimate_cost(pricing=Pricing(0.05, "second")) == 0.5
    assert edit.Input(prompt="x", image_urls=[IMAGE], num_images=2).estimate_cost(pricing=PER_IMAGE) == 0.08


def test_pricing_is_immutable_and_checked():
    price = Pricing(0.04, "output", "note")
    with pytest.raises(AttributeError):
        price.base_price_usd = 0.0  # type: ignore[misc]
    for bad in (-1, math.nan, math.inf, "0.04", True):
        with pytest.raises(ValueError, match="base_price_usd"):
            Pricing(bad, "output")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unit"):
        Pricing(0.1, "")
    assert str(price) == "USD 0.04 per output" and usd(0.5) == "USD 0.50" and usd(None) == "USD ?"
    import pickle

    assert pickle.loads(pickle.dumps(price)) == price and len({price, Pricing(0.04, "output", "note")}) == 1


# --- Result.cost --------------------------------------------------------------------------------------


def test_result_cost_is_what_the_api_reported(emu):
    result = edit.run(prompt="x", image_urls=[IMAGE], num_images=3, client=sync_client(emu))
    assert result.cost == pytest.approx(0.12)
    polls = [call for call in emu.calls if call.path.endswith("/result")]
    assert polls and all(call.query.get("include_cost") == "true" for call in polls)
    handle = edit.submit(prompt="x", image_urls=[IMAGE], client=sync_client(emu))
    assert handle.result().cost == pytest.approx(0.04)


def test_result_cost_async(emu):
    async def main() -> tuple[float | None, float | None]:
        async with async_client(emu) as client:
            result = await edit.run_async(prompt="x", image_urls=[IMAGE], num_images=2, client=client)
            handle = await edit.submit_async(prompt="y", image_urls=[IMAGE], client=client)
            return result.cost, (await handle.result()).cost

    assert asyncio.run(main()) == (pytest.approx(0.08), pytest.approx(0.04))


@pytest.mark.parametrize("cost", [None, "0.04", -1, True, [1], {"usd": 1}])
def test_a_cost_that_is_no_amount_is_none(cost):
    body = {"status": "succeeded", "output": {}} | ({} if cost is None else {"cost": cost})
    assert make_result("r1", EDIT, None, body).cost is None
    assert reported_cost({"cost": 0}) == 0.0 and reported_cost({"cost": 1.5}) == 1.5
    assert reported_cost({"cost": math.nan}) is None and reported_cost({"cost": math.inf}) is None


# --- budgets -------------------------------------------------------------------------------------------


def spent(items: list[Any]) -> float:
    return sum(item.cost or 0.0 for item in items)


@pytest.mark.parametrize("concurrency", [1, 4, 16, 64])
def test_a_budget_is_never_exceeded(emu, concurrency):
    given = [{**item, "num_images": 1 + n % 3} for n, item in enumerate(inputs(60))]  # 0.04, 0.08 or 0.12 each
    items = list(
        runcomfy.map(edit, given, concurrency=concurrency, client=async_client(emu), max_cost=1.0, pricing=PER_IMAGE)
    )
    assert len(items) == 60
    refused = [item for item in items if isinstance(item.error, errors.BudgetExceededError)]
    assert refused and all(item.request_id is None for item in refused)
    assert submits(emu) == 60 - len(refused)
    assert 1.0 - 0.12 < spent(items) <= 1.0 + 1e-9  # within the budget, and at most one job short of it
    assert math.isclose(sum(job_cost(emu, job) for job in emu.jobs.values()), spent(items))


def job_cost(emu: Emulator, job: Any) -> float:
    return 0.04 * len(job.output["images"])


def test_many_inputs_at_once_never_overbook(emu):
    """The check and the reservation are one step: 50 tasks at once do not all see the same free budget."""
    emu.processing_time = 0.5
    items = list(
        runcomfy.map(edit, inputs(50), concurrency=50, client=async_client(emu), max_cost=0.4, pricing=PER_IMAGE)
    )
    assert submits(emu) == 10 and math.isclose(spent(items), 0.4)
    assert sum(isinstance(item.error, errors.BudgetExceededError) for item in items) == 40


def test_an_input_waits_for_jobs_in_flight_before_it_is_refused(emu):
    """Estimates above the real cost reserve too much: the jobs that end free it for the next inputs."""
    items = list(
        runcomfy.map(
            edit, inputs(20), concurrency=10, client=async_client(emu), max_cost=0.4, pricing=Pricing(0.08, "output")
        )
    )
    assert submits(emu) > 5  # refusing whatever does not fit at once would stop at 5 (0.4 / 0.08)
    assert spent(items) <= 0.4 + 1e-9


def test_budget_refusals_are_journaled_and_a_larger_budget_resumes(emu, tmp_path):
    journal = tmp_path / "journal.jsonl"
    first = list(
        runcomfy.map(edit, inputs(20), client=async_client(emu), journal=journal, max_cost=0.2, pricing=PER_IMAGE)
    )
    assert sum(item.ok for item in first) == 5 and submits(emu) == 5
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sum(r.get("status") == "budget" and r.get("error") == "BudgetExceededError" for r in records) == 15
    assert math.isclose(Journal(journal).spent, 0.2)
    second = list(
        runcomfy.map(edit, inputs(20), client=async_client(emu), journal=journal, max_cost=0.6, pricing=PER_IMAGE)
    )
    assert sum(item.ok for item in second) == 10  # 0.2 spent before counts: 0.4 left
    assert all(item.index >= 5 for item in second)  # the 5 that ended are not run again
    assert submits(emu) == 15 and math.isclose(Journal(journal).spent, 0.6)
    third = list(runcomfy.map(edit, inputs(20), client=async_client(emu), journal=journal, pricing=PER_IMAGE))
    assert sum(item.ok for item in third) == 5 and submits(emu) == 20  # no budget: the rest run


def test_a_replayed_batch_does_not_count_its_jobs_twice(emu, tmp_path):
    """``replay=True`` (a retried Dask partition) reads ended jobs again: their cost was counted already."""
    journal = tmp_path / "journal.jsonl"
    first = list(runcomfy.map(edit, inputs(4), client=async_client(emu), journal=journal, pricing=PER_IMAGE))
    assert math.isclose(spent(first), 0.16) and math.isclose(Journal(journal).spent, 0.16)
    again = list(
        runcomfy.map(
            edit, inputs(6), client=async_client(emu), journal=journal, replay=True, max_cost=0.24, pricing=PER_IMAGE
        )
    )
    assert sum(item.ok for item in again) == 6 and submits(emu) == 6  # 0.16 + 2 new jobs fit in 0.24
    assert math.isclose(Journal(journal).spent, 0.24)


def test_an_input_of_unknown_cost_is_refused_under_a_budget_unless_allowed(emu):
    refused = list(runcomfy.map(edit, inputs(3), client=async_client(emu), max_cost=10))
    assert submits(emu) == 0 and all(isinstance(item.error, errors.BudgetExceededError) for item in refused)
    assert refused[0].error.estimate is None and "allow_unknown_cost" in str(refused[0].error)
    allowed = list(runcomfy.map(edit, inputs(3), client=async_client(emu), max_cost=10, allow_unknown_cost=True))
    assert all(item.ok for item in allowed) and math.isclose(spent(allowed), 0.12)
    assert all(item.estimated_cost is None and item.cost == pytest.approx(0.04) for item in allowed)
    plain = list(runcomfy.map(edit, inputs(2), client=async_client(emu)))  # no budget: nothing refused
    assert all(item.ok for item in plain)


def test_a_bad_budget_is_refused_before_anything(emu):
    for bad in (-1, math.nan, math.inf, "5"):
        with pytest.raises(ValueError, match="max_cost"):
            list(runcomfy.map(edit, inputs(1), client=async_client(emu), max_cost=bad))  # type: ignore[arg-type]
    assert submits(emu) == 0


def test_what_an_ended_job_counts_as_spent():
    from runcomfy.batch import BatchItem, charged

    item = BatchItem(0, {}, estimated_cost=0.5)
    assert charged(BatchItem(0, {}, cost=0.3, estimated_cost=0.5)) == 0.3  # reported
    assert charged(item) == 0.0  # never submitted
    assert charged(BatchItem(0, {}, request_id="r", error=errors.JobFailedError("r", None), estimated_cost=0.5)) == 0.5
    unsure = BatchItem(0, {}, error=errors.SubmitUncertainError("?"), estimated_cost=0.5)
    assert charged(unsure) == 0.5  # may have made a job
    cancelled = BatchItem(
        0, {}, request_id="r", error=errors.TimeoutError("r", 1.0, cancelled=True), estimated_cost=0.5
    )
    assert charged(cancelled) == 0.0  # cancelled while queued: it never ran


def test_budget_admits_atomically_and_refuses_only_with_nothing_in_flight():
    async def main() -> tuple[int, int, list[Any]]:
        budget = Budget(1.0)
        tasks = [asyncio.ensure_future(budget.admit(0.3)) for _ in range(5)]
        await asyncio.sleep(0)
        admitted, waiting = budget.in_flight, sum(not task.done() for task in tasks)
        for _ in range(3):
            budget.settle(0.3, 0.3)  # each cost what it reserved: 0.9 spent, 0.3 does not fit any more
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        return admitted, waiting, outcomes

    admitted, waiting, outcomes = asyncio.run(main())
    assert (admitted, waiting) == (3, 2)
    assert outcomes[:3] == [0.3, 0.3, 0.3]
    assert all(isinstance(o, errors.BudgetExceededError) and o.estimate == 0.3 for o in outcomes[3:])


# --- the command line -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def priced_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package generated from the edit model's schema with a price (as `runcomfy-codegen pull` keeps it)."""
    directory = tmp_path_factory.mktemp("priced")
    out, _ = generate_priced(directory, {EDIT: edit_file(base_price_usd=0.04, price_unit="output")})
    return out


def run_cli(emu: Emulator | None, package: Path | None, *args: str) -> Any:
    import os
    import subprocess
    import sys
    import tempfile

    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNCOMFY_") and k != "PYTHONPATH"}
    if emu is not None:
        env.update(RUNCOMFY_API_TOKEN=emu.token, RUNCOMFY_BASE_URL=emu.base_url)
    if package is not None:
        env["PYTHONPATH"] = str(package)  # the priced package before the installed one
    command = [sys.executable, "-m", "runcomfy.cli", *args]
    with tempfile.TemporaryDirectory() as scratch:  # `run` downloads into the working directory
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False, cwd=scratch)


JOB = json.dumps({"prompt": "a cat", "image_urls": [IMAGE], "num_images": 3})


def test_cli_run_estimate_submits_nothing(emu, priced_package):
    done = run_cli(
        emu, priced_package, "run", EDIT, "--prompt", "a cat", "--image-urls", IMAGE, "--num-images", "3", "--estimate"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "USD 0.12"
    as_json = run_cli(emu, priced_package, "run", EDIT, "--prompt", "a", "--image-urls", IMAGE, "--estimate", "--json")
    data = json.loads(as_json.stdout)
    assert data["estimated_cost"] == 0.04 and data["pricing"]["base_price_usd"] == 0.04
    unknown = run_cli(emu, None, "run", EDIT, "--prompt", "a", "--image-urls", IMAGE, "--estimate")
    assert unknown.returncode == 0 and unknown.stdout.strip() == "unknown"
    assert "runcomfy-codegen pull" in unknown.stderr
    assert submits(emu) == 0


def test_cli_run_prints_the_cost(emu):
    done = run_cli(emu, None, "run", EDIT, "--prompt", "a", "--image-urls", IMAGE, "--num-images", "2")
    assert done.returncode == 0, done.stderr
    request_id = next(job for job in emu.jobs)
    assert f"runcomfy: {request_id} cost USD 0.08" in done.stderr.splitlines()
    assert "cost" not in json.loads(done.stdout)  # pretty: the output document as it is, the cost on stderr
    as_json = run_cli(emu, None, "run", EDIT, "--prompt", "a", "--image-urls", IMAGE, "--json", "--no-download")
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["cost"] == pytest.approx(0.04) and document["images"] and as_json.stderr == ""
    result = run_cli(emu, None, "result", request_id, "--json", "--no-download")
    assert json.loads(result.stdout)["cost"] == pytest.approx(0.08)  # the record, asked with include_cost


def test_cli_models_shows_the_price(priced_package):
    priced_list = run_cli(None, priced_package, "models")
    assert priced_list.returncode == 0, priced_list.stderr
    line = next(line for line in priced_list.stdout.splitlines() if line.startswith(EDIT))
    assert "$0.04/output" in line
    as_json = json.loads(run_cli(None, priced_package, "models", "--json").stdout)
    assert next(e for e in as_json if e["model_id"] == EDIT)["pricing"]["base_price_usd"] == 0.04
    shipped = run_cli(None, None, "models", "--json")
    assert all(entry["pricing"] is None for entry in json.loads(shipped.stdout))
    line = next(line for line in run_cli(None, None, "models").stdout.splitlines() if line.startswith(EDIT))
    assert line.split()[2] == "-"  # no price known


def test_cli_batch_max_cost(emu, priced_package, tmp_path):
    source = tmp_path / "inputs.jsonl"
    source.write_text("".join(json.dumps(item) + "\n" for item in inputs(10)))
    out = tmp_path / "out"
    args = ["batch", EDIT, str(source), "--out", str(out), "--max-cost", "0.2", "--json"]
    first = run_cli(emu, priced_package, *args)
    assert first.returncode == 1, first.stderr  # some inputs did not run
    lines = [json.loads(line) for line in first.stdout.splitlines()]
    assert sum(line["ok"] for line in lines) == 5 and submits(emu) == 5
    assert max(line["spent_usd"] for line in lines) == pytest.approx(0.2)
    assert all(line["estimated_cost"] == 0.04 for line in lines)
    assert "USD 0.20 spent" in first.stderr and "5 not submitted for the budget" in first.stderr
    args[args.index("0.2")] = "1"
    second = run_cli(emu, priced_package, *args)
    assert second.returncode == 0, second.stderr
    assert submits(emu) == 10 and "USD 0.40 with earlier runs" in second.stderr
    bad = run_cli(emu, priced_package, "batch", EDIT, str(source), "--out", str(out), "--max-cost", "-1")
    assert bad.returncode == 64 and "--max-cost" in bad.stderr
    unknown = run_cli(emu, None, "batch", EDIT, str(source), "--out", str(tmp_path / "o2"), "--max-cost", "1")
    assert unknown.returncode == 1 and "allow_unknown_cost=True (--allow-unknown-cost)" in unknown.stderr
    assert submits(emu) == 10
    allowed = run_cli(
        emu, None, "batch", EDIT, str(source), "--out", str(tmp_path / "o2"), "--max-cost", "1", "--allow-unknown-cost"
    )
    assert allowed.returncode == 0, allowed.stderr
    assert submits(emu) == 20
