"""Golden tests: inline schema → generate into a temp dir → import → assert behaviour."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import pickle
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from runcomfy import UNSET, ValidationError

SEED_LIKE = {
    "type": "object",
    "required": ["prompt", "image_urls"],
    "properties": {
        "prompt": {"type": "string", "description": "The prompt.", "default": "an example"},
        "image_urls": {
            "type": "array",
            "items": {"type": "string", "format": "image_uri"},
            "minItems": 1,
            "maxItems": 3,
        },
        "num_images": {"type": "integer", "minimum": 1, "maximum": 4, "default": 1},
        "guidance": {"type": "number", "exclusiveMinimum": 0, "maximum": 20},
        "aspect_ratio": {"type": "string", "enum": ["auto", "16:9", "1:1"], "default": "auto"},
        "duration": {"type": "string", "enum": ["5", "10"]},
        "safety": {"type": "integer", "enum": [1, 2, 3]},
        "flag": {"type": "boolean"},
    },
}


def test_fields_types_and_defaults(generate_models):
    module = generate_models({"acme/seed": SEED_LIKE})["acme/seed"]
    Input = module.Input
    params = inspect.signature(Input.__init__).parameters
    assert all(params[name].kind is inspect.Parameter.KEYWORD_ONLY for name in Input._FIELDS)
    # A required field's schema default is an example: at run time it defaults to REQUIRED, reported as missing.
    assert repr(params["prompt"].default) == "REQUIRED"
    assert params["num_images"].default is UNSET
    hints = typing.get_type_hints(Input.__init__, vars(module))
    assert typing.get_args(hints["aspect_ratio"])[0] == typing.Literal["auto", "16:9", "1:1"]
    assert typing.get_args(hints["duration"])[0] == typing.Literal["5", "10"]  # digit strings stay strings
    assert typing.get_args(hints["safety"])[0] == typing.Literal[1, 2, 3]  # integer enums stay integers
    assert "Example: 'an example'" in Input.__init__.__doc__
    assert "The server's default: 1" in Input.__init__.__doc__
    assert [f.name for f in dataclasses.fields(Input)] == [*SEED_LIKE["properties"], "extra_body"]


def test_unset_fields_are_not_sent_and_integers_normalised(generate_models):
    Input = generate_models({"acme/seed": SEED_LIKE})["acme/seed"].Input
    value = Input(prompt="p", image_urls=["https://x.test/a.png"], num_images=2.0, guidance=0.5)
    assert value.to_dict() == {"prompt": "p", "image_urls": ["https://x.test/a.png"], "num_images": 2, "guidance": 0.5}
    assert type(value.to_dict()["num_images"]) is int
    assert value.aspect_ratio is UNSET
    assert repr(value) == "Input(prompt='p', image_urls=['https://x.test/a.png'], num_images=2, guidance=0.5)"
    assert Input.from_dict(value.to_dict()) == value
    assert pickle.loads(pickle.dumps(value)) == value


def test_all_errors_collected_with_path_value_expectation(generate_models):
    Input = generate_models({"acme/seed": SEED_LIKE})["acme/seed"].Input
    with pytest.raises(ValidationError) as info:
        Input.from_dict(
            {
                "prompt": 1,
                "image_urls": ["ftp://x", "data:image/png;base64,iVBORw0KGgo="],
                "num_images": True,
                "guidance": 0,
                "aspect_ratio": "16:8",
                "flag": "yes",
                "num_imgs": 3,
            }
        )
    error = info.value
    assert isinstance(error, ValueError)
    found = {(e.path, e.expected.split(" (")[0]) for e in error.errors}
    assert (("prompt",), "a string") in found
    assert (("image_urls", 0), "an image URL") in found
    assert (("num_images",), "an integer") in found  # True is not a number
    assert (("guidance",), "a number > 0 and <= 20") in found
    assert (("aspect_ratio",), "one of 'auto', '16:9', '1:1'") in found
    assert (("flag",), "a boolean") in found
    assert any(e.path == ("num_imgs",) and "did you mean 'num_images'" in e.expected for e in error.errors)
    assert "did you mean '16:9'" in str(error)
    assert str(error).startswith("7 validation errors for acme/seed:")
    assert [e.value for e in error.errors if e.path == ("image_urls", 0)] == ["ftp://x"]


def test_missing_required_reported_with_other_errors(generate_models):
    Input = generate_models({"acme/seed": SEED_LIKE})["acme/seed"].Input
    with pytest.raises(ValidationError) as info:
        Input.from_dict({"num_images": 9})
    paths = sorted(e.path for e in info.value.errors)
    assert paths == [("image_urls",), ("num_images",), ("prompt",)]
    assert "missing" in str(info.value)


def test_media_uris(generate_models):
    Input = generate_models({"acme/seed": SEED_LIKE})["acme/seed"].Input
    for ok in ("https://a.b/c.png?x=1", "HTTP://host", "data:image/png;base64,AAAA", "data:image/svg+xml;base64,QQ=="):
        Input(prompt="p", image_urls=[ok])
    for bad in ("https://", "https:// x", "data:video/mp4;base64,AAAA", "data:image/png,AAAA", "/tmp/x.png", ""):
        with pytest.raises(ValidationError):
            Input(prompt="p", image_urls=[bad])


HOSTILE_TEXT = 'Ends with quote" """ triple \'\'\' {{ jinja }} {% if %} \\ back\\slash\nnew line\x00\u2028 `code` #'
PAYLOAD = "__import__('pathlib').Path('PWNED').touch()"


