"""The official JSON-Schema-Test-Suite (vendored at ``tests/jsts/``) as contract tests.

Every test group of the draft 7 and draft 2020-12 keyword files (and the optional ``bignum.json``,
``float-overflow.json`` and the ``optional/format`` files of the formats the generator asserts) becomes
one model: the group's schema is the one required property ``value`` of the input schema (see
:func:`wrap`), all groups of a file are generated in one generator run, and every test of the group is a
verdict: ``Input.from_dict({"value": data})`` raising ``ValidationError`` means invalid. Each verdict is
compared with the suite's ``valid``:

* **agree**: the same answer;
* **deviation**: a different answer that the README's documented deviations explain (the closing rule:
  ``tests/oracle.py`` normalises the schema as the generator reads it, and jsonschema on the normalised
  schema gives our answer where jsonschema on the raw schema gives the suite's);
* **wrong**: any other difference (must be 0);
* **crash**: the generator raised anything but its refusal, or the generated code raised anything but
  ``ValidationError`` (must be 0);
* **refused**: the generator refused the group with file and JSON path; only the groups of
  :data:`REFUSED` may be refused (each with its reason), and each of them must be;
* **skipped**: :data:`SKIP_FILES` and :data:`SKIP_GROUPS`, each with its reason: what cannot be
  supported offline (a remote ``$ref``, a remote metaschema) and the pattern files (another test file).

``python tests/test_jsts.py`` prints the table of these numbers per file.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "jsts" / "tests"
sys.path.insert(0, str(Path(__file__).resolve().parent))

import oracle  # noqa: E402

DRAFTS = {
    "draft7": "http://json-schema.org/draft-07/schema#",
    "draft2020-12": "https://json-schema.org/draft/2020-12/schema",
}
OPTIONAL_FILES = ("bignum.json", "float-overflow.json")
# The formats the generated code asserts (README, "What is validated, exactly"), and "unknown": an
# unknown format is an annotation.
FORMAT_FILES = tuple(
    f"{name}.json"
    for name in ("date-time", "date", "time", "duration", "email", "hostname", "idn-hostname", "ipv4", "ipv6",
                 "uri", "uri-reference", "uuid", "regex", "unknown")
)  # fmt: skip

PATTERN_REASON = "pattern files: tests/test_jsts_regex.py"
REMOTE_REASON = "remote $ref: the generator never fetches anything, so a non-local reference is refused"
SKIP_FILES: dict[str, str] = {
    "refRemote.json": REMOTE_REASON,
    "pattern.json": PATTERN_REASON,
    "patternProperties.json": PATTERN_REASON,
    "ecmascript-regex.json": PATTERN_REASON,
    "non-bmp-regex.json": PATTERN_REASON,
}
REMOTE_METASCHEMA = "needs a remote metaschema (nothing is ever fetched): the reference is refused"
# (draft, file, group description) → why the group cannot be run offline.
SKIP_GROUPS: dict[tuple[str, str, str], str] = {
    **{(draft, "ref.json", "remote ref, containing refs itself"): REMOTE_METASCHEMA for draft in DRAFTS},
    ("draft7", "definitions.json", "validate definition against metaschema"): REMOTE_METASCHEMA,
    ("draft2020-12", "defs.json", "validate definition against metaschema"): REMOTE_METASCHEMA,
    ("draft2020-12", "vocabulary.json", "schema that uses custom metaschema with with no validation vocabulary"):
        REMOTE_METASCHEMA + " (its $vocabulary switches validation off)",
    ("draft2020-12", "dynamicRef.json", "strict-tree schema, guards against misspelled properties"): REMOTE_REASON,
    ("draft2020-12", "dynamicRef.json", "tests for implementation dynamic anchor and reference link"): REMOTE_REASON,
    ("draft2020-12", "dynamicRef.json", "$ref and $dynamicAnchor are independent of order - $defs first"):
        REMOTE_REASON,
    ("draft2020-12", "dynamicRef.json", "$ref and $dynamicAnchor are independent of order - $ref first"):
        REMOTE_REASON,
    ("draft2020-12", "dynamicRef.json", "$ref to $dynamicRef finds detached $dynamicAnchor"): REMOTE_REASON,
}  # fmt: skip
DYNAMIC_REASON = "$dynamicRef: its target depends on the dynamic scope; the generator refuses it (not supported yet)"
SIBLINGS_REASON = "draft 7 ignores keywords beside $ref: the generator refuses a schema whose keywords would be ignored"
# (draft, file, group description) → why the generator refuses the group (by design or not yet).
REFUSED: dict[tuple[str, str, str], str] = {
    ("draft7", "ref.json", "ref overrides any sibling keywords"): SIBLINGS_REASON,
    **{("draft2020-12", "dynamicRef.json", group): DYNAMIC_REASON for group in (
        "A $dynamicRef to a $dynamicAnchor in the same schema resource behaves like a normal $ref to an $anchor",
        "A $dynamicRef to an $anchor in the same schema resource behaves like a normal $ref to an $anchor",
        "A $dynamicRef resolves to the first $dynamicAnchor still in scope that is encountered when the schema is "
        "evaluated",
        "A $dynamicRef without anchor in fragment behaves identical to $ref",
        "A $dynamicRef with intermediate scopes that don't include a matching $dynamicAnchor does not affect "
        "dynamic scope resolution",
        "An $anchor with the same name as a $dynamicAnchor is not used for dynamic scope resolution",
        "A $dynamicRef without a matching $dynamicAnchor in the same schema resource behaves like a normal $ref to "
        "$anchor",
        "A $dynamicRef with a non-matching $dynamicAnchor in the same schema resource behaves like a normal $ref to "
        "$anchor",
        "A $dynamicRef that initially resolves to a schema with a matching $dynamicAnchor resolves to the first "
        "$dynamicAnchor in the dynamic scope",
        "A $dynamicRef that initially resolves to a schema without a matching $dynamicAnchor behaves like a normal "
        "$ref to $anchor",
        "multiple dynamic paths to the $dynamicRef keyword",
        "after leaving a dynamic scope, it is not used by a $dynamicRef",
        "$dynamicRef points to a boolean schema",
        "$dynamicRef skips over intermediate resources - direct reference",
        "$dynamicRef avoids the root of each schema, but scopes are still registered",
    )},
    ("draft2020-12", "unevaluatedItems.json", "unevaluatedItems with $dynamicRef"): DYNAMIC_REASON,
    ("draft2020-12", "unevaluatedProperties.json", "unevaluatedProperties with $dynamicRef"): DYNAMIC_REASON,
}  # fmt: skip


def suite_files() -> list[tuple[str, str]]:
    """(draft, path below the draft's folder) of every file this test runs or skips."""
    found = []
    for draft in DRAFTS:
        folder = SUITE / draft
        found += [(draft, path.name) for path in sorted(folder.glob("*.json"))]
        found += [(draft, f"optional/{name}") for name in OPTIONAL_FILES if (folder / "optional" / name).exists()]
        found += [(draft, f"optional/{name}") for name in ("ecmascript-regex.json", "non-bmp-regex.json")
                  if (folder / "optional" / name).exists()]  # fmt: skip
        found += [(draft, f"optional/format/{name}") for name in FORMAT_FILES
                  if (folder / "optional" / "format" / name).exists()]  # fmt: skip
        if (folder / "optional" / "format" / "ecmascript-regex.json").exists():
            found.append((draft, "optional/format/ecmascript-regex.json"))
    return found


def wrap(schema: Any, draft: str) -> dict[str, Any]:
    """The input schema of a group: its schema as the one required property ``value``.

    A schema's own references (``#``, ``#/$defs/...``) point into the schema itself, so the wrapped copy
    gets an ``$id`` of its own when it has none (it is then its own resource, as it was the suite's root).
    Draft 7 ignores ``$id`` beside ``$ref``: such a schema moves into ``allOf`` under an ``$id``-carrying
    wrapper that holds its ``definitions``, which is the same schema for every reference."""
    value = copy.deepcopy(schema)
    if isinstance(value, dict) and "$id" not in value:
        if draft == "draft7" and "$ref" in value:
            holder = {key: value[key] for key in ("definitions",) if key in value}
            value = {"$id": "urn:jsts:value", **holder, "allOf": [value]}
        else:
            value = {"$id": "urn:jsts:value", **value}
    return {"$schema": DRAFTS[draft], "type": "object", "properties": {"value": value}, "required": ["value"]}


@dataclasses.dataclass
class FileResult:
    draft: str
    file: str
    agree: int = 0
    deviation: int = 0
    skipped: int = 0
    refused_tests: int = 0
    crashed_tests: int = 0
    wrong: list[str] = dataclasses.field(default_factory=list)
    crashes: list[str] = dataclasses.field(default_factory=list)
    refused: dict[str, str] = dataclasses.field(default_factory=dict)  # description → the generator's message

    @property
    def tests(self) -> int:
        return self.agree + self.deviation + len(self.wrong) + self.refused_tests + self.crashed_tests


def _import(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def _generate(groups: dict[str, dict[str, Any]], base: Path) -> tuple[dict[str, Path], dict[str, str], dict[str, str]]:
    """Generate every group's model in one run. ``(model id → module file, refused: model id → message,
    crashed: model id → error)``. A refused or crashing schema is set aside and the others generated."""
    from runcomfy_codegen.errors import GenerationError
    from runcomfy_codegen.pipeline import generate

    refused: dict[str, str] = {}
    crashed: dict[str, str] = {}
    pending = dict(groups)
    for attempt in range(3):
        if not pending:
            return {}, refused, crashed
        schemas = base / f"schemas{attempt}"
        for model_id, schema in pending.items():
            path = schemas / f"{model_id}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"model_id": model_id, "input_schema": schema}), encoding="utf-8")
        out = base / f"out{attempt}"
        try:
            generate(schemas, out, full=True)
        except GenerationError as exc:
            for error in exc.errors:
                model_id = error.file.removesuffix(".json")
                refused[model_id] = str(error)
                pending.pop(model_id, None)
            continue
        except Exception:  # find the culprits: generate each schema alone
            for model_id, schema in list(pending.items()):
                alone = base / f"alone{attempt}" / model_id.replace("/", "_")
                (alone / "schemas" / model_id).parent.mkdir(parents=True)
                (alone / "schemas" / f"{model_id}.json").write_text(
                    json.dumps({"model_id": model_id, "input_schema": schema}), encoding="utf-8"
                )
                try:
                    generate(alone / "schemas", alone / "out", full=True)
                except GenerationError as exc:
                    refused[model_id] = str(exc.errors[0])
                    pending.pop(model_id)
                except Exception as exc:
                    crashed[model_id] = f"{type(exc).__name__}: {exc}"
                    pending.pop(model_id)
            continue
        files = {model_id: out / "runcomfy" / "models" / f"{model_id}.py" for model_id in pending}
        return files, refused, crashed
    raise AssertionError(f"generation did not settle: {refused} {crashed}")  # pragma: no cover


def _deviates(input_schema: dict[str, Any], data: Any) -> bool:
    """Whether the documented deviations (the closing rule, formats asserted: ``tests/oracle.py``) change
    jsonschema's answer on ``{"value": data}``."""
    import jsonschema.validators
    import referencing

    instance = {"value": data}
    plain = jsonschema.validators.validator_for(input_schema)(input_schema, registry=referencing.Registry())
    normalised = oracle.normalise(input_schema)
    ours = jsonschema.validators.validator_for(normalised)(
        normalised, registry=referencing.Registry(), format_checker=oracle.FORMAT_CHECKER
    )
    return bool(plain.is_valid(instance) != ours.is_valid(instance))


def run_file(draft: str, file: str, base: Path) -> FileResult:
    from runcomfy.errors import ValidationError

    result = FileResult(draft, file)
    data = json.loads((SUITE / draft / file).read_text(encoding="utf-8"))
    groups: dict[str, dict[str, Any]] = {}
    by_id: dict[str, dict[str, Any]] = {}
    for index, group in enumerate(data):
        key = (draft, file, group["description"])
        if key in SKIP_GROUPS:
            result.skipped += len(group["tests"])
            continue
        model_id = f"jsts/g{index}"
        groups[model_id] = wrap(group["schema"], draft)
        by_id[model_id] = group
    files, refused, crashed = _generate(groups, base)
    for model_id, group in by_id.items():
        description = group["description"]
        if model_id in refused:
            result.refused[description] = refused[model_id]
            result.refused_tests += len(group["tests"])
            continue
        if model_id in crashed:
            result.crashes.append(f"{description}: generator: {crashed[model_id]}")
            result.crashed_tests += len(group["tests"])
            continue
        try:
            module = _import(files[model_id], f"_jsts_{draft}_{file}_{model_id}".replace("/", "_").replace("-", "_"))
        except Exception as exc:
            result.crashes.append(f"{description}: import: {type(exc).__name__}: {exc}")
            result.crashed_tests += len(group["tests"])
            continue
        for test in group["tests"]:
            try:
                module.Input.from_dict({"value": copy.deepcopy(test["data"])})
                ours = True
            except ValidationError:
                ours = False
            except Exception as exc:
                result.crashes.append(f"{description} / {test['description']}: {type(exc).__name__}: {exc}")
                result.crashed_tests += 1
                continue
            if ours == test["valid"]:
                result.agree += 1
            elif _deviates(groups[model_id], test["data"]):
                result.deviation += 1
            else:
                result.wrong.append(
                    f"{description} / {test['description']}: suite says {'valid' if test['valid'] else 'invalid'}, "
                    f"ours {'valid' if ours else 'invalid'} (data {json.dumps(test['data'])[:120]})"
                )
    return result


def _skip_reason(file: str) -> str | None:
    return SKIP_FILES.get(Path(file).name)


CASES = suite_files()


@pytest.mark.parametrize(("draft", "file"), CASES, ids=[f"{d}/{f}" for d, f in CASES])
def test_suite_file(draft: str, file: str, tmp_path: Path) -> None:
    reason = _skip_reason(file)
    if reason:
        pytest.skip(reason)
    result = run_file(draft, file, tmp_path)
    problems = [f"wrong: {line}" for line in result.wrong] + [f"crash: {line}" for line in result.crashes]
    expected_refused = {d for (dr, f, d) in REFUSED if dr == draft and f == file}
    for description in sorted(set(result.refused) - expected_refused):
        problems.append(f"refused (not in REFUSED): {description}: {result.refused[description]}")
    for description in sorted(expected_refused - set(result.refused)):
        problems.append(f"generated, but listed in REFUSED: {description}")
    assert not problems, "\n".join(problems)


def test_skip_lists_name_real_groups() -> None:
    """Every skipped or refused group exists in the suite (a renamed group would silently run or vanish)."""
    descriptions: set[tuple[str, str, str]] = set()
    for draft, file in CASES:
        for group in json.loads((SUITE / draft / file).read_text(encoding="utf-8")):
            descriptions.add((draft, file, group["description"]))
    assert set(SKIP_GROUPS) <= descriptions
    assert set(REFUSED) <= descriptions
    assert set(SKIP_FILES) <= {Path(file).name for _, file in CASES}


FORMAT_CASES = [(draft, file) for draft, file in CASES if file.startswith("optional/format/")
                and not _skip_reason(file) and file != "optional/format/unknown.json"]  # fmt: skip


@pytest.mark.parametrize(("draft", "file"), FORMAT_CASES, ids=[f"{d}/{f}" for d, f in FORMAT_CASES])
def test_oracle_formats_agree_with_the_suite(draft: str, file: str) -> None:
    """The oracle's own format checks (tests/oracle.py, independent of runcomfy._formats) give the
    suite's answers, so the differential tests judge formats by the standard."""
    wrong = []
    for group in json.loads((SUITE / draft / file).read_text(encoding="utf-8")):
        schema = {"$schema": DRAFTS[draft], **group["schema"]} if isinstance(group["schema"], dict) else group["schema"]
        validator = oracle.Oracle(schema)
        for test in group["tests"]:
            if validator.is_valid(test["data"]) != test["valid"]:
                wrong.append(f"{group['description']} / {test['description']}: {test['data']!r}")
    assert not wrong, "\n".join(wrong)


def main() -> None:
    """Print the numbers per file."""
    totals = FileResult("all", "all")
    print(f"{'file':<52} {'tests':>5} {'agree':>5} {'dev':>4} {'wrong':>5} {'crash':>5} {'refus':>5} {'skip':>5}")
    with tempfile.TemporaryDirectory() as temp:
        for n, (draft, file) in enumerate(CASES):
            if _skip_reason(file):
                count = sum(len(g["tests"]) for g in json.loads((SUITE / draft / file).read_text(encoding="utf-8")))
                print(f"{draft + '/' + file:<52} {'':>5} {'':>5} {'':>4} {'':>5} {'':>5} {'':>5} {count:>5}")
                totals.skipped += count
                continue
            result = run_file(draft, file, Path(temp) / str(n))
            print(
                f"{draft + '/' + file:<52} {result.tests:>5} {result.agree:>5} {result.deviation:>4} "
                f"{len(result.wrong):>5} {result.crashed_tests:>5} {result.refused_tests:>5} {result.skipped:>5}"
            )
            for line in result.wrong + result.crashes:
                print("    ", line[:300])
            for description, message in result.refused.items():
                print("     refused:", description, "--", message.split(": at ", 1)[-1][:200])
            totals.agree += result.agree
            totals.deviation += result.deviation
            totals.wrong += result.wrong
            totals.crashed_tests += result.crashed_tests
            totals.refused_tests += result.refused_tests
            totals.skipped += result.skipped
    print(
        f"{'total':<52} {totals.tests:>5} {totals.agree:>5} {totals.deviation:>4} {len(totals.wrong):>5} "
        f"{totals.crashed_tests:>5} {totals.refused_tests:>5} {totals.skipped:>5}"
    )


if __name__ == "__main__":
    main()
