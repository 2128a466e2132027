"""Typing for typed users: what ``mypy --strict`` accepts and flags in a user's script, the run-time
signatures that ``help()`` / ``inspect.signature`` / Jupyter show, and the errors of a bad call
(unknown, missing or positional arguments) raised before any network call."""

from __future__ import annotations

import asyncio
import inspect
import os
import pydoc
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import runcomfy
from conftest import IMAGE, ROOT
from runcomfy import ValidationError
from runcomfy.models.google.nano_banana_2 import edit

# --- mypy --strict on a user's script ---------------------------------------------------------------

# Every line marked "# E: <code>" must get exactly that mypy error; no other line may get one.
USER_SCRIPT = """
from __future__ import annotations

import runcomfy
from runcomfy.models.google.nano_banana_2 import edit

urls: list[str] = ["https://example.com/a.png"]
more: tuple[str, ...] = ("https://example.com/a.png", "https://example.com/b.png")
value = edit.Input(prompt="p", image_urls=urls)
other = edit.Input(prompt="p", image_urls=more, num_images=2)
stored: list[str] = value.image_urls  # attributes stay lists


def sync(client: runcomfy.Client) -> None:
    result = edit.run(prompt="p", image_urls=urls, client=client)
    images: list[str] | None = result.output.images
    reveal_type(result.output)
    handle = edit.submit(prompt="p", image_urls=more, client=client)
    reveal_type(handle.result().output)
    edit.run(value, client=client, timeout=60)
    client.run(other).output.images


async def asynchronous(client: runcomfy.AsyncClient) -> None:
    result = await edit.run_async(prompt="p", image_urls=more, client=client)
    reveal_type(result.output)
    handle = await edit.submit_async(prompt="p", image_urls=urls, client=client)
    await handle.status()


edit.Input(prompt="p", image_urls=urls, num_images="2")  # E: arg-type
edit.Input(prompt="p", image_urls=urls, num_image=2)  # E: call-arg
edit.Input(image_urls=urls)  # E: call-arg
edit.Input(prompt="p", image_urls=[1])  # E: list-item
edit.run(prompt="p", image_urls=urls, resolution="8K")  # E: call-overload
edit.submit(prompt="p", image_urls=urls, num_image=2)  # E: call-overload
"""


@pytest.fixture(scope="module")
def mypy_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[int, set[str]]]:
    """mypy --strict's output on USER_SCRIPT, and its error codes by line."""
    root = tmp_path_factory.mktemp("typed-user")
    script = root / "user.py"
    script.write_text(USER_SCRIPT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(root / "cache"), str(script)],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "MYPYPATH": str(ROOT / "generated")},
        timeout=600,
        check=False,
    )
    errors: dict[int, set[str]] = {}
    for line in done.stdout.splitlines():
        found = re.match(r".*user\.py:(\d+): error: .*\[([a-z-]+)\]$", line)
        if found:
            errors.setdefault(int(found[1]), set()).add(found[2])
    return done.stdout, errors


def test_mypy_strict_accepts_list_and_tuple_variables_and_types_the_output(mypy_report):
    output, errors = mypy_report
    expected = {
        number: {line.split("# E: ")[1]}
        for number, line in enumerate(USER_SCRIPT.splitlines(), start=1)
        if "# E: " in line
    }
    assert errors == expected, output
    revealed = re.findall(r'Revealed type is "([^"]+)"', output)
    assert revealed == ["runcomfy.models.google.nano_banana_2.edit.Output"] * 3, output


# --- signatures ---------------------------------------------------------------------------------------

FUNCTIONS = {"run": edit.run, "submit": edit.submit, "run_async": edit.run_async, "submit_async": edit.submit_async}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_module_functions_show_the_fields_in_their_signature_and_docstring(name):
    function = FUNCTIONS[name]
    params = inspect.signature(function).parameters
    assert params["input"].kind is inspect.Parameter.POSITIONAL_ONLY
    fields = [p for p in params.values() if p.name in edit.Input._FIELDS]
    assert [p.name for p in fields] == list(edit.Input._FIELDS)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in fields)
    assert params["image_urls"].annotation == "Sequence[str | LocalMedia]"
    assert repr(params["prompt"].default) == "REQUIRED" and params["num_images"].default is runcomfy.UNSET
    assert "client" in params and ("timeout" in params) == name.startswith("run")
    assert "prompt" in str(inspect.signature(function))
    doc = pydoc.render_doc(function, renderer=pydoc.plaintext)
    assert "num_images: The number of images to generate." in doc  # the schema's description
    assert "image_urls: 'Sequence[str | LocalMedia]' = REQUIRED" in doc


