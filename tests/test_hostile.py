"""The hostile-schema corpus: a schema pulled from a network is untrusted.

``tests/hostile/schemas/`` holds one schema file per attack (hostile property names, titles, descriptions,
enum values, defaults, ``$ref`` names, class names, patterns, unicode, RunComfy validations, output
schemas); this file adds the attacks that are easier to build (a 5,000-value enum, deep nesting, odd and
hostile model ids). Every injected payload tries to run code that leaves a trace: a file in a canary
directory (``@CANARY@`` in the corpus is replaced by it) or the ``RUNCOMFY_PWNED`` environment variable.

The accepted corpus is generated in one run into a temporary directory, then: nothing was written outside
the output directory, every file compiles and imports in a fresh process (its own ``runcomfy`` first on
``sys.path``), the modules are exercised (constructors, ``to_dict``/``from_dict``, ``repr``, ``help``,
``typing.get_type_hints``), the canary never fires, schemas are data equal to the source, texts are
docstring text, and each module's syntax tree equals that of a benign twin (the same schema with every
text replaced by a placeholder) up to the values of its string constants. Rejected schemas must fail with
a ``GenerationError`` naming the file and JSON path, leaving a previous generation byte-for-byte as it was.
The generator bugs the corpus found are regression tests at the end of the file.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from runcomfy_codegen.errors import GenerationError
from runcomfy_codegen.pipeline import generate

CORPUS = Path(__file__).resolve().parent / "hostile" / "schemas"
TOKEN = "@CANARY@"
ENV_CANARY = "RUNCOMFY_PWNED"
SIMPLE = {"type": "object", "required": ["prompt"], "properties": {"prompt": {"type": "string"}}}
PAYLOAD = "__import__('pathlib').Path('@CANARY@/payload').touch()"
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# --- the corpus ------------------------------------------------------------------------------------

CORPUS_IDS = sorted(p.relative_to(CORPUS).as_posix().removesuffix(".json") for p in CORPUS.rglob("*.json"))
HUGE_ENUM = [f'v{i}"""\');{PAYLOAD}#' for i in range(5000)]


def nested_objects(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "description": '"""' + PAYLOAD}
    for _ in range(levels):
        schema = {"type": "object", "required": ["n"], "properties": {"n": schema}}
    return schema


