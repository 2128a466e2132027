"""Build-and-validate speed of a ``google/nano-banana-2/edit`` input, from a dict.

Contenders (all timed in one process, interleaved round by round; the median of per-round ratios is
reported, because the machine is shared and noisy):

  runcomfy        runcomfy.models.google.nano_banana_2.edit.Input.from_dict(d)   (validates + builds)
  pydantic        model_validate(d) on a hand-written pydantic v2 model          (validates + builds)
  fastjsonschema  a validator compiled once from edit.INPUT_SCHEMA               (validates only)
  jsonschema      Draft202012Validator(...).validate(d) / .is_valid(d), built once (validates only)

Every contender checks the same things: ``additionalProperties: false``, required keys, types (no bool
for an integer), bounds, enums, 1..20 image URLs each an http(s) URL or a ``data:image/...;base64,`` URI
(one equivalent regular expression for the others). A sanity pass first checks that all contenders accept the
valid dicts and reject the invalid ones.

Run: ``.venv/bin/python benchmarks/bench_validation.py [--repeat 15] [--target-ms 20]``
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

import fastjsonschema
import jsonschema
import pydantic
import runcomfy
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    create_model,
)
from runcomfy.models.google.nano_banana_2 import edit

# --- the image URI check, shared by pydantic, fastjsonschema and jsonschema -------------------------
# What runcomfy's generated code accepts (runcomfy/_validation.py): an http(s) URL with a host and no
# whitespace, or a data:image/<subtype>[;param=value]*;base64,<data> URI. One pattern, as a user would write
# it, case-insensitive on the scheme and media prefix only; the pydantic ``pattern=`` variant below runs the
# very same expression in pydantic-core's Rust regex engine.
IMAGE_URI_PATTERN = (
    r"(?i:https?)://[^\s/?#]+(?:[/?#]\S*)?"
    r"|(?i:data:image/)[A-Za-z0-9][A-Za-z0-9.+-]*(?:;[A-Za-z0-9.+-]+=[^;,\s]*)*(?i:;base64,)[A-Za-z0-9+/]+={0,2}"
)
_IMAGE_URI = re.compile(IMAGE_URI_PATTERN)


def is_image_uri(value: object, _fullmatch: Callable[[str], Any] = _IMAGE_URI.fullmatch) -> bool:
    if not isinstance(value, str):
        return True  # a format only applies to strings (JSON Schema)
    return _fullmatch(value) is not None


# --- (b) the hand-written pydantic equivalent ---------------------------------------------------------


def _image_uri(value: str) -> str:
    if not is_image_uri(value):
        raise ValueError("expected an image URL (https://, http://) or data:image/...;base64, URI")
    return value


ImageUri = Annotated[StrictStr, AfterValidator(_image_uri)]


class PydanticInput(BaseModel):
    """The pydantic twin of ``edit.Input``. Strict scalar types: runcomfy rejects ``True`` for an integer
    and ``"1"`` for a boolean, and so does this model (lax pydantic would coerce both)."""

    model_config = ConfigDict(extra="forbid")

    prompt: StrictStr
    image_urls: Annotated[list[ImageUri], Field(min_length=1, max_length=20)]
    num_images: Annotated[StrictInt, Field(ge=1, le=4)] = 1
    seed: StrictInt = 0
    aspect_ratio: Literal["auto", "21:9", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3", "9:16"] = "auto"
    resolution: Literal["0.5K", "1K", "2K", "4K"] = "1K"
    output_format: Literal["jpeg", "png", "webp"] = "png"
    safety_tolerance: Literal[1, 2, 3, 4, 5, 6] = 4
    limit_generations: StrictBool = True
    enable_web_search: StrictBool = False


def _pydantic_variant(name: str, image_item: Any) -> type[BaseModel]:
    """``PydanticInput`` with another ``image_urls`` item type."""
    fields: dict[str, Any] = {key: (info.annotation, info) for key, info in PydanticInput.model_fields.items()}
    fields["image_urls"] = (Annotated[list[image_item], Field(min_length=1, max_length=20)], ...)
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


# What an idiomatic pydantic user may write instead of an AfterValidator: ``pattern=``, run by pydantic-core's
# Rust regex engine.
PydanticPatternInput = _pydantic_variant(
    "PydanticPatternInput",
    Annotated[str, StringConstraints(strict=True, pattern=f"^(?:{IMAGE_URI_PATTERN})$")],
)
# For the breakdown only: the same model with a URL check that does nothing.
PydanticNoUrlCheck = _pydantic_variant("PydanticNoUrlCheck", Annotated[StrictStr, AfterValidator(lambda value: value)])


# --- (c) fastjsonschema and (d) jsonschema, on the module's own INPUT_SCHEMA --------------------------

SCHEMA: dict[str, Any] = copy.deepcopy(edit.INPUT_SCHEMA)
SCHEMA["additionalProperties"] = False
SCHEMA_2020 = {"$schema": "https://json-schema.org/draft/2020-12/schema", **SCHEMA}

# use_default=False: with the default (True) fastjsonschema writes the schema defaults into the dict it is
# given, which would both mutate the shared test dicts and add work; validation only is what we compare.
FJS_VALIDATE = fastjsonschema.compile(SCHEMA, formats={"image_uri": is_image_uri}, use_default=False)

FORMAT_CHECKER = jsonschema.FormatChecker(formats=())  # only the format we need: no costly lookups
FORMAT_CHECKER.checks("image_uri")(is_image_uri)
JS_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA_2020, format_checker=FORMAT_CHECKER)
jsonschema.Draft202012Validator.check_schema(SCHEMA_2020)

# --- test data ------------------------------------------------------------------------------------------

_PNG_1PX = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
PROMPT = (
    "Keep the subject identity unchanged, convert the background into a rainy neon cyberpunk street at "
    "night, cinematic lighting, high detail."
)
DATASETS: dict[str, dict[str, Any]] = {
    "minimal (2 required keys, 1 URL)": {
        "prompt": PROMPT,
        "image_urls": ["https://playgrounds-storage-public.runcomfy.net/tools/7324/media-files/input-1-1.png"],
    },
    "all 10 fields set, 2 URLs": {
        "prompt": PROMPT,
        "image_urls": [
            "https://playgrounds-storage-public.runcomfy.net/tools/7324/media-files/input-1-1.png",
            "https://cdn.example.com/uploads/2026/05/portrait_0042.jpg?width=2048&sig=a1b2c3d4e5f6",
        ],
        "num_images": 2,
        "seed": 123456789,
        "aspect_ratio": "16:9",
        "resolution": "2K",
        "output_format": "webp",
        "safety_tolerance": 2,
        "limit_generations": False,
        "enable_web_search": True,
    },
    "8 image URLs (incl. a data: URI), 4 fields": {
        "prompt": PROMPT,
        "image_urls": [
            f"https://storage.googleapis.com/my-bucket/refs/reference_{i:03d}.png?X-Goog-Expires=900&X-Goog-Signature=abcdef{i}"
            for i in range(7)
        ]
        + [_PNG_1PX],
        "num_images": 4,
        "aspect_ratio": "1:1",
    },
}
INVALID: dict[str, dict[str, Any]] = {
    "unknown key": {"prompt": "x", "image_urls": ["https://a.b/c.png"], "num_image": 2},
    "missing prompt": {"image_urls": ["https://a.b/c.png"]},
    "bool num_images": {"prompt": "x", "image_urls": ["https://a.b/c.png"], "num_images": True},
    "num_images 5": {"prompt": "x", "image_urls": ["https://a.b/c.png"], "num_images": 5},
    "bad URL": {"prompt": "x", "image_urls": ["ftp://a.b/c.png"]},
    "0 URLs": {"prompt": "x", "image_urls": []},
    "21 URLs": {"prompt": "x", "image_urls": ["https://a.b/c.png"] * 21},
    "bad enum": {"prompt": "x", "image_urls": ["https://a.b/c.png"], "resolution": "8K"},
    "string bool": {"prompt": "x", "image_urls": ["https://a.b/c.png"], "enable_web_search": "true"},
    "safety 7": {"prompt": "x", "image_urls": ["https://a.b/c.png"], "safety_tolerance": 7},
}
# The error path, timed too (one case with several problems at once).
ERROR_CASE = {
    "prompt": PROMPT,
    "image_urls": ["https://a.b/c.png", "not a url"],
    "num_images": 9,
    "resolution": "8k",
}

# --- contenders -------------------------------------------------------------------------------------------

from_dict = edit.Input.from_dict
model_validate = PydanticInput.model_validate
js_validate = JS_VALIDATOR.validate
js_is_valid = JS_VALIDATOR.is_valid

CONTENDERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "runcomfy Input.from_dict": from_dict,
    "pydantic model_validate": model_validate,
    "pydantic, pattern= (Rust regex)": PydanticPatternInput.model_validate,
    "fastjsonschema (compiled)": FJS_VALIDATE,
    "jsonschema Draft202012 .validate": js_validate,
    "jsonschema Draft202012 .is_valid": js_is_valid,
}
BASELINE = "pydantic model_validate"
ERRORS: dict[str, tuple[type[BaseException], ...]] = {
    "runcomfy Input.from_dict": (runcomfy.ValidationError,),
    "pydantic model_validate": (pydantic.ValidationError,),
    "pydantic, pattern= (Rust regex)": (pydantic.ValidationError,),
    "fastjsonschema (compiled)": (fastjsonschema.JsonSchemaValueException,),
    "jsonschema Draft202012 .validate": (jsonschema.ValidationError,),
}


def _accepts(name: str, func: Callable[[dict[str, Any]], Any], data: dict[str, Any]) -> bool:
    if name.endswith(".is_valid"):
        return bool(func(data))
    try:
        func(data)
    except ERRORS[name]:
        return False
    return True


def sanity() -> None:
    problems = []
    for name, func in CONTENDERS.items():
        for label, data in DATASETS.items():
            before = copy.deepcopy(data)
            if not _accepts(name, func, data):
                problems.append(f"{name} rejects valid {label!r}")
            if data != before:
                problems.append(f"{name} mutated {label!r}")
        for label, data in {**INVALID, "error case": ERROR_CASE}.items():
            if _accepts(name, func, data):
                problems.append(f"{name} accepts invalid {label!r}")
    built = from_dict(DATASETS["all 10 fields set, 2 URLs"])
    if built.to_dict() != DATASETS["all 10 fields set, 2 URLs"]:
        problems.append("runcomfy to_dict() does not round-trip")
    if problems:
        sys.exit("sanity check failed:\n  " + "\n  ".join(problems))


# --- timing -----------------------------------------------------------------------------------------------


def _raising(func: Callable[[dict[str, Any]], Any], errors: tuple[type[BaseException], ...]) -> Callable[[Any], Any]:
    def call(data: Any) -> None:
        with contextlib.suppress(*errors):
            func(data)

    return call


def _loop(func: Callable[[Any], Any], data: Any, number: int) -> float:
    """Seconds per call over ``number`` calls (GC off, like timeit)."""
    rng = range(number)
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in rng:
            func(data)
        return (time.perf_counter() - start) / number
    finally:
        if gc_was_on:
            gc.enable()


def _calibrate(func: Callable[[Any], Any], data: Any, target: float) -> int:
    number = 1
    while True:
        per_call = _loop(func, data, number)
        if per_call * number >= target / 4 or number >= 1 << 22:
            return max(1, int(target / max(per_call, 1e-9)))
        number *= 4


def measure(
    funcs: dict[str, Callable[[Any], Any]],
    data: Any,
    repeat: int,
    target: float,
    around: dict[str, tuple[Callable[[], None], Callable[[], None]]] | None = None,
) -> dict[str, list[float]]:
    """Per-call seconds, ``repeat`` samples per contender; contenders interleaved (order rotated).
    ``around[name]`` = (enter, leave), called around each of that contender's samples."""
    around = around or {}
    nothing = (lambda: None, lambda: None)
    numbers = {}
    for name, func in funcs.items():
        enter, leave = around.get(name, nothing)
        enter()
        try:
            numbers[name] = _calibrate(func, data, target)
        finally:
            leave()
    samples: dict[str, list[float]] = {name: [] for name in funcs}
    names = list(funcs)
    for round_ in range(repeat):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            enter, leave = around.get(name, nothing)
            enter()
            try:
                samples[name].append(_loop(funcs[name], data, numbers[name]))
            finally:
                leave()
    return samples