def test_input_signature_shows_the_fields():
    params = inspect.signature(edit.Input).parameters
    assert [name for name in params if name in edit.Input._FIELDS] == list(edit.Input._FIELDS)
    assert params["image_urls"].annotation == "Sequence[str | LocalMedia]"
    assert "prompt: The prompt for image editing." in (edit.Input.__init__.__doc__ or "")


# --- bad calls: one ValidationError with a did-you-mean, before any network call ----------------------


def bogus_client() -> runcomfy.Client:
    """A client whose every call fails (nothing listens there), at once: a ValidationError from a call
    with it proves the error came first."""
    return runcomfy.Client(token="t", base_url="http://127.0.0.1:9", max_retries=0, timeout=2)


def bogus_async_client() -> runcomfy.AsyncClient:
    return runcomfy.AsyncClient(token="t", base_url="http://127.0.0.1:9", max_retries=0, timeout=2)


CALLERS: dict[str, Callable[..., Any]] = {
    "Input": lambda **kw: edit.Input(**kw),
    "run": lambda **kw: edit.run(client=bogus_client(), **kw),
    "submit": lambda **kw: edit.submit(client=bogus_client(), **kw),
    "run_async": lambda **kw: asyncio.run(edit.run_async(client=bogus_async_client(), **kw)),
    "submit_async": lambda **kw: asyncio.run(edit.submit_async(client=bogus_async_client(), **kw)),
}


@pytest.mark.parametrize("caller", list(CALLERS))
def test_unknown_and_missing_keywords_are_one_validation_error(caller):
    with pytest.raises(ValidationError) as info:
        CALLERS[caller](image_urls=[IMAGE], num_image=2, num_images=9)
    assert [str(error) for error in info.value.errors] == [
        "num_image: unknown field (did you mean 'num_images'?)",
        "prompt: missing, expected a value (required field)",
        "num_images: expected an integer >= 1 and <= 4, got 9",
    ]
    assert info.value.model == "google/nano-banana-2/edit"


@pytest.mark.parametrize("caller", ["run", "submit", "run_async", "submit_async"])
def test_a_misspelt_option_is_suggested_even_with_an_input(caller):
    value = edit.Input(prompt="p", image_urls=[IMAGE])
    function = FUNCTIONS[caller]
    call = (
        (lambda: asyncio.run(function(value, clinet=None)))
        if caller.endswith("async")
        else (lambda: function(value, clinet=None))
    )
    with pytest.raises(ValidationError, match=r"clinet: unknown field \(did you mean 'client'\?\)"):
        call()


def test_input_rejects_positional_arguments_clearly():
    with pytest.raises(TypeError, match=r"Input\(\) takes keyword arguments only.*Input\.from_dict\(data\)"):
        edit.Input({"prompt": "p", "image_urls": [IMAGE]})  # type: ignore[misc]


@pytest.mark.parametrize(
    "args", [("p",), ("p", [IMAGE]), ("p", [IMAGE], *range(20))], ids=["one", "as-many-as-fields", "more"]
)
def test_input_refuses_any_number_of_positional_arguments(args):
    # The run-time fields are positional-or-keyword (for speed): a positional value must still not bind to one.
    with pytest.raises(TypeError, match=r"Input\(\) takes keyword arguments only"):
        edit.Input(*args)
    with pytest.raises(TypeError, match=r"Input\(\) takes keyword arguments only"):
        edit.Input(*args[:1], image_urls=[IMAGE])


def test_signature_shows_the_keyword_only_call():
    params = inspect.signature(edit.Input).parameters
    assert list(params) == [*edit.Input._FIELDS, "extra_body"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())