def nested_arrays(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer", "minimum": 0, "description": "'''" + PAYLOAD}
    for _ in range(levels):
        schema = {"type": "array", "items": schema}
    return {"type": "object", "properties": {"deep": schema}}


def nested_value(levels: int, leaf: Any, key: str | None) -> Any:
    for _ in range(levels):
        leaf = {key: leaf} if key else [leaf]
    return leaf


# MAX_DEPTH (40) counts JSON levels: an object property is two (properties → name), so 19 nested objects
# are the deepest a schema may be; 30 nested arrays (one level each) are well inside.
DEEP_OBJECTS = 19
DEEP_ARRAYS = 30

# Model ids that are valid: where each must land (module path below the output directory).
MODEL_ID_MODULES = {
    "hostile/a.b.py": "runcomfy/models/hostile/a_b_py.py",
    "hostile/con": "runcomfy/models/hostile/con.py",
    "hostile/nul": "runcomfy/models/hostile/nul.py",
    "Hostile2/UPPER": "runcomfy/models/hostile2/upper.py",
    "hostile/load": "runcomfy/models/hostile/load_.py",
    "hostile/typing": "runcomfy/models/hostile/typing_.py",
    "hostile/models": "runcomfy/models/hostile/models_.py",
    "hostile/class": "runcomfy/models/hostile/class_.py",
    "hostile/a--b..c__d": "runcomfy/models/hostile/a_b_c_d.py",
    "hostile/1080p/9b": "runcomfy/models/hostile/_1080p/_9b.py",
    "os/path": "runcomfy/models/os/path.py",
    "runcomfy/models": "runcomfy/models/runcomfy/models_.py",
    "hostile/parent": "runcomfy/models/hostile/parent/__init__.py",
    "hostile/parent/child": "runcomfy/models/hostile/parent/child/__init__.py",
    "hostile/parent/child/grand": "runcomfy/models/hostile/parent/child/grand.py",
    "long/" + "/".join(c * 200 for c in "abcd"): "runcomfy/models/long/" + "/".join(c * 200 for c in "abcd") + ".py",
}


def programmatic() -> dict[str, dict[str, Any]]:
    files = {
        "hostile/huge-enum": {"type": "object", "properties": {"e": {"type": "string", "enum": HUGE_ENUM}}},
        "hostile/deep-objects": {"type": "object", "properties": {"n": nested_objects(DEEP_OBJECTS - 1)}},
        "hostile/deep-arrays": nested_arrays(DEEP_ARRAYS),
        **{model_id: SIMPLE for model_id in MODEL_ID_MODULES},
    }
    return {model_id: {"model_id": model_id, "input_schema": schema} for model_id, schema in files.items()}


TEXT_KEYS = {"title", "description", "$comment", "display_name", "source", "notes"}
DATA_KEYS = {"default", "const", "enum", "examples", "example", "validations"}


def benign(data: Any, mapping: dict[str, str], *, key: str | None = None, inside: bool = False) -> Any:
    """The same schema file with every text and every string of data replaced by a placeholder (one per
    distinct string, so equal strings stay equal); property names, patterns, refs and types unchanged."""
    if isinstance(data, dict):
        return {
            (mapping.setdefault(k, f"k{len(mapping)}") if inside else k): benign(
                v, mapping, key=k, inside=inside or k in DATA_KEYS or k.startswith("x-")
            )
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [benign(v, mapping, key=key, inside=inside) for v in data]
    if isinstance(data, str) and (inside or key in TEXT_KEYS):
        return mapping.setdefault(data, f"s{len(mapping)}")
    return data


def strict_equal(a: Any, b: Any, *, ordered: bool = True) -> bool:
    """JSON equality that also tells ``True`` from ``1``, ``1`` from ``1.0``, ``-0.0`` from ``0.0``."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        keys_ok = list(a) == list(b) if ordered else sorted(a) == sorted(b)
        return keys_ok and all(strict_equal(a[k], b[k], ordered=ordered) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_equal(x, y, ordered=ordered) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return repr(a) == repr(b)
    return bool(a == b)


def tree_state(root: Path) -> dict[str, str]:
    state = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            state[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            state[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            state[rel] = "dir"
    return state


def canary_fired(canary: Path) -> list[str]:
    fired = [p.name for p in canary.iterdir()] if canary.exists() else []
    return fired + ([f"${ENV_CANARY}"] if ENV_CANARY in os.environ else [])


# --- valid inputs each module must accept and send back unchanged -------------------------------------


def instances(files: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    def schema(model_id: str) -> dict[str, Any]:
        return files[model_id]["input_schema"]

    names = schema("hostile/property-names")["properties"]
    enums = schema("hostile/enum-values")["properties"]
    refs = schema("hostile/ref-names")["$defs"]
    out: dict[str, list[dict[str, Any]]] = {
        "hostile/property-names": [{name: f"v-{name}" for name in names}],
        "hostile/enum-values": [
            *({"s": value} for value in enums["s"]["enum"]),
            *({"mixed": value} for value in enums["mixed"]["enum"]),
            *({"ints": value} for value in enums["ints"]["enum"]),
            *({"nums": value} for value in enums["nums"]["enum"]),
            *({"nullable": value} for value in enums["nullable"]["enum"]),
            {"c": enums["c"]["const"], "cobj": enums["cobj"]["const"]},
        ],
        "hostile/defaults": [{"req": "x"}],  # hostile defaults are not sent
        "hostile/ref-names": [
            {
                "p1": {"x": "a"},
                "p2": {"y": "b"},
                "p3": {"z": "c"},
                "p4": {"w": "d"},
                "p5": {"q": "e"},
                "p6": {"r": "f"},
                "p7": {"t": "g"},
                "p8": refs["{{ x }}"]["enum"][0],
                "p9": 10**400,
            }
        ],
        "hostile/patterns": [
            {"p": "'''", "q": "{{ a }}", "pp": {'"""': "s", ")); import os": 1}, "names": {"ok": 1}},
            {"p": "\\"},
            {"slow": "a" * 1000, "pp": {"x" * 1000 + "y": 1}},
        ],
        "hostile/unicode": [
            {"gr\u00f6\u00dfe": v} for v in schema("hostile/unicode")["properties"]["gr\u00f6\u00dfe"]["enum"]
        ]
        + [{"\ud800": "x", "\U0001f600\U0001f600": 1, "size\u200b": "a", "size": "b", "s\u0456ze": "c"}],
        "hostile/nested-text": [{"obj": {"inner": '"""'}, "arr": [{"q": 1}, {"q": 2}]}],
        "hostile/class-names": [{name: {"a": name} for name in schema("hostile/class-names")["properties"]}],
        "hostile/output-schema": [{"p": '"""'}],
        "hostile/huge-enum": [{"e": schema("hostile/huge-enum")["properties"]["e"]["enum"][i]} for i in (0, -1)],
        "hostile/deep-objects": [{"n": nested_value(DEEP_OBJECTS - 1, "leaf", "n")}],
        "hostile/deep-arrays": [{"deep": nested_value(DEEP_ARRAYS, 7, None)}],
        "hostile/field-text": [{"f0": '"""'}],
        "hostile/root-text": [{"p": "x"}],
        "hostile/validations": [{"image": "https://example.com/a.png"}],
    }
    for model_id in MODEL_ID_MODULES:
        out[model_id] = [{"prompt": PAYLOAD}]
    return out