def hostile_schema() -> dict:
    return {
        "type": "object",
        "title": HOSTILE_TEXT + PAYLOAD,
        "description": '"""\n' + PAYLOAD + '\n"""',
        "required": ["class"],
        "properties": {
            "class": {"type": "string", "description": HOSTILE_TEXT, "default": '");' + PAYLOAD + "#"},
            "from": {"type": "integer", "description": '\\"""' + PAYLOAD},
            "self": {"type": "boolean"},
            "type": {"type": "string", "enum": ["a", "')" + PAYLOAD + "#", '"""', "\\"]},
            "len": {"type": "array", "items": {"type": "string"}},
            "to_dict": {"type": "string"},
            "UNSET": {"type": "string"},
            "str": {"type": "integer"},
            "my-field": {"type": "string"},
            "my_field": {"type": "string"},
            "2nd": {"type": "string"},
            "": {"type": "string"},
            "naïve": {"type": "string"},
            "__init__": {"type": "string"},
            "x\ny": {"type": "string", "pattern": "^[a-z]+$"},
            PAYLOAD: {"type": "number", "default": PAYLOAD},
        },
    }


def test_hostile_names_and_text_stay_data(generate_models, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = generate_models({"acme/hostile": hostile_schema()})["acme/hostile"]
    assert not (tmp_path / "PWNED").exists()
    Input = module.Input
    names = Input._NAMES
    assert names["class"] == "class_" and names["from"] == "from_" and names["self"] == "self_"
    assert names["type"] == "type" and names["len"] == "len"  # builtins the checks use are aliased, not shadowed
    assert names["to_dict"] == "to_dict_" and names["UNSET"] == "UNSET_" and names["str"] == "str_"
    assert names["my-field"] == "my_field" and names["my_field"] == "my_field_2"
    assert names["2nd"] == "field_2nd" and names[""] == "field" and names["__init__"] == "init"
    assert len(set(names.values())) == len(names)
    assert all(name.isidentifier() and name.isascii() for name in names.values())
    value = Input.from_dict({"class": "c", "type": "')" + PAYLOAD + "#", "len": ["a"], "x\ny": "abc", PAYLOAD: 1.5})
    assert value.class_ == "c" and value.to_dict()["type"] == "')" + PAYLOAD + "#"
    assert value.to_dict()["x\ny"] == "abc" and value.to_dict()[PAYLOAD] == 1.5
    with pytest.raises(ValidationError):
        Input(class_="c", type="b")
    # Descriptions are docstring text: parse the file, and find them as string constants, unchanged.
    tree = ast.parse(inspect.getsource(module))
    constants = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert any(HOSTILE_TEXT in text for text in constants)
    assert not any(isinstance(n, ast.Call) and getattr(n.func, "id", "") == "__import__" for n in ast.walk(tree))
    assert module.INPUT_SCHEMA == hostile_schema()
    assert not (tmp_path / "PWNED").exists()


def test_nested_objects_become_dataclasses(generate_models):
    schema = {
        "type": "object",
        "required": ["loras"],
        "properties": {
            "loras": {
                "type": "array",
                "maxItems": 3,
                "items": {
                    "type": "object",
                    "required": ["path"],
                    "properties": {
                        "path": {"type": "string", "format": "uri"},
                        "scale": {"type": "number", "minimum": 0, "maximum": 4, "default": 1},
                    },
                },
            },
            "camera": {"type": ["object", "null"], "properties": {"zoom": {"type": "integer"}}},
        },
    }
    module = generate_models({"acme/lora": schema})["acme/lora"]
    Lora = module.LorasItem
    value = module.Input.from_dict({"loras": [{"path": "https://x/y.safetensors", "scale": 0.5}], "camera": None})
    assert value.loras == [Lora(path="https://x/y.safetensors", scale=0.5)]
    assert value.to_dict() == {"loras": [{"path": "https://x/y.safetensors", "scale": 0.5}], "camera": None}
    assert module.Input(loras=[Lora(path="s3:x")], camera={"zoom": 2}).camera == module.Camera(zoom=2)
    with pytest.raises(ValidationError) as info:
        module.Input.from_dict({"loras": [{"path": "x y", "scale": 9, "extra": 1}], "camera": {"zoom": "no"}})
    located = {e.location for e in info.value.errors}
    assert located == {"loras[0].path", "loras[0].scale", "loras[0].extra", "camera.zoom"}


def test_combinators_and_nullable(generate_models):
    schema = {
        "type": "object",
        "properties": {
            "size": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "enum": ["auto"]}]},
            "mode": {"oneOf": [{"type": "string", "maxLength": 3}, {"type": "string", "pattern": "^x"}]},
            "note": {"type": "string", "nullable": True},
            "ratio": {"type": "number", "multipleOf": 0.25},
            "tags": {"type": "array", "uniqueItems": True},
            "kind": {"const": "fixed"},
        },
    }
    Input = generate_models({"acme/comb": schema})["acme/comb"].Input
    Input(size=3, mode="abc", note=None, ratio=1.75, tags=[1, True, "1"], kind="fixed")
    Input(size="auto", mode="xyzzy")
    for bad in (
        {"size": 0},
        {"size": "big"},
        {"mode": "xy"},  # matches both branches of oneOf
        {"ratio": 0.3},
        {"tags": [1, 1.0]},  # 1 and 1.0 are equal in JSON
        {"kind": "other"},
        {"note": 3},
    ):
        with pytest.raises(ValidationError):
            Input.from_dict(bad)