def table(title: str, samples: dict[str, list[float]], baseline: str) -> str:
    base = samples[baseline]
    lines = [
        f"#### {title}",
        "",
        f"| contender | median µs/call | min µs/call | ratio to {baseline.split()[0]} (median of paired rounds) |",
        "|---|---:|---:|---:|",
    ]
    for name, values in samples.items():
        paired = statistics.median(v / b for v, b in zip(values, base, strict=True))
        lines.append(f"| {name} | {statistics.median(values) * 1e6:.2f} | {min(values) * 1e6:.2f} | {paired:.2f}× |")
    return "\n".join(lines)


def _url_check_patches() -> list[tuple[Any, str, Any, Callable[..., Any]]]:
    """Where the generated code looks up its per-item image URI check, as (namespace, name, original,
    no-op): ``_v.is_media_uri(value, kind)``, or a pattern's bound ``fullmatch`` kept as a module global."""
    from runcomfy import _validation as v

    found: list[tuple[Any, str, Any, Callable[..., Any]]] = []
    if callable(getattr(v, "is_media_uri", None)):
        found.append((v, "is_media_uri", v.is_media_uri, lambda value, kind: True))
    for name, value in vars(edit).items():
        if getattr(value, "__name__", None) in ("fullmatch", "match") and isinstance(
            getattr(value, "__self__", None), re.Pattern
        ):
            found.append((edit, name, value, lambda value: True))
    return found