INVALID = {
    "hostile/enum-values": [{"s": "not a member"}, {"ints": 1}, {"c": "x"}],
    "hostile/huge-enum": [{"e": "v5000"}],
    "hostile/property-names": [{"class": 1}, {}],
    # catastrophic patterns (minutes under backtracking, beyond the exercise's timeout): linear now
    "hostile/patterns": [{"p": "x"}, {"slow": "a" * 100_000 + "!"}, {"pp": {"x" * 100_000: 1}}],
    "hostile/deep-objects": [{"n": nested_value(DEEP_OBJECTS - 1, 5, "n")}],
    "hostile/deep-arrays": [{"deep": nested_value(DEEP_ARRAYS, -1, None)}],
}

# --- the one generation of the accepted corpus ------------------------------------------------------

EXERCISE = r"""
import dataclasses, importlib, inspect, json, os, pydoc, sys, time, traceback, typing
out = os.path.realpath(sys.argv[1])
sys.path.insert(0, out)
import runcomfy
assert os.path.realpath(runcomfy.__file__).startswith(out + os.sep), runcomfy.__file__
from runcomfy import ValidationError
from runcomfy.models import CATALOG, MODELS
todo = json.loads(sys.stdin.read())
report = {}
for model_id, path in MODELS.items():
    entry = report[model_id] = {"ok": False}
    try:
        start = time.perf_counter()
        m = importlib.import_module(path)
        entry["import_seconds"] = time.perf_counter() - start
        entry["file"] = os.path.realpath(m.__file__)
        entry["MODEL_ID"], entry["DISPLAY_NAME"] = m.MODEL_ID, m.DISPLAY_NAME
        entry["INPUT_SCHEMA"], entry["OUTPUT_SCHEMA"] = m.INPUT_SCHEMA, m.OUTPUT_SCHEMA
        entry["doc"] = m.__doc__
        entry["help"] = len(pydoc.render_doc(m, renderer=pydoc.plaintext))
        for name in m.__all__:
            value = getattr(m, name)
            if isinstance(value, type):
                pydoc.render_doc(value, renderer=pydoc.plaintext)
                typing.get_type_hints(value, vars(m))
                typing.get_type_hints(value.__init__, vars(m))
                inspect.signature(value, eval_str=True)
        inspect.signature(m.run), inspect.signature(m.submit)  # their hints name TYPE_CHECKING imports
        entry["names"] = m.Input._NAMES
        entry["required"] = list(CATALOG[model_id].required)
        output = m.Output.from_dict({key: "https://x.test/" + str(i) for i, key in enumerate(m.Output._SHAPES)})
        entry["output"] = [repr(output), output.urls(), output.to_dict()]
        entry["valid"], entry["invalid"] = [], []
        for data in todo["valid"].get(model_id, []):
            value = m.Input.from_dict(data)
            body = value.to_dict()
            entry["valid"].append({"to_dict": body, "same": m.Input.from_dict(body) == value, "repr": repr(value)})
        for data in todo["invalid"].get(model_id, []):
            try:
                m.Input.from_dict(data)
                entry["invalid"].append("accepted")
            except ValidationError as error:
                entry["invalid"].append(str(error))
        entry["ok"] = True
    except BaseException:
        entry["traceback"] = traceback.format_exc()
report["$env"] = os.environ.get("RUNCOMFY_PWNED")
sys.stdout.write(json.dumps(report))
"""


@dataclasses.dataclass
class World:
    root: Path
    canary: Path
    schemas: Path
    out: Path
    files: dict[str, dict[str, Any]]  # model id → the file's data (canary substituted)
    twins: dict[str, str]  # hostile model id → its benign twin's
    before: dict[str, str]
    after: dict[str, str]
    seconds: float
    error: BaseException | None = None
    report: dict[str, Any] = dataclasses.field(default_factory=dict)
    exercise_error: str = ""

    def module_file(self, model_id: str) -> Path:
        return Path(self.report[model_id]["file"])


def write_file(schemas: Path, model_id: str, text: str) -> None:
    path = schemas / f"{model_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("hostile")
    canary, schemas, out = root / "canary", root / "schemas", root / "work" / "out"
    canary.mkdir()
    (root / "work").mkdir()
    (root / "work" / "sibling.txt").write_text("next to the output directory\n")
    assert json.dumps(str(canary)) == f'"{canary}"'  # substituting it keeps the JSON valid
    files: dict[str, dict[str, Any]] = {}
    for model_id in CORPUS_IDS:
        text = (CORPUS / f"{model_id}.json").read_text(encoding="utf-8").replace(TOKEN, str(canary))
        write_file(schemas, model_id, text)
        files[model_id] = json.loads(text)
    for model_id, data in programmatic().items():
        text = json.dumps(data, indent=1).replace(TOKEN, str(canary))
        write_file(schemas, model_id, text)
        files[model_id] = json.loads(text)
    twins = {}
    for model_id in CORPUS_IDS:
        twin_id = "twin/" + model_id.split("/", 1)[1]
        twin = benign(files[model_id], {})
        twin["model_id"] = twin_id
        write_file(schemas, twin_id, json.dumps(twin, indent=1))
        twins[model_id] = twin_id
    before = tree_state(root)
    cwd = os.getcwd()
    os.chdir(canary)  # relative payloads would land in the canary too
    start = time.perf_counter()
    error = None
    try:
        generate(schemas, out)
    except Exception as exc:  # reported by test_the_corpus_generates
        error = exc
    finally:
        os.chdir(cwd)
    seconds = time.perf_counter() - start
    w = World(root, canary, schemas, out, files, twins, before, tree_state(root), seconds, error)
    if error is None:
        todo = {"valid": instances(files), "invalid": INVALID}
        env = {k: v for k, v in os.environ.items() if k not in (ENV_CANARY, "PYTHONPATH")}
        done = subprocess.run(
            [sys.executable, "-I", "-B", "-c", EXERCISE, str(out)],
            input=json.dumps(todo),
            capture_output=True,
            text=True,
            cwd=canary,
            env=env,
            timeout=120,
        )
        if done.returncode == 0:
            w.report = json.loads(done.stdout)
        else:
            w.exercise_error = done.stderr[-3000:]
    return w