def test_output_is_lenient(generate_models):
    Output = generate_models({"acme/seed": SEED_LIKE})["acme/seed"].Output
    output = Output.from_dict({"images": ["https://x/1.png", "https://x/2.png"], "video": ["odd"], "new_key": {"a": 1}})
    assert output.images == ["https://x/1.png", "https://x/2.png"] and output.image is None
    assert output.extra == {"video": ["odd"], "new_key": {"a": 1}}
    assert output.urls() == ["https://x/1.png", "https://x/2.png"]
    assert Output.from_dict(None).urls() == []
    assert Output.from_dict({"audio": "https://x/a.mp3"}).audio == "https://x/a.mp3"


def test_model_ids_map_to_documented_module_paths(tmp_path):
    from runcomfy_codegen.naming import module_path

    assert module_path("google/nano-banana-2/edit") == ("google", "nano_banana_2", "edit")
    assert module_path("bytedance/seedance-2.5/text-to-video/1080p") == (
        "bytedance",
        "seedance_2_5",
        "text_to_video",
        "_1080p",
    )
    assert module_path("kling/kling-video-o3/4K/text-to-video") == ("kling", "kling_video_o3", "_4k", "text_to_video")
    assert module_path("blackforestlabs/flux-2-klein/9b/text-to-image")[2] == "_9b"
    assert module_path("acme/class/load") == ("acme", "class_", "load_")
    for bad in ("../../x", "a", "a/b/c/d/e/f", "a/.hidden", "a/b c", "/a/b", "a//b"):
        with pytest.raises(ValueError):
            module_path(bad)


def test_parent_and_child_models_share_a_package(generate_models):
    modules = generate_models({"acme/video": SEED_LIKE, "acme/video/draft": SEED_LIKE})
    assert modules["acme/video"].MODEL_ID == "acme/video"
    assert modules["acme/video/draft"].MODEL_ID == "acme/video/draft"