def breakdown(repeat: int, target: float) -> str:
    """Where runcomfy's time goes: the same calls with the per-URL check made a no-op (the generated module's
    check patched, in this process only; pydantic's AfterValidator replaced by an identity), and the URL
    checks alone."""
    patches = _url_check_patches()
    hits: dict[str, int] = {}

    def counting(name: str, noop: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            hits[name] = hits.get(name, 0) + 1
            return noop(*args)

        return call

    def patch() -> None:
        for namespace, name, _, noop in patches:
            setattr(namespace, name, noop)

    def unpatch() -> None:
        for namespace, name, original, _ in patches:
            setattr(namespace, name, original)

    for namespace, name, _, noop in patches:
        setattr(namespace, name, counting(name, noop))
    try:
        from_dict(DATASETS["minimal (2 required keys, 1 URL)"])
    finally:
        unpatch()
    used = [(name, original) for namespace, name, original, _ in patches if hits.get(name)]
    if not used:
        return "(breakdown skipped: cannot find the generated code's image URI check to stub it out)"
    name, original = used[0]
    url_check = (lambda item: original(item, "image")) if name == "is_media_uri" else original
    lines = [
        "#### Where the time goes (µs/call, medians; 'no URL check' = the per-item image URI check replaced "
        f"by a no-op in both: runcomfy's `{name}`, pydantic's AfterValidator)",
        "",
        "| dict | runcomfy | runcomfy, no URL check | pydantic | pydantic, no URL check | ratio without URL check "
        "| runcomfy's URL checks alone | benchmark's shared URL check alone |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, data in DATASETS.items():
        urls = data["image_urls"]

        def runcomfy_urls(_data: Any, items: list[str] = urls) -> None:
            for item in items:
                url_check(item)

        def shared_urls(_data: Any, items: list[str] = urls) -> None:
            for item in items:
                is_image_uri(item)

        funcs = {
            "rc": from_dict,
            "rc0": from_dict,
            "pd": model_validate,
            "pd0": PydanticNoUrlCheck.model_validate,
            "rcu": runcomfy_urls,
            "shu": shared_urls,
        }
        samples = measure(funcs, data, repeat, target, around={"rc0": (patch, unpatch)})
        med = {key: statistics.median(values) * 1e6 for key, values in samples.items()}
        ratio0 = statistics.median(a / b for a, b in zip(samples["rc0"], samples["pd0"], strict=True))
        lines.append(
            f"| {label} | {med['rc']:.2f} | {med['rc0']:.2f} | {med['pd']:.2f} | {med['pd0']:.2f} | {ratio0:.2f}× "
            f"| {med['rcu']:.2f} | {med['shu']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15, help="samples per contender and dict (default 15)")
    parser.add_argument("--target-ms", type=float, default=20.0, help="length of one sample in ms (default 20)")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the 'where the time goes' table")
    args = parser.parse_args()
    target = args.target_ms / 1000

    sanity()
    print("### Validation: build + validate a `google/nano-banana-2/edit` input from a dict\n")
    print(
        f"Python {platform.python_version()}, pydantic {pydantic.VERSION}, fastjsonschema {fastjsonschema.VERSION}, "
        f"jsonschema {_version('jsonschema')}; {args.repeat} interleaved samples of ~{args.target_ms:g} ms "
        "per contender and dict. Sanity check passed: all contenders accept the 3 valid dicts and reject "
        f"the {len(INVALID) + 1} invalid ones.\n"
    )
    summary: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for label, data in DATASETS.items():
        samples = measure(dict(CONTENDERS), data, args.repeat, target)
        print(table(f"valid: {label}", samples, BASELINE))
        print()
        for name, values in samples.items():
            summary[name].append(statistics.median(v / b for v, b in zip(values, samples[BASELINE], strict=True)))

    raising = {name: _raising(func, ERRORS[name]) for name, func in CONTENDERS.items() if name in ERRORS}
    raising["jsonschema Draft202012 .is_valid"] = js_is_valid
    samples = measure(raising, ERROR_CASE, args.repeat, target)
    print(
        table(
            "invalid (error path: 3 problems, all reported by runcomfy/pydantic, first by the others)",
            samples,
            BASELINE,
        )
    )
    print()

    if not args.no_breakdown:
        print(breakdown(args.repeat, target))
        print()

    print("#### Summary (valid dicts): geometric mean of the per-dict ratios to pydantic\n")
    print("| contender | ratio to pydantic | target |")
    print("|---|---:|---|")
    targets = {
        "runcomfy Input.from_dict": "≤ 0.60×, and below fastjsonschema and jsonschema",
    }
    for name, ratios in summary.items():
        print(f"| {name} | {statistics.geometric_mean(ratios):.2f}× | {targets.get(name, '')} |")
    run = statistics.geometric_mean(summary["runcomfy Input.from_dict"])
    others = [statistics.geometric_mean(summary[n]) for n in CONTENDERS if n.startswith(("fast", "jsonschema"))]
    verdict = "MET" if run <= 0.60 and all(run < other for other in others) else "NOT MET"
    print(f"\nTarget (runcomfy ≤ 0.60× pydantic and faster than fastjsonschema/jsonschema): **{verdict}**")


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


if __name__ == "__main__":
    main()