@pytest.fixture
def generated(world: World) -> World:
    if world.error is not None:
        pytest.fail(f"the corpus did not generate: {type(world.error).__name__}: {world.error}")
    if world.exercise_error:
        pytest.fail("the exercising process failed:\n" + world.exercise_error)
    return world


ACCEPTED = [*CORPUS_IDS, *programmatic()]


# --- the controls: the payloads are live, the checks can fail ------------------------------------------


PAYLOADS = [  # the payloads the corpus files carry (test_payloads_are_live checks that they do)
    "__import__('os').system('touch @CANARY@/os_system')",
    "open('@CANARY@/open_w','w').write('x')",
    "__import__('pathlib').Path('@CANARY@/pathlib_touch').touch()",
    "__import__('os').environ.__setitem__('RUNCOMFY_PWNED','1')",
    "exec(\"open('@CANARY@/exec','w')\")",
    PAYLOAD,
]


def test_payloads_are_live(tmp_path):
    """Positive control: the corpus's payloads, run as code, do fire the canary (so silence means safety)."""
    canary = tmp_path / "canary"
    canary.mkdir()
    corpus = "".join(json.dumps(json.loads(p.read_text())) for p in sorted(CORPUS.rglob("*.json")))
    for payload in PAYLOADS[:-1]:
        assert json.dumps(payload)[1:-1] in corpus, payload
    code = "import os\n" + "\n".join(p.replace(TOKEN, str(canary)) for p in PAYLOADS)
    code += f"\nprint(os.environ.get({ENV_CANARY!r}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=canary, check=True)
    assert done.stdout.strip() == "1"
    assert {p.name for p in canary.iterdir()} == {"os_system", "open_w", "pathlib_touch", "exec", "payload"}


def test_strict_equal_and_benign_twin_are_discriminating():
    assert not strict_equal({"a": True}, {"a": 1}) and not strict_equal([1], [1.0]) and not strict_equal(-0.0, 0.0)
    assert not strict_equal({"a": 1, "b": 2}, {"b": 2, "a": 1}) and strict_equal({"a": [1, "x"]}, {"a": [1, "x"]})
    twin = benign({"description": "d", "enum": ["a", "a", 1], "pattern": "p", "properties": {"x": {"title": "t"}}}, {})
    assert twin == {"description": "s0", "enum": ["s1", "s1", 1], "pattern": "p", "properties": {"x": {"title": "s2"}}}


# --- the accepted corpus --------------------------------------------------------------------------------


def test_the_corpus_generates(generated):
    assert set(generated.report) - {"$env"} == set(generated.files) | set(generated.twins.values())


def test_nothing_written_outside_the_output_directory(generated):
    out = generated.out.relative_to(generated.root).as_posix()
    changed = {
        p for p in generated.before.keys() | generated.after.keys() if generated.before.get(p) != generated.after.get(p)
    }
    outside = sorted(p for p in changed if p != out and not p.startswith(out + "/") and not out.startswith(p + "/"))
    assert not outside, outside
    assert any(p.startswith(out + "/") for p in changed)  # the generation did write (no vacuous pass)


def test_every_written_path_is_a_plain_file_inside_the_output_directory(generated):
    out = generated.out.resolve()
    paths = list(generated.out.rglob("*"))
    assert len(paths) > 50
    for path in paths:
        assert not path.is_symlink(), path
        assert path.resolve().is_relative_to(out), path
        rel = path.relative_to(generated.out)
        if rel.parts[:2] == ("runcomfy", "models"):
            for part in rel.parts[2:]:
                assert IDENT.match(part.removesuffix(".py")) and part.isascii(), rel


@pytest.mark.parametrize("model_id", sorted(MODEL_ID_MODULES))
def test_model_ids_map_inside_the_output_directory(generated, model_id):
    file = generated.module_file(model_id)
    assert file == (generated.out / MODEL_ID_MODULES[model_id]).resolve()
    assert generated.report[model_id]["MODEL_ID"] == model_id


def test_every_generated_file_compiles(generated):
    for path in generated.out.rglob("*.py"):
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)


