"""NaN and the infinities: JSON cannot carry them, so every generated number field refuses them (bounded or
not, nested, in arrays, in unions) with a ``ValidationError``, and a request body that cannot be
serialised is a ``ValidationError`` raised by either transport before anything is sent."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from typing import Any

import pytest
import runcomfy
from conftest import IMAGE
from runcomfy._core import RetryPolicy
from runcomfy.async_client import AsyncClient
from runcomfy.client import Client
from runcomfy.models.google.nano_banana_2 import edit
from runcomfy.models.kling.kling_3_0.pro import text_to_video as kling
from runcomfy.testing import Emulator

NOT_FINITE = [math.nan, math.inf, -math.inf]


class Float(float):
    """A float subclass (as numpy's float64 is one)."""


NUMBERS = {
    "type": "object",
    "properties": {
        "bounded": {"type": "number", "minimum": 0, "maximum": 1},
        "exclusive": {"type": "number", "exclusiveMinimum": 0},
        "free": {"type": "number"},
        "nullable": {"type": ["number", "null"]},
        "either": {"type": ["number", "string"]},
        "count": {"type": "integer"},
        "step": {"type": "number", "multipleOf": 0.5},
        "choice": {"type": "number", "enum": [0.5, 1.5]},
        "nested": {"type": "object", "properties": {"scale": {"type": "number", "maximum": 2}}},
        "scales": {"type": "array", "items": {"type": "number"}},
        "loras": {
            "type": "array",
            "items": {"type": "object", "properties": {"path": {"type": "string"}, "scale": {"type": "number"}}},
        },
    },
}
PLACES: list[tuple[str, Any, tuple[Any, ...]]] = [
    ("bounded", lambda v: v, ("bounded",)),
    ("exclusive", lambda v: v, ("exclusive",)),
    ("free", lambda v: v, ("free",)),
    ("nullable", lambda v: v, ("nullable",)),
    ("either", lambda v: v, ("either",)),
    ("count", lambda v: v, ("count",)),
    ("step", lambda v: v, ("step",)),
    ("choice", lambda v: v, ("choice",)),
    ("nested", lambda v: {"scale": v}, ("nested", "scale")),
    ("scales", lambda v: [0.5, v], ("scales", 1)),
    ("loras", lambda v: [{"path": "a", "scale": 1.0}, {"path": "b", "scale": v}], ("loras", 1, "scale")),
]


@pytest.fixture(scope="module")
def numbers(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from conftest import import_file, write_schemas
    from runcomfy_codegen.pipeline import generate

    root = tmp_path_factory.mktemp("numbers")
    generate(write_schemas(root / "schemas", {"acme/numbers": NUMBERS}), root / "out")
    return import_file(root / "out/runcomfy/models/acme/numbers.py", "_numbers_model")


@pytest.mark.parametrize("value", [*NOT_FINITE, Float("nan"), Float("inf")], ids=repr)
@pytest.mark.parametrize(("field", "wrap", "path"), PLACES, ids=[place[0] for place in PLACES])
def test_every_number_field_refuses_nan_and_infinity(
    numbers: Any, field: str, wrap: Any, path: Any, value: float
) -> None:
    with pytest.raises(runcomfy.ValidationError) as info:
        numbers.Input(**{field: wrap(value)})
    assert [error.path for error in info.value.errors] == [path]
    with pytest.raises(runcomfy.ValidationError):
        numbers.Input.from_dict({field: wrap(value)})


@pytest.mark.parametrize(("field", "wrap", "path"), PLACES, ids=[place[0] for place in PLACES])
def test_finite_numbers_are_still_accepted(numbers: Any, field: str, wrap: Any, path: Any) -> None:
    value = 1 if field == "count" else 0.5
    made = numbers.Input(**{field: wrap(value)})
    assert made.to_dict()[field] == wrap(value)
    assert numbers.Input(free=Float(0.25)).to_dict() == {"free": 0.25}


@pytest.mark.parametrize("value", NOT_FINITE, ids=repr)
def test_the_seed_models_bounded_number_refuses_nan(value: float) -> None:
    with pytest.raises(runcomfy.ValidationError, match="cfg_scale"):
        kling.Input(prompt="p", cfg_scale=value)


# --- the transports: a body JSON cannot carry is never sent ----------------------------------------------


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(max_side=64) as emulator:
        yield emulator


def unsendable_input() -> edit.Input:
    """A valid input, then changed behind validation's back (as a caller may): it holds a NaN."""
    value = edit.Input(prompt="p", image_urls=[IMAGE])
    value.image_urls = [IMAGE, math.nan]  # type: ignore[list-item]
    return value


@pytest.mark.parametrize("body", [{"x": math.nan}, {"x": [1, {"y": -math.inf}]}, {"x": object()}, {"x": {1, 2}}])
def test_a_body_json_cannot_carry_is_a_validation_error_before_any_call_sync(emu: Emulator, body: Any) -> None:
    with Client(token=emu.token, base_url=emu.base_url, retry=RetryPolicy(max_retries=0)) as client:
        with pytest.raises(runcomfy.ValidationError) as info:
            client._transport.call("POST", "/v1/models/google/nano-banana-2/edit", body=body)
        assert info.value.errors[0].path[0] == "x"
        with pytest.raises(runcomfy.ValidationError, match=r"image_urls\[1\]"):
            client.submit(unsendable_input())
    assert emu.calls == []


@pytest.mark.parametrize("body", [{"x": math.nan}, {"x": [1, {"y": -math.inf}]}, {"x": object()}, {"x": {1, 2}}])
def test_a_body_json_cannot_carry_is_a_validation_error_before_any_call_async(emu: Emulator, body: Any) -> None:
    async def main() -> None:
        async with AsyncClient(token=emu.token, base_url=emu.base_url, retry=RetryPolicy(max_retries=0)) as client:
            with pytest.raises(runcomfy.ValidationError) as info:
                await client._transport.call("POST", "/v1/models/google/nano-banana-2/edit", body=body)
            assert info.value.errors[0].path[0] == "x"
            with pytest.raises(runcomfy.ValidationError, match=r"image_urls\[1\]"):
                await client.run(unsendable_input())

    asyncio.run(main())
    assert emu.calls == []


def test_a_self_containing_body_is_a_validation_error(emu: Emulator) -> None:
    body: dict[str, Any] = {"x": []}
    body["x"].append(body)
    with Client(token=emu.token, base_url=emu.base_url) as client, pytest.raises(runcomfy.ValidationError):
        client._transport.call("POST", "/v1/models/google/nano-banana-2/edit", body=body)
    assert emu.calls == []