def test_keywords_named_like_the_signature_s_own_parameters_are_unknown_fields():
    with pytest.raises(ValidationError) as info:
        edit.Input(prompt="p", image_urls=[IMAGE], **{"self": 1, "_arg0": 0, "_args": 2, "my-field": 3})
    assert [error.path for error in info.value.errors] == [("self",), ("_arg0",), ("_args",), ("my-field",)]


def test_from_dict_and_keywords_report_alike():
    data = {"image_urls": [IMAGE], "resolutoin": "2K"}
    with pytest.raises(ValidationError) as by_dict:
        edit.Input.from_dict(data)
    with pytest.raises(ValidationError) as by_keywords:
        edit.Input(**data)
    assert str(by_dict.value) == str(by_keywords.value)
    assert "resolutoin: unknown field (did you mean 'resolution'?)" in str(by_dict.value)


# --- arrays: any sequence in, a list stored; a str is no array --------------------------------------


class Urls(Sequence[str]):
    """A sequence that is neither a list nor a tuple."""

    def __init__(self, *items: str) -> None:
        self._items = list(items)

    def __getitem__(self, index: Any) -> Any:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)


@pytest.mark.parametrize("urls", [(IMAGE,), Urls(IMAGE, IMAGE)], ids=["tuple", "custom Sequence"])
def test_any_sequence_is_taken_and_stored_as_a_list(urls):
    value = edit.Input(prompt="p", image_urls=urls)
    assert type(value.image_urls) is list and value.image_urls == list(urls)
    assert value.to_dict()["image_urls"] == list(urls)


@pytest.mark.parametrize("text", [IMAGE, IMAGE.encode()])
def test_a_string_is_not_an_array(text):
    with pytest.raises(ValidationError) as info:
        edit.Input(prompt="p", image_urls=text)
    assert [(error.path, error.expected) for error in info.value.errors] == [(("image_urls",), "an array")]


def test_a_required_field_that_takes_any_value_is_reported_missing(generate_models):
    schema = {"type": "object", "required": ["anything", "n"], "properties": {"anything": {}, "n": {"type": "integer"}}}
    module = generate_models({"acme/any": schema})["acme/any"]
    with pytest.raises(ValidationError) as info:
        module.Input()
    assert [str(error) for error in info.value.errors] == [
        "anything: missing, expected a value (required field)",
        "n: missing, expected a value (required field)",
    ]
    assert module.Input(anything=None, n=1).to_dict() == {"anything": None, "n": 1}
    with pytest.raises(ValidationError, match="anything: missing"):
        module.run(n=1, client=bogus_client())


def test_a_field_named_input_does_not_clash_with_the_functions_input_parameter(generate_models):
    schema = {"type": "object", "properties": {"input": {"type": "string"}}}
    module = generate_models({"acme/input": schema})["acme/input"]
    assert module.Input._NAMES == {"input": "input_"}
    assert module.Input(input_="x").to_dict() == {"input": "x"}
    assert "input_" in inspect.signature(module.run).parameters


# --- help(runcomfy) -----------------------------------------------------------------------------------


def test_help_on_the_package_is_short_and_lists_the_lazy_names():
    code = textwrap.dedent(
        """
        import pydoc, sys, runcomfy
        text = pydoc.render_doc(runcomfy, renderer=pydoc.plaintext)
        print(len(text.splitlines()))
        print("edit.run(prompt=" in text, "ValidationError" in text)
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("requests", "httpx")))
        print({"Client", "AsyncClient", "map", "amap", "Result", "ValidationError"} <= set(dir(runcomfy)))
        """
    )
    lines = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert int(lines[0]) < 120  # it was 1,256 lines, mostly exception methods inherited from BaseException
    assert lines[1:4] == ["True True", "[]", "True"]


def test_the_package_names_stay_importable_and_typed():
    from runcomfy import AsyncClient, Client, ValidationError, map  # noqa: F401 - the lazy and eager names

    assert runcomfy.Client is Client and issubclass(runcomfy.SubmitUncertainError, runcomfy.APIConnectionError)
    init = (Path(runcomfy.__file__)).read_text(encoding="utf-8")
    for name in ("Client", "ValidationError", "UNSET", "map"):  # explicit re-exports, for mypy --strict
        assert f"import {name} as {name}\n" in init