@pytest.mark.parametrize("model_id", ACCEPTED)
def test_imports_and_runs_in_a_fresh_process(generated, model_id):
    entry = generated.report[model_id]
    assert entry["ok"], entry.get("traceback")
    assert entry["import_seconds"] < 5
    assert entry["help"] > 0 and entry["doc"]


def test_the_canary_never_fired(generated):
    assert generated.report["$env"] is None
    assert not canary_fired(generated.canary)


@pytest.mark.parametrize("model_id", ACCEPTED)
def test_schemas_are_data_equal_to_the_source(generated, model_id):
    entry, data = generated.report[model_id], generated.files[model_id]
    assert strict_equal(entry["INPUT_SCHEMA"], data["input_schema"])
    if "output_schema" in data:
        assert strict_equal(entry["OUTPUT_SCHEMA"], data["output_schema"])
    assert entry["DISPLAY_NAME"] == data.get("display_name")
    tree = ast.parse(generated.module_file(model_id).read_bytes())
    literal_nodes = (ast.Dict, ast.List, ast.Constant, ast.UnaryOp, ast.USub, ast.Load)
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") in ("INPUT_SCHEMA", "OUTPUT_SCHEMA"):
            for sub in ast.walk(node.value):  # plain literals (float("inf") is the one call allowed)
                if isinstance(sub, ast.Call):
                    assert ast.unparse(sub) in ('float("inf")', "float('inf')", "float('-inf')", 'float("-inf")')
                else:
                    assert isinstance(sub, (*literal_nodes, ast.Name)) and getattr(sub, "id", "float") == "float", (
                        ast.dump(sub)
                    )


def texts(data: Any) -> list[str]:
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("title", "description") and isinstance(value, str) and value.strip():
                found.append(value)
            elif key not in ("default", "enum", "const", "examples", "example"):
                found += texts(value)
    elif isinstance(data, list):
        for value in data:
            found += texts(value)
    return found


@pytest.mark.parametrize("model_id", CORPUS_IDS)
def test_texts_are_docstring_text(generated, model_id):
    """Each field's and nested object's description (or title) is in a string constant, unchanged."""
    tree = ast.parse(generated.module_file(model_id).read_bytes())
    constants = [
        " ".join(n.value.split()) for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]
    schema = generated.files[model_id]["input_schema"]
    wanted = []
    for prop in [*schema.get("properties", {}).values(), *schema.get("$defs", {}).values()]:
        text = prop.get("description") or prop.get("title") if isinstance(prop, dict) else None
        if isinstance(text, str) and text.strip():
            wanted.append(" ".join(text.replace("\r\n", "\n").split()))
    for prop in schema.get("properties", {}).values():
        wanted += [" ".join(t.replace("\r\n", "\n").split()) for t in texts(prop.get("properties", {}))]
    missing = [text for text in wanted if not any(text in constant for constant in constants)]
    assert not missing, missing


def skeleton(path: Path) -> str:
    tree = ast.parse(path.read_bytes())
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            node.value = ""
    return ast.dump(tree)


@pytest.mark.parametrize("model_id", CORPUS_IDS)
def test_syntax_tree_equals_its_benign_twin(generated, model_id):
    """Hostile text changed only string constants: not one statement, name or call more."""
    twin = generated.module_file(generated.twins[model_id])
    assert skeleton(generated.module_file(model_id)) == skeleton(twin)


FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "open", "getattr", "setattr", "delattr", "globals",
                   "locals", "vars", "breakpoint", "exit", "quit", "system", "popen", "spawnv", "touch",
                   "write_text", "write_bytes", "unlink", "remove", "rmtree", "import_module", "Popen"}  # fmt: skip