def test_refs_share_one_class_named_after_the_definition(generate_models):
    schema = {
        "type": "object",
        "$defs": {"point": {"type": "object", "required": ["x"], "properties": {"x": {"type": "integer"}}}},
        "properties": {"start": {"$ref": "#/$defs/point"}, "end": {"$ref": "#/$defs/point", "description": "End."}},
    }
    module = generate_models({"acme/ref": schema})["acme/ref"]
    value = module.Input.from_dict({"start": {"x": 1}, "end": {"x": 2.0}})
    assert value.start == module.Point(x=1) and value.end == module.Point(x=2)
    assert [name for name in module.__all__ if name.startswith("Point")] == ["Point"]
    with pytest.raises(ValidationError) as info:
        module.Input.from_dict({"start": {}})
    assert info.value.errors[0].location == "start.x"


def test_deep_nesting_stays_within_pythons_block_limits(generate_models):
    leaf: dict = {"type": "integer", "minimum": 0}
    for _ in range(18):  # 18 nested arrays: inline checks would need 18 nested for-loops
        leaf = {"type": "array", "items": leaf}
    module = generate_models({"acme/deep": {"type": "object", "properties": {"deep": leaf}}})["acme/deep"]
    value: object = 1
    for _ in range(18):
        value = [value]
    assert module.Input(deep=value).to_dict() == {"deep": value}
    bad: object = -1
    for _ in range(18):
        bad = [bad]
    with pytest.raises(ValidationError) as info:
        module.Input(deep=bad)
    assert info.value.errors[0].path == ("deep", *[0] * 18)


def test_loose_schemas_still_generate(generate_models):
    schema = {  # no "type" at the root; a required name the properties do not list
        "required": ["prompt", "extra_required"],
        "properties": {"prompt": {"type": "string"}},
    }
    Input = generate_models({"acme/loose": schema})["acme/loose"].Input
    assert Input(prompt="p", extra_required={"any": "value"}).to_dict()["extra_required"] == {"any": "value"}
    with pytest.raises(ValidationError):
        Input.from_dict({"prompt": "p"})