def imported(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found.add(str(node.module))
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


@pytest.mark.parametrize("model_id", ACCEPTED)
def test_no_dangerous_calls_or_imports(generated, model_id):
    tree = ast.parse(generated.module_file(model_id).read_bytes())
    # what a plain model module imports (hostile/con is SIMPLE), plus re for patterns: nothing else
    clean = imported(ast.parse(generated.module_file("hostile/con").read_bytes())) | {"re"}
    assert imported(tree) <= clean and not any(name.startswith("runcomfy.models") for name in clean), imported(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if ast.unparse(func) != "_re.compile":  # patterns, compiled as literals
                assert name not in FORBIDDEN_CALLS, ast.unparse(node)
        elif isinstance(node, ast.Name):
            assert node.id.isascii() and IDENT.match(node.id), node.id
    for statement in tree.body:  # module level: docstrings, imports, assignments, defs, the TYPE_CHECKING block
        allowed = (
            ast.Import,
            ast.ImportFrom,
            ast.Assign,
            ast.AnnAssign,
            ast.ClassDef,
            ast.FunctionDef,
            ast.AsyncFunctionDef,
            ast.If,
        )
        if isinstance(statement, ast.Expr):
            assert isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str)
        else:
            assert isinstance(statement, allowed), ast.unparse(statement)[:200]
        if isinstance(statement, ast.If):
            assert ast.unparse(statement.test) == "TYPE_CHECKING"


@pytest.mark.parametrize("model_id", ACCEPTED)
def test_values_round_trip_exactly(generated, model_id):
    entry = generated.report[model_id]
    wanted = instances(generated.files).get(model_id, [])
    assert len(entry["valid"]) == len(wanted)
    for data, got in zip(wanted, entry["valid"], strict=True):
        assert strict_equal(got["to_dict"], data, ordered=False), (data, got["to_dict"])
        assert got["same"] and got["repr"].startswith("Input(")
    for message in entry["invalid"]:
        assert message != "accepted" and "validation error" in message


def test_hostile_property_names_become_distinct_identifiers(generated):
    entry = generated.report["hostile/property-names"]
    names = entry["names"]
    assert list(names) == list(generated.files["hostile/property-names"]["input_schema"]["properties"])
    assert len(set(names.values())) == len(names)
    import keyword

    for name in names.values():
        assert IDENT.match(name) and name.isascii() and not keyword.iskeyword(name) and not name.startswith("_")
    assert names["class"] == "class_" and names["self"] == "self_" and names["to_dict"] == "to_dict_"
    assert entry["required"] == [
        "class",
        "a\x00b",
        generated.files["hostile/property-names"]["input_schema"]["required"][2],
    ]


def test_hostile_output_keys(generated):
    entry = generated.report["hostile/output-schema"]
    rendered, urls, body = entry["output"]
    keys = generated.files["hostile/output-schema"]["output_schema"]["output"]["properties"]
    assert set(keys) <= set(body)  # every key parsed back under its own name (typed or extra)
    assert "extra={" in rendered
    assert "https://x.test/0" in urls


def test_huge_enum_generates_and_imports_quickly(generated):
    assert generated.seconds < 60
    assert generated.report["hostile/huge-enum"]["import_seconds"] < 2
    assert "1 validation error" in generated.report["hostile/huge-enum"]["invalid"][0]


# --- rejected schemas --------------------------------------------------------------------------------


def envelope(model_id: Any, schema: Any = SIMPLE, **extra: Any) -> str:
    return json.dumps({"model_id": model_id, "input_schema": schema, **extra})


def deep_file(levels: int) -> str:
    return envelope("hostile/deep", {"type": "object", "properties": {"n": nested_objects(levels - 1)}})


REJECTED: list[tuple[str, dict[str, str | bytes], list[str]]] = [
    ("traversal", {"acme/evil.json": envelope("../../x")}, ["acme/evil.json: at /model_id", "'../../x'"]),
    ("absolute", {"acme/evil.json": envelope("/abs/path")}, ["acme/evil.json: at /model_id", "'/abs/path'"]),
    ("dotdot-inside", {"acme/evil.json": envelope("a/../../b")}, ["acme/evil.json: at /model_id"]),
    ("empty-segment", {"a/b.json": envelope("a//b")}, ["a/b.json: at /model_id"]),
    ("nul", {"acme/evil.json": envelope("acme/ev\x00il")}, ["acme/evil.json: at /model_id"]),
    ("not-a-string", {"acme/evil.json": envelope(["acme", "evil"])}, ["acme/evil.json: at /model_id"]),
    ("null", {"acme/evil.json": envelope(None)}, ["acme/evil.json: at /model_id"]),
    ("hidden-dir", {".hidden/x.json": envelope(".hidden/x")}, [".hidden/x.json: at /model_id", "invalid model_id"]),
    ("backslash", {"a\\b.json": envelope("a\\b")}, ["a\\b.json: at /model_id", "invalid model_id"]),
    ("space", {"hostile/b c.json": envelope("hostile/b c")}, ["hostile/b c.json: at /model_id", "invalid model_id"]),
    ("newline", {"hostile/b\nimport os.json": envelope("hostile/b\nimport os")}, ["at /model_id", "invalid model_id"]),
    ("non-ascii", {"hostile/gr\u00f6\u00dfe.json": envelope("hostile/gr\u00f6\u00dfe")}, ["at /model_id", "invalid model_id"]),
    ("rtl", {"hostile/x\u202eyp.json": envelope("hostile/x\u202eyp")}, ["at /model_id", "invalid model_id"]),
    ("dunder", {"hostile/__init__.json": envelope("hostile/__init__")}, ["hostile/__init__.json: at /model_id"]),
    ("one-segment", {"single.json": envelope("single")}, ["single.json: at /model_id", "invalid model_id"]),
    ("six-segments", {"a/b/c/d/e/f.json": envelope("a/b/c/d/e/f")}, ["a/b/c/d/e/f.json: at /model_id"]),
    ("case-collision", {"Acme/X.json": envelope("Acme/X"), "acme/x.json": envelope("acme/x")}, ["maps to module runcomfy.models.acme.x"]),
    ("deep-20-objects", {"hostile/deep.json": deep_file(20)}, ["hostile/deep.json: at /input_schema/properties/n" + "/properties/n" * 18 + "/", "nested deeper than 40"]),
    ("deep-30-objects", {"hostile/deep.json": deep_file(30)}, ["hostile/deep.json: at /input_schema/properties/n/properties/n", "nested deeper than"]),
    ("deep-60-objects", {"hostile/deep.json": deep_file(60)}, ["hostile/deep.json: at /input_schema/properties/n/properties/n", "nested deeper than"]),
    ("int-5000-digits", {"hostile/big.json": '{"model_id": "hostile/big", "input_schema": {"default": 1' + "0" * 5000 + "}}"}, ["hostile/big.json: at /", "invalid JSON"]),
    ("nan", {"hostile/nan.json": '{"model_id": "hostile/nan", "input_schema": {"default": NaN}}'}, ["hostile/nan.json: at /", "invalid JSON"]),
    ("not-utf8", {"hostile/bytes.json": b'{"model_id": "hostile/bytes", "input_schema": {"title": "\xff\xfe"}}'}, ["hostile/bytes.json: at /", "invalid JSON"]),
    ("display-name-object", {"hostile/d.json": envelope("hostile/d", display_name={"x": PAYLOAD})}, ["hostile/d.json: at /display_name"]),
    ("output-type", {"hostile/o.json": envelope("hostile/o", output_type='IMAGE"""' + PAYLOAD)}, ["hostile/o.json: at /output_type"]),
    ("unknown-file-key", {"hostile/k.json": '{"model_id": "hostile/k", "input_schema": {}, "' + PAYLOAD.replace("'", "\\u0027") + '": 1}'}, ["hostile/k.json: at /__import__", "unknown key"]),
    ("hostile-ref", {"hostile/r.json": envelope("hostile/r", {"type": "object", "properties": {"a": {"$ref": "#/$defs/" + PAYLOAD}}})}, ["hostile/r.json: at /input_schema/properties/a/$ref", "points to nothing"]),
    ("remote-ref", {"hostile/r.json": envelope("hostile/r", {"type": "object", "properties": {"a": {"$ref": "file:///etc/passwd"}}})}, ["hostile/r.json: at /input_schema/properties/a/$ref", "nothing is ever fetched"]),
    ("bad-pattern", {"hostile/p.json": envelope("hostile/p", {"type": "object", "properties": {"a": {"type": "string", "pattern": "')" + PAYLOAD + "(["}}})}, ["hostile/p.json: at /input_schema/properties/a/pattern"]),
    ("backreference", {"hostile/p.json": envelope("hostile/p", {"type": "object", "properties": {"a": {"type": "string", "pattern": "^(a+)\\1$"}}})}, ["hostile/p.json: at /input_schema/properties/a/pattern", "backreferences are not supported"]),
    ("lookahead-key", {"hostile/p.json": envelope("hostile/p", {"type": "object", "properties": {"a": {"type": "object", "patternProperties": {"(?=a)": {}}}}})}, ["hostile/p.json: at /input_schema/properties/a/patternProperties/(?=a)", "lookahead"]),
    ("input-schema-string", {"hostile/s.json": envelope("hostile/s", PAYLOAD)}, ["hostile/s.json: at /input_schema"]),
    ("output-schema-list", {"hostile/l.json": envelope("hostile/l", output_schema=[PAYLOAD])}, ["hostile/l.json: at /output_schema"]),
]  # fmt: skip


@pytest.fixture(scope="module")
def previous_generation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("previous")
    schemas = root / "schemas"
    write_file(schemas, "acme/good", json.dumps({"model_id": "acme/good", "input_schema": SIMPLE}))
    generate(schemas, root / "out")
    return root / "out"


@pytest.mark.parametrize(("files", "messages"), [r[1:] for r in REJECTED], ids=[r[0] for r in REJECTED])
def test_rejected_with_file_and_path_writing_nothing(tmp_path, monkeypatch, previous_generation, files, messages):
    canary = tmp_path / "canary"
    canary.mkdir()
    monkeypatch.chdir(canary)
    schemas, out = tmp_path / "schemas", tmp_path / "out"
    shutil.copytree(previous_generation, out)
    write_file(schemas, "acme/good", json.dumps({"model_id": "acme/good", "input_schema": SIMPLE}))
    for name, content in files.items():
        path = schemas / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content.replace(TOKEN, str(canary)), encoding="utf-8")
    before = tree_state(tmp_path)
    with pytest.raises(GenerationError) as info:
        generate(schemas, out)
    text = str(info.value)
    for message in messages:
        assert message in text, text
    assert all(error.pointer.startswith("/") for error in info.value.errors)
    assert tree_state(tmp_path) == before  # the previous generation, byte for byte, and nothing else
    assert not canary_fired(canary)


def test_hostile_unknown_keyword_and_format_stay_data(tmp_path):
    """An unknown keyword or format is an annotation: generated (with a warning naming file and path),
    and its text stays data in the module."""
    schema = {"type": "object", "properties": {"a": {PAYLOAD: 1, "format": '"""' + PAYLOAD, "type": "string"}}}
    schemas = tmp_path / "schemas"
    write_file(
        schemas,
        "hostile/w",
        json.dumps({"model_id": "hostile/w", "input_schema": schema}).replace(TOKEN, str(tmp_path / "canary")),
    )
    (tmp_path / "canary").mkdir()
    result = generate(schemas, tmp_path / "out")
    notes = "\n".join(result.notes)
    assert "hostile/w.json: at /input_schema/properties/a/__import__" in notes and "unknown keyword" in notes
    assert "hostile/w.json: at /input_schema/properties/a/format: unknown format" in notes
    done = import_in_fresh_process(tmp_path / "out", "runcomfy.models.hostile.w", "print(m.Input(a='x').to_dict())")
    assert done.returncode == 0, done.stderr
    assert "{'a': 'x'}" in done.stdout
    assert not canary_fired(tmp_path / "canary")


# --- generator bugs this corpus found (fixed; kept as regressions) ------------------------------------------------------------------------------