def _png(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


MEDIA_SCHEMA = {
    "type": "object",
    "required": ["image"],
    "properties": {
        "image": {
            "type": "string",
            "format": "image_uri",
            "validations": [
                {
                    "validation_rule": "width_pixels>",
                    "validation_value": 14,
                    "validation_error": "Width must exceed 14 px.",
                },
                {"validation_rule": "width/height<", "validation_value": 4, "validation_error": "Too wide."},
            ],
        },
        "refs": {"type": "array", "items": {"type": "string", "format": "image_uri"}},
        "video": {"type": "string", "format": "video_uri"},
        "clips": {"type": "array", "format": "video_uris"},
    },
}


def test_local_files_become_data_uris(generate_models, tmp_path):
    from PIL import Image

    module = generate_models({"acme/media": MEDIA_SCHEMA})["acme/media"]
    path = tmp_path / "in.png"
    path.write_bytes(_png(32, 32))
    mp4 = b"\x00\x00\x00\x18ftypmp42" + bytes(64)
    value = module.Input(image=path, refs=[_png(20, 20), Image.new("RGB", (16, 16)), "https://x/y.png"], clips=[mp4])
    body = value.to_dict()
    assert body["image"].startswith("data:image/png;base64,iVBORw0KGgo")
    assert [ref[:22] for ref in body["refs"][:2]] == ["data:image/png;base64,"] * 2 and body["refs"][
        2
    ] == "https://x/y.png"
    assert body["clips"][0].startswith("data:video/mp4;base64,")
    hints = typing.get_type_hints(module.Input.__init__, vars(module))
    assert "LocalMedia" in str(inspect.signature(module.Input.__init__).parameters["image"].annotation)
    assert hints["image"] is not str


def test_local_files_are_checked_before_sending(generate_models, tmp_path):
    module = generate_models({"acme/media": MEDIA_SCHEMA})["acme/media"]
    big = tmp_path / "big.png"
    with big.open("wb") as handle:
        handle.truncate(51 * 2**20)
    cases = [
        ({"image": _png(10, 10)}, "Width must exceed 14 px."),  # the schema's RunComfy validations
        ({"image": _png(80, 10)}, "Too wide."),
        ({"image": big}, "over the 50 MB recommended for images sent inline: host the file and pass its URL"),
        ({"image": tmp_path / "missing.png"}, "is not a readable file"),
        ({"image": b"plain text"}, "the content of the bytes given is not a recognised image (PNG, JPEG"),
        ({"image": _png(32, 32), "video": _png(32, 32)}, "is image/png, not a video"),
    ]
    for fields, message in cases:
        with pytest.raises(ValidationError) as info:
            module.Input(**fields)
        assert len(info.value.errors) == 1 and message in str(info.value), str(info.value)


# --- Fidelity 2.0 -------------------------------------------------------------------------------------------


def test_extra_body_is_sent_as_is_and_never_validated(generate_models):
    module = generate_models({"acme/seed": SEED_LIKE})["acme/seed"]
    Input = module.Input
    params = inspect.signature(Input.__init__).parameters
    assert params["extra_body"].kind is inspect.Parameter.KEYWORD_ONLY and params["extra_body"].default is None
    for function in (module.run, module.submit, module.run_async, module.submit_async):
        parameter = inspect.signature(function).parameters["extra_body"]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY and parameter.default is None
    base = {"prompt": "p", "image_urls": ["https://x.test/a.png"]}
    extra = {"beta": {"anything": [1, None]}, "num_steps": "not checked"}
    value = Input(**base, extra_body=extra)
    assert value.to_dict() == {**base, **extra}
    assert value.extra_body == extra and value.extra_body is not extra  # a copy
    assert Input(**base).to_dict() == base
    with pytest.raises(ValidationError) as info:
        Input(**base, extra_body={"num_images": 2, 3: "x"})
    assert {error.path for error in info.value.errors} == {("extra_body", "num_images"), ("extra_body", 3)}
    with pytest.raises(ValidationError, match="unknown field"):
        Input.from_dict({**base, "extra_body": {"x": 1}})  # from_dict never takes it from the data
    assert module._v.input_of(Input, Input(**base), {}, {}, (), {"x": 1}).to_dict() == {**base, "x": 1}
    with pytest.raises(TypeError, match="already has an extra_body"):
        module._v.input_of(Input, value, {}, {}, (), {"x": 1})


def test_a_field_called_extra_body_is_renamed(generate_models):
    Input = generate_models({"acme/e": {"type": "object", "properties": {"extra_body": {"type": "string"}}}})[
        "acme/e"
    ].Input
    assert Input(extra_body_="x", extra_body={"y": 1}).to_dict() == {"extra_body": "x", "y": 1}


def test_closed_object_knows_what_its_branches_declare(generate_models):
    schema = {
        "type": "object",
        "properties": {
            "obj": {
                "type": "object",
                "properties": {"bar": {"type": "integer"}},
                "allOf": [{"properties": {"foo": {"type": "string"}}, "required": ["foo"]}],
            },
            "ref": {"$ref": "#/$defs/base", "properties": {"extra": {"type": "integer"}}},
        },
        "$defs": {"base": {"properties": {"name": {"type": "string"}}}},
    }
    Input = generate_models({"acme/c": schema})["acme/c"].Input
    assert Input(obj={"foo": "x", "bar": 1}).to_dict() == {"obj": {"foo": "x", "bar": 1}}
    with pytest.raises(ValidationError) as info:
        Input(obj={"foo": "x", "baz": 1})
    assert [(error.path, error.expected) for error in info.value.errors] == [(("obj", "baz"), "no such property")]
    Input(ref={"name": "n", "extra": 1})  # the $ref target's property is known beside the schema's own
    with pytest.raises(ValidationError, match="no such property"):
        Input(ref={"name": "n", "other": 1})


def test_schemas_that_crashed_the_generator(generate_models):
    schema = {
        "type": "object",
        "properties": {"anything": {"type": "array", "items": {}}, "nothing": {"enum": []}},
    }
    Input = generate_models({"acme/x": schema})["acme/x"].Input
    assert Input(anything=[1, "a", None]).to_dict() == {"anything": [1, "a", None]}
    with pytest.raises(ValidationError, match="no value"):
        Input(nothing="a")


def test_ref_resolves_against_the_id_of_its_subschema(generate_models):
    schema = {
        "type": "object",
        "$defs": {"n": {"type": "integer"}},
        "properties": {
            "scoped": {
                "$id": "https://example.test/inner",
                "$defs": {"n": {"type": "string"}},
                "properties": {"v": {"$ref": "#/$defs/n"}},
            },
            "anchor": {"$ref": "#text"},
            "escaped": {"$ref": "#/$defs/a~1b%25c"},
        },
        "$defs_extra": None,
    }
    schema.pop("$defs_extra")
    schema["$defs"].update({"t": {"$anchor": "text", "type": "string"}, "a/b%c": {"type": "boolean"}})
    Input = generate_models({"acme/r": schema})["acme/r"].Input
    Input(scoped={"v": "s"}, anchor="x", escaped=True)
    with pytest.raises(ValidationError) as info:
        Input(scoped={"v": 1}, anchor=1, escaped="x")  # the inner $defs/n is a string, not the root's integer
    assert {error.path for error in info.value.errors} == {("scoped", "v"), ("anchor",), ("escaped",)}


def test_recursive_refs_and_conditionals(generate_models):
    schema = {
        "type": "object",
        "$defs": {
            "tree": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/tree"}},
                },
            }
        },
        "properties": {
            "tree": {"$ref": "#/$defs/tree"},
            "cond": {"if": {"type": "integer"}, "then": {"minimum": 10}, "else": {"type": "string"}},
            "deps": {"type": "object", "dependentSchemas": {"a": {"required": ["b"]}}},
        },
    }
    Input = generate_models({"acme/t": schema})["acme/t"].Input
    Input(tree={"value": 1, "children": [{"value": 2, "children": []}]}, cond=12, deps={"a": 1, "b": 2})
    Input(cond="s")
    with pytest.raises(ValidationError) as info:
        Input(tree={"value": 1, "children": [{"value": "x"}]}, cond=3, deps={"a": 1})
    assert {error.path for error in info.value.errors} == {("tree", "children", 0, "value"), ("cond",), ("deps", "b")}