def generate_or_reject(tmp_path: Path, data: dict[str, Any]) -> Path | GenerationError:
    schemas = tmp_path / "schemas"
    write_file(schemas, data["model_id"], json.dumps(data).replace(TOKEN, str(tmp_path / "canary")))
    try:
        generate(schemas, tmp_path / "out")
    except GenerationError as exc:
        return exc
    return tmp_path / "out"


def import_in_fresh_process(out: Path, module: str, code: str = "") -> subprocess.CompletedProcess[str]:
    script = f"import sys; sys.path.insert(0, {str(out)!r}); import {module} as m\n{code}"
    return subprocess.run([sys.executable, "-I", "-B", "-c", script], capture_output=True, text=True, cwd=out)


@pytest.mark.parametrize("name", ["none", "True", "false_"])
def test_nested_object_named_after_a_constant(tmp_path, name):
    schema = {"type": "object", "properties": {name: {"type": "object", "properties": {"a": {"type": "string"}}}}}
    result = generate_or_reject(tmp_path, {"model_id": "acme/k", "input_schema": schema})
    if isinstance(result, GenerationError):
        assert f"acme/k.json: at /input_schema/properties/{name}" in str(result)
    else:
        assert import_in_fresh_process(result, "runcomfy.models.acme.k").returncode == 0


def test_nested_class_named_like_a_builtin_exception(tmp_path):
    schema = {
        "type": "object",
        "properties": {"typeError": {"type": "object", "properties": {"a": {"type": "string"}}}},
    }
    out = generate_or_reject(tmp_path, {"model_id": "acme/t", "input_schema": schema})
    assert isinstance(out, Path)
    code = "from runcomfy import ValidationError\ntry:\n    m.Input.from_dict({'bogus': 1})\nexcept ValidationError:\n    pass"
    done = import_in_fresh_process(out, "runcomfy.models.acme.t", code)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("levels", [100, 250])
def test_deep_output_schema(tmp_path, levels):
    output: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        output = {"type": "object", "properties": {"o": output}}
    data = {"model_id": "acme/o", "input_schema": SIMPLE, "output_schema": output}
    try:
        result = generate_or_reject(tmp_path, data)
    except RecursionError:
        pytest.fail("RecursionError instead of a schema error")
    if isinstance(result, GenerationError):
        assert "acme/o.json: at /output_schema" in str(result)
    else:
        done = import_in_fresh_process(result, "runcomfy.models.acme.o")
        assert done.returncode == 0, done.stderr[-500:]


def quote_free(text: str) -> str:
    return "bytes((" + ",".join(str(b) for b in text.encode()) + ")).decode()"


@pytest.mark.parametrize("kind", ["crash", "code-execution"])
def test_enum_values_containing_a_union_bar(tmp_path, kind):
    canary = tmp_path / "canary"
    canary.mkdir()
    if kind == "crash":
        branches = [{"enum": ["a | b"]}, {"enum": ["c | b"]}]
    else:  # pieces of the split annotation recombine into an expression that calls the payload
        touch = f"__import__({quote_free('pathlib')}).Path({quote_free(str(canary / 'annotation'))}).touch()"
        branches = [
            {"enum": ["p | q"]},
            {"enum": ["x' | t"]},
            {"enum": ["r | q"]},
            {"enum": [f"s' | 1 if 0 else 1] | {touch} | t"]},
        ]
    schema = {"type": "object", "properties": {"f": {"anyOf": branches}}}
    try:
        result = generate_or_reject(tmp_path, {"model_id": "acme/u", "input_schema": schema})
    except RuntimeError as exc:
        pytest.fail(f"crash instead of a module or a schema error: {exc}")
    if isinstance(result, GenerationError):
        return
    code = "import typing\ntyping.get_type_hints(m.Input)\nprint(typing.get_type_hints(m.Input.__init__, vars(m))['f'])"
    done = import_in_fresh_process(result, "runcomfy.models.acme.u", code)
    assert not canary_fired(canary), "the annotation ran the payload"
    assert done.returncode == 0, done.stderr[-500:]
    values = ["a | b", "c | b"] if kind == "crash" else ["p | q", "s' | 1 if 0 else 1]"]
    assert all(value in done.stdout for value in values), done.stdout  # each value whole, in its own Literal