def test_standard_formats_and_unknown_ones(generate_models, capsys):
    schema = {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "id": {"type": "string", "format": "uuid"},
            "size": {"type": "integer", "format": "int64"},
            "note": {"type": "string", "comment": "an unknown keyword", "x-ui": "kept"},
        },
    }
    module = generate_models({"acme/f": schema})["acme/f"]
    assert "from runcomfy import _formats as _f" in Path(module.__file__).read_text()
    module.Input(when="2024-01-31T12:00:00Z", id="2eb8aa08-aa98-11ea-b4aa-73b441d16380", size=5, note="n")
    with pytest.raises(ValidationError) as info:
        module.Input(when="2024-02-30T12:00:00Z", id="nope")
    assert [error.path for error in info.value.errors] == [("when",), ("id",)]
    plain = generate_models({"acme/p": SEED_LIKE})["acme/p"]
    assert "_formats" not in Path(plain.__file__).read_text()  # imported only where a format is used


def test_idn_hostname_and_a_labels_follow_idna2008(generate_models):
    """``idn-hostname`` is asserted and an ``xn--`` label of a ``hostname`` must be an IDNA2008 A-label (the
    contextual rules, the Bidi rule across labels), with the error naming the field and the expectation."""
    schema = {
        "type": "object",
        "properties": {
            "host": {"type": "string", "format": "hostname"},
            "idn": {"type": "string", "format": "idn-hostname"},
        },
    }
    Input = generate_models({"acme/h": schema})["acme/h"].Input
    Input(host="xn--bcher-kva.xn--ll-0ea.example", idn="bücher.example")  # l·l is valid
    Input(host="EXAMPLE.com", idn="實例。測試")  # ideographic full stop separates labels
    with pytest.raises(ValidationError) as info:
        # U+00B7 MIDDLE DOT outside "l·l" (CONTEXTO); a digit-first label in a right-to-left domain (Bidi)
        Input(host="xn--ab-0ea.example", idn="0a.\u05d0")
    assert [error.path for error in info.value.errors] == [("host",), ("idn",)]
    assert "internationalized host name (IDNA2008)" in str(info.value)


def test_idna_is_imported_on_the_first_internationalized_label_only():
    """runcomfy._formats loads the ``idna`` tables lazily: not on import, not for an ASCII host name."""
    code = (
        "import sys\n"
        "from runcomfy import _formats\n"
        "assert 'idna' not in sys.modules\n"
        "assert _formats.is_hostname('example.com') and _formats.is_idn_hostname('example.com')\n"
        "assert 'idna' not in sys.modules\n"
        "assert not _formats.is_idn_hostname('a\\u00b7b.example')\n"
        "assert 'idna' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_idn_hostname_is_linear_in_its_length():
    """A long name is refused by its length before any IDNA work (finishes at once, whatever its shape)."""
    from runcomfy import _formats

    for value in ("\u05d0" * 1_000_000, "\u200d\u094d" * 500_000, "a." * 500_000):
        assert not _formats.is_idn_hostname(value)
    assert not _formats.is_idn_hostname(("\u200c" * 60 + ".") * 4)
