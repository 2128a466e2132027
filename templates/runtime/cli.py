"""``runcomfy``: the command line of the RunComfy Model API client.

It speaks the dialect of RunComfy's own CLI (``runcomfy-com/runcomfy-cli``) for the Model API, and more::

    runcomfy [--output pretty|json] [-q | -v] COMMAND ...
    runcomfy run MODEL_ID [--input JSON | --input-file PATH|-] [field flags] [--no-wait] [--poll-secs N]
                 [--output-dir DIR | --no-download] [--timeout S]
    runcomfy status|result|cancel ID            (also: runcomfy requests get|result|cancel ID)
    runcomfy models list [--search T] [--category C] [--kind K] [--include-schema] [--limit N] [--offset N]
    runcomfy models categories | models get MODEL_ID
    runcomfy completion bash|zsh|fish
    runcomfy models [--search TEXT]              this client's own catalog (offline)
    runcomfy describe MODEL_ID                   a model's input fields
    runcomfy submit MODEL_ID ... | wait ID       submit only, print the id | wait for a job
    runcomfy batch MODEL_ID INPUTS.jsonl --out DIR [--concurrency N] [--retry-errors] [--retry-uncertain]
    runcomfy emulator [--port 8787] [--catalog DIR]

``runcomfy run MODEL_ID --help`` lists the model's fields as flags (``image_urls`` → ``--image-urls``); a
media field given a local path sends the file inline as a ``data:`` URI; the input is checked against the
model's schema before anything is sent. The whole CLI, and where it differs from RunComfy's: ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import _cost_cli
from ._cli_common import (
    EX_OK,
    EXIT_CODES_HELP,
    CLIError,
    DataError,
    NoInputError,
    Parser,
    UsageError,
    close_models,
    download_options,
    exit_code_of,
    find_base_url,
    find_token,
    load_model,
    printable,
    save_options,
)
from ._signals import INTERRUPTS, exit_code, sigterm_raises
from .errors import BadAnswerError, NotFoundError, RunComfyError

if TYPE_CHECKING:
    from types import ModuleType

    from .client import Client, JobStatus

__all__ = ["main"]

EPILOG = f"""{EXIT_CODES_HELP}

environment:
  RUNCOMFY_API_TOKEN, RUNCOMFY_TOKEN  the API token (after --token; then the token file of RunComfy's CLI:
                                      $RUNCOMFY_CONFIG_DIR, $XDG_CONFIG_HOME/runcomfy or ~/.config/runcomfy,
                                      token.json, as its `runcomfy login` writes it)
  RUNCOMFY_BASE_URL                   the API base URL (after --base-url; default https://model-api.runcomfy.net)
  RUNCOMFY_MODEL_API_BASE             the same with /v1, as RunComfy's CLI takes it (after RUNCOMFY_BASE_URL)
  NO_COLOR                            no colours, no spinner
global options (--output, --json, -q, -v, --token, --base-url) go before or after COMMAND."""

OUTPUTS = ("pretty", "json")
GLOBAL_VALUED = ("--output", "--token", "--base-url")
GLOBAL_FLAG = re.compile(r"--json|--quiet|--verbose|-[qv]+")
OFFICIAL_ONLY = {
    "login": "sign in with RunComfy's own CLI (`runcomfy login` there); this one reads the token it saves",
    "logout": "RunComfy's own CLI's; this one only reads the token file `runcomfy login` writes",
    "whoami": "RunComfy's own CLI's",
    "balance": "RunComfy's own CLI's",
    "deployments": "RunComfy's own CLI's (the Serverless API); this one speaks the Model API",
    "datasets": "RunComfy's own CLI's (the Trainer API); this one speaks the Model API",
    "train": "RunComfy's own CLI's (the Trainer API); this one speaks the Model API",
}
# The options of `run`: a model field whose flag would be one of them gets another (--field-input...).
RESERVED = frozenset(
    {
        "input", "input-file", "no-wait", "poll-secs", "output-dir", "out", "no-download", "overwrite",
        "download-timeout", "timeout", "output", "json", "quiet", "verbose", "token", "base-url", "help",
    }
)  # fmt: skip
STATUS_KEYS = ("request_id", "status", "queue_position", "status_url", "result_url")
POLL_FIRST = 0.5


# --- options shared by the commands ----------------------------------------------------------------------


def _global_options(parser: argparse.ArgumentParser) -> None:
    """``--output``, ``--json``, ``-q``, ``-v``, ``--token``, ``--base-url``: on every parser, so they go
    before or after the command; left unset (``SUPPRESS``) unless given, so a later one never hides an earlier."""
    group = parser.add_argument_group("global options")
    unset = argparse.SUPPRESS
    group.add_argument("--output", choices=OUTPUTS, default=unset, help="pretty (default) or json: one JSON document")
    group.add_argument("--json", dest="output", action="store_const", const="json", default=unset, help="--output json")
    group.add_argument("-q", "--quiet", action="store_true", default=unset, help="no progress or notes on stderr")
    group.add_argument("-v", "--verbose", action="count", default=unset, help="more on stderr (-vv: HTTP calls)")
    group.add_argument("--token", default=unset, help="API token (default: $RUNCOMFY_API_TOKEN, ...: see below)")
    group.add_argument("--base-url", default=unset, help="API base URL (default: $RUNCOMFY_BASE_URL, ...)")


def _save_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("outputs")
    group.add_argument(
        "--output-dir",
        "--out",
        dest="output_dir",
        metavar="DIR",
        default=".",
        help="download the output files into DIR (default: the current directory)",
    )
    group.add_argument("--no-download", action="store_true", help="do not download; only print the result JSON")
    download_options(group, clash="save as NAME-1, NAME-2...")


def _wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--poll-secs", type=float, metavar="N", help="poll every N seconds (default: adaptive)")
    parser.add_argument("--timeout", type=float, metavar="S", help="give up after S seconds (default 900)")


def _parser(prog: str, **kwargs: Any) -> Parser:
    return Parser(prog=prog, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)


def _top_parser() -> Parser:
    parser = _parser("runcomfy", description="Run RunComfy models from the command line.")
    from ._version import __version__

    parser.add_argument("--version", "-V", action="version", version=f"runcomfy {__version__}")
    _global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=Parser)

    def command(name: str, text: str, *, options: bool = True) -> Parser:
        made: Parser = sub.add_parser(
            name, help=text, description=text, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        if options:
            _global_options(made)
        return made

    for name, text in (("run", "submit a job and wait for its result"), ("submit", "submit a job, print its id")):
        stub = command(name, text + f"; `runcomfy {name} MODEL_ID --help` lists its flags", options=False)
        stub.add_argument("model", metavar="MODEL_ID")  # `run MODEL_ID ...` is parsed by _model_parser
        _run_options(stub, name)
    for name, text in (
        ("status", "show a job's status"),
        ("result", "print a job's result record (and download its outputs)"),
        ("wait", "wait for a job, then print (and download) its output"),
        ("cancel", "cancel a queued job"),
    ):
        _request_command(command(name, text), name)
    requests = command("requests", "the same on jobs: requests get|result|cancel ID")
    kinds = requests.add_subparsers(dest="request_command", metavar="SUBCOMMAND", required=True, parser_class=Parser)
    for name, text in (("get", "show a job's status"), ("result", "print a job's result"), ("cancel", "cancel a job")):
        made = kinds.add_parser(name, help=text, description=text)
        _global_options(made)
        _request_command(made, name)
    _models_parser(command("models", "the catalog: models list|categories|get (alone: this client's models)"))
    describe = command("describe", "show a model's input fields (--output json: its input JSON Schema)")
    describe.add_argument("model", metavar="MODEL_ID")
    completion = command("completion", "print a shell completion script: runcomfy completion bash > FILE")
    completion.add_argument("shell", choices=("bash", "zsh", "fish"))
    from . import _batch_cli

    _global_options(_batch_cli.add_parser(sub))
    sub.add_parser("emulator", help="run a local emulator of the API (runcomfy emulator --help)", add_help=False)
    return parser


def _request_command(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("request_id", metavar="ID")
    if name in ("result", "wait"):
        _save_options(parser)
    if name == "wait":
        _wait_options(parser)


def _models_parser(models: argparse.ArgumentParser) -> None:
    models.add_argument("--search", dest="local_search", metavar="TEXT", help="(alone) models whose id/name has TEXT")
    sub = models.add_subparsers(dest="models_command", metavar="SUBCOMMAND", parser_class=Parser)
    listing = sub.add_parser("list", help="list the API's catalog, a page at a time", description="GET /v1/models")
    _global_options(listing)
    listing.add_argument("--search", metavar="TEXT", help="match on model id, name or description")
    listing.add_argument("--category", metavar="CATEGORY", help="e.g. text-to-image (see `models categories`)")
    listing.add_argument("--kind", metavar="KIND", help="model, workflow or inference")
    listing.add_argument("--include-schema", action="store_true", help="with each model's input_schema (JSON)")
    listing.add_argument("--limit", type=int, default=100, metavar="N", help="page size, 1 to 500 (default 100)")
    listing.add_argument("--offset", type=int, default=0, metavar="N", help="rows to skip (default 0)")
    categories = sub.add_parser("categories", help="list the capability categories")
    _global_options(categories)
    get = sub.add_parser("get", help="show one model's entry: price, input schema")
    _global_options(get)
    get.add_argument("model", metavar="MODEL_ID")


def _split_leading(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """The global options before the command, and the rest (``runcomfy --output json run ...``)."""
    index = 0
    while index < len(argv):
        name, has_value, _ = argv[index].partition("=")
        if name in GLOBAL_VALUED:
            index += 1 if has_value else 2
        elif GLOBAL_FLAG.fullmatch(argv[index]):
            index += 1
        else:
            break
    index = min(index, len(argv))
    return list(argv[:index]), list(argv[index:])


def _settle(args: argparse.Namespace) -> argparse.Namespace:
    """Fill in the global options left unset; check them; switch the verbose log on."""
    args.output = getattr(args, "output", "pretty")
    args.quiet = getattr(args, "quiet", False)
    args.verbose = getattr(args, "verbose", 0) or 0
    args.token = getattr(args, "token", None)
    args.base_url = getattr(args, "base_url", None)  # resolved by _client: only the commands calling the API
    if args.quiet and args.verbose:
        raise UsageError("--quiet and --verbose exclude each other")
    args.json = args.output == "json"
    args.chatty = not args.quiet and not args.json  # progress and notes on stderr
    if args.verbose:
        _verbose_log(args.verbose)
    return args


def _verbose_log(level: int) -> None:
    import logging

    from ._core import logger

    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[v] runcomfy %(levelname)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if level > 1 else logging.INFO)


# --- what the commands print --------------------------------------------------------------------------------


def _document(args: argparse.Namespace, value: object) -> None:
    """The command's JSON document on stdout: indented (pretty), or on one line (``--output json``)."""
    if args.json:
        print(json.dumps(value, separators=(",", ":")))
    else:
        print(json.dumps(value, indent=2))


def _note(args: argparse.Namespace, text: str) -> None:
    """A note for a person on stderr: not with ``-q`` nor ``--output json``."""
    if args.chatty:
        print(f"runcomfy: {printable(text, lines=True)}", file=sys.stderr, flush=True)


def _verbose(args: argparse.Namespace, text: str) -> None:
    if args.verbose:
        print(f"[v] {printable(text, lines=True)}", file=sys.stderr, flush=True)


class StoppedError(CLIError):
    """Ctrl-C or SIGTERM: the message says what became of the job; the code is 130 or 143."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


# --- model flags ------------------------------------------------------------------------------------


_NOT_IN_FLAG = re.compile(r"[^\w.-]+")  # runs of what a flag does not hold (spaces, =, %, brackets, controls)


def _field_flags(properties: Mapping[str, Any]) -> dict[str, str]:
    """JSON field name → its flag (``image_urls`` → ``--image-urls``), each flag unique, in schema order.

    Characters a flag cannot hold become ``-``; a reserved option's name gets ``--field-`` (``--field-input``).
    A field whose flag is taken by an earlier one (``a-b`` and ``a_b``, or a boolean's ``--no-x``) gets its
    original spelling (``--a_b``), else the first free numbered flag (``--a-b-2``). Any field can also be
    given with ``--input``.
    """
    taken = {f"--{name}" for name in RESERVED}
    flags: dict[str, str] = {}
    for name, prop in properties.items():
        boolean = isinstance(prop, Mapping) and prop.get("type") == "boolean"
        flag = next(flag for flag in _flag_candidates(name) if not taken & _option_strings(flag, boolean=boolean))
        taken |= _option_strings(flag, boolean=boolean)
        flags[name] = flag
    return flags


def _flag_candidates(name: str) -> Iterator[str]:
    """The flags ``name`` may get, best first (the caller takes the first one still free)."""
    base = _NOT_IN_FLAG.sub("-", name.replace("_", "-")).strip("-") or "field"
    first = f"--field-{base}" if base in RESERVED else f"--{base}"
    yield first
    original = _NOT_IN_FLAG.sub("-", name).strip("-")
    if original:
        yield f"--{original}"
    for number in itertools.count(2):
        yield f"{first}-{number}"


def _option_strings(flag: str, *, boolean: bool) -> set[str]:
    """The options a field's flag adds: a boolean's ``--x`` also adds ``--no-x``."""
    return {flag, f"--no-{flag[2:]}"} if boolean else {flag}


def _scalar_type(schema: Mapping[str, Any]) -> Any:
    """Text → the field's type where it converts; otherwise the text itself, so that the model's
    ``Input`` rejects it with the same message as in Python (``expected an integer, got 'abc'``)."""
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if any(isinstance(value, int) and not isinstance(value, bool) for value in schema.get("enum") or ()):
        kinds.append("integer")

    def convert(text: str) -> Any:
        for kind, cast in (("integer", int), ("number", float)):
            if kind in kinds:
                try:
                    return cast(text)
                except ValueError:
                    pass
        return text

    return convert


_PLAIN_CHOICE = re.compile(r"[A-Za-z0-9_.:+/@-]+")


def _choices_metavar(schema: Mapping[str, Any]) -> str | None:
    """``{auto,16:9,...}`` for an enum of plain words: shown like argparse's choices, checked by the model's
    Input; ``CHOICE`` when a value holds anything else (argparse's usage line breaks on brackets, spaces...)."""
    choices = schema.get("enum")
    if not choices:
        return None
    if all(_is_plain(choice) for choice in choices):
        return "{" + ",".join(str(choice) for choice in choices) + "}"
    return "CHOICE"


def _is_plain(choice: object) -> bool:
    return isinstance(choice, (str, int, float)) and _PLAIN_CHOICE.fullmatch(str(choice)) is not None


def _choice_text(choice: object) -> str:
    """An enum value in help text: as is when plain, else as JSON (``""``, ``"a b"``)."""
    return str(choice) if _is_plain(choice) else json.dumps(choice, ensure_ascii=False)


def _metavar(schema: Mapping[str, Any]) -> str:
    if _media_kind(schema):
        return "URL|PATH"
    kind = (schema.get("items") or {}).get("type") if schema.get("type") == "array" else schema.get("type")
    return {"integer": "INT", "number": "NUM"}.get(str(kind), "TEXT")


def _field_help(schema: Mapping[str, Any], required: bool) -> str:
    parts = [str(schema.get("description") or schema.get("title") or "")]
    choices = schema.get("enum") or (schema.get("items") or {}).get("enum")
    if choices:
        parts.append(f"(choices: {', '.join(_choice_text(choice) for choice in choices)})")
    if "default" in schema:  # on a required field the API page's default is an example, never applied
        parts.append(f"({'example' if required else 'default'}: {json.dumps(schema['default'])})")
    if "minimum" in schema or "maximum" in schema:
        parts.append(f"(range: {schema.get('minimum', '')}..{schema.get('maximum', '')})")
    if required:
        parts.append("[required]")
    return printable(" ".join(part for part in parts if part)).replace("%", "%%")  # argparse %-formats help


def _run_options(parser: argparse.ArgumentParser, command: str) -> None:
    """The options of ``run`` (and ``submit``) besides the model's fields."""
    given = parser.add_mutually_exclusive_group()
    given.add_argument("--input", metavar="JSON", help="the input fields as a JSON object")
    given.add_argument("--input-file", metavar="PATH", help="a file holding that JSON object (- reads stdin)")
    if command == "run":
        parser.add_argument("--no-wait", action="store_true", help="submit and print the request id, do not wait")
        _cost_cli.add_estimate_flag(parser)
        _wait_options(parser)
        _save_options(parser)
    _global_options(parser)


def _model_parser(command: str, module: ModuleType | None, model_id: str) -> tuple[Parser, dict[str, str]]:
    """The parser of ``runcomfy run|submit MODEL_ID`` (a model of the catalog: with its fields as flags);
    also returns dest → JSON field name."""
    verb = "Run" if command == "run" else "Submit"
    known = module is not None
    description = f"{verb} {model_id}. " + (
        "Field flags override --input."
        if known
        else "It is not in this client's catalog: its input goes in --input, unchecked (`runcomfy models`)."
    )
    parser = _parser(f"runcomfy {command} {model_id}", description=description)
    _run_options(parser, command)
    if module is None:
        close = close_models(model_id)
        parser.hint = f"{model_id} is not in this client's catalog: give its fields in --input JSON" + (
            f" (did you mean {' or '.join(close)}?)" if close else ""
        )
        return parser, {}
    schema: Mapping[str, Any] = module.INPUT_SCHEMA
    fields = parser.add_argument_group("model fields")
    required = set(schema.get("required") or ())
    properties: Mapping[str, Any] = schema.get("properties") or {}
    flags = _field_flags(properties)
    dests: dict[str, str] = {}
    for name, prop in properties.items():
        dest = f"field_{len(dests)}"
        dests[dest] = name
        text = _field_help(prop, name in required)
        kind = prop.get("type")
        if kind == "boolean":
            fields.add_argument(flags[name], dest=dest, action=argparse.BooleanOptionalAction, default=None, help=text)
        elif kind == "array":
            items = prop.get("items") or {}
            fields.add_argument(
                flags[name],
                dest=dest,
                nargs="+",
                type=_scalar_type(items),
                metavar=_choices_metavar(items) or _metavar(prop),
                help=text,
            )
        else:
            fields.add_argument(
                flags[name],
                dest=dest,
                type=_scalar_type(prop),
                metavar=_choices_metavar(prop) or _metavar(prop),
                help=text,
            )
    return parser, dests


# --- the catalog: ours (models, describe) and the API's (models list|categories|get) --------------------------------


def _cmd_models(args: argparse.Namespace) -> int:
    sub = getattr(args, "models_command", None)
    if sub == "list":
        return _cmd_models_list(args)
    if sub == "categories":
        return _cmd_models_categories(args)
    if sub == "get":
        return _cmd_models_get(args)
    return _cmd_local_models(args)


def _cmd_local_models(args: argparse.Namespace) -> int:
    """``runcomfy models [--search TEXT]``: the models this client was generated with (offline, no token)."""
    from .models import CATALOG

    text = (args.local_search or "").lower()
    rows = [
        (model_id, info)
        for model_id, info in CATALOG.items()
        if text in model_id.lower() or text in (info.display_name or "").lower()
    ]
    if args.json:
        data = [
            {
                "model_id": model_id,
                "display_name": info.display_name,
                "output_type": info.output_type,
                "required": list(info.required),
                "pricing": _cost_cli.price_json(info.pricing),
            }
            for model_id, info in rows
        ]
        _document(args, data)
        return EX_OK
    width = max((len(model_id) for model_id, _ in rows), default=0)
    prices = {model_id: _price(_cost_cli.price_json(info.pricing) or {}) for model_id, info in rows}
    price_width = max((len(price) for price in prices.values()), default=0)
    for model_id, info in rows:
        required = printable(", ".join(info.required)) or "-"
        kind = printable(info.output_type or "-")
        print(f"{printable(model_id):<{width}}  {kind:<5}  {prices[model_id]:<{price_width}}  required: {required}")
    return EX_OK


def _cmd_models_list(args: argparse.Namespace) -> int:
    from .catalog import fetch_page

    if not 1 <= args.limit <= 500:
        raise UsageError(f"--limit must be 1 to 500, not {args.limit}")
    if args.offset < 0:
        raise UsageError(f"--offset must be 0 or more, not {args.offset}")
    page = fetch_page(
        search=args.search,
        category=args.category,
        kind=args.kind,
        include_schema=args.include_schema,
        limit=args.limit,
        offset=args.offset,
        client=_client(args),
    )
    if args.json or args.include_schema:
        _document(args, page)
        return EX_OK
    models = [entry for entry in page["models"] if isinstance(entry, Mapping)]
    if not models:
        _note(args, "no models matched")
        return EX_OK
    rows = [
        (_cell(entry.get("model_id")), _cell(entry.get("display_name")), _cell(entry.get("categories")), _price(entry))
        for entry in models
    ]
    _table(("MODEL_ID", "NAME", "CATEGORY", "PRICE"), rows)
    total = page.get("total")
    shown = f"{args.offset + 1}-{args.offset + len(models)}"
    _note(args, f"showing {shown} of {total if isinstance(total, int) else '?'} (--offset/--limit page)")
    return EX_OK


def _cmd_models_categories(args: argparse.Namespace) -> int:
    from .catalog import fetch_categories

    body = fetch_categories(client=_client(args))
    if args.json:
        _document(args, body)
    else:
        for category in body["categories"]:
            print(_cell(category))
    return EX_OK


def _cmd_models_get(args: argparse.Namespace) -> int:
    from .catalog import get_model

    model_id = args.model.strip().strip("/")
    entry = get_model(model_id, client=_client(args))
    if not args.json:
        name, categories = _cell(entry.raw.get("display_name")), _cell(entry.raw.get("categories"))
        _note(args, f"{model_id}: {name} [{categories}] {_price(entry.raw)}")
    _document(args, dict(entry.raw))
    return EX_OK


def _cell(value: object) -> str:
    """A value of the server's in a table cell: text as is, lists joined with ``,``, nothing as ``-``."""
    if isinstance(value, list):
        value = ",".join(item if isinstance(item, str) else json.dumps(item) for item in value)
    elif value is not None and not isinstance(value, str):
        value = json.dumps(value)
    return printable(value)[:120] if value else "-"


def _price(entry: Mapping[str, Any]) -> str:
    price, unit = entry.get("base_price_usd"), entry.get("price_unit")
    if not isinstance(price, int | float) or isinstance(price, bool):
        return "-"
    return f"${price:g}/{_cell(unit)}" if isinstance(unit, str) and unit else f"${price:g}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[n]) for row in [header, *rows]) for n in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _type_text(schema: Mapping[str, Any]) -> str:
    kind = str(schema.get("type") or "any")
    if kind == "array":
        kind = f"array of {(schema.get('items') or {}).get('type', 'any')}"
    fmt = schema.get("format") or (schema.get("items") or {}).get("format")
    return printable(f"{kind}, {fmt}" if fmt else kind)


def _cmd_describe(args: argparse.Namespace) -> int:
    from .models import CATALOG

    module = load_model(args.model)
    schema: Mapping[str, Any] = module.INPUT_SCHEMA
    if args.json:
        _document(args, schema)
        return EX_OK
    info = CATALOG[args.model]
    print(printable(f"{args.model}: {info.display_name or ''} ({info.output_type or 'unknown output'})"))
    required = set(schema.get("required") or ())
    properties: Mapping[str, Any] = schema.get("properties") or {}
    flags = _field_flags(properties)
    for name, prop in properties.items():
        print(f"\n  {printable(name)} ({_type_text(prop)}{', required' if name in required else ''})  {flags[name]}")
        if prop.get("description"):
            print(f"      {printable(prop['description'])}")
        choices = prop.get("enum") or (prop.get("items") or {}).get("enum")
        if choices:
            print(f"      allowed: {', '.join(json.dumps(choice) for choice in choices)}")
        limits = [
            f"{key} {prop[key]}" for key in ("minimum", "maximum", "minItems", "maxItems", "maxLength") if key in prop
        ]
        if limits:
            print(f"      limits: {printable(', '.join(limits))}")
        if "default" in prop:  # on a required field the API page's default is an example, never applied
            label = "example" if name in required else "default"
            print(f"      {label}: {json.dumps(prop['default'])}")
    return EX_OK


# --- input -----------------------------------------------------------------------------------------------


def _media_kind(schema: Mapping[str, Any]) -> str | None:
    for fmt in (schema.get("format"), (schema.get("items") or {}).get("format")):
        if isinstance(fmt, str) and fmt.endswith(("_uri", "_uris")):
            return fmt.split("_", 1)[0]
    return None


def _inline(value: object, kind: str) -> object:
    """A local path → a ``pathlib.Path``, which the model's ``Input`` sends as a ``data:`` URI (checking
    its type, the inline size limits and the model's RunComfy validations); anything else unchanged."""
    if not isinstance(value, str) or "://" in value or value.startswith("data:"):
        return value
    if not os.path.isfile(value):
        raise NoInputError(f"{value!r} is neither a URL nor a readable file")
    import pathlib

    return pathlib.Path(value)


def _input_data(args: argparse.Namespace) -> dict[str, Any]:
    """The JSON object of ``--input JSON`` or ``--input-file PATH|-`` (``{}`` without either).

    ``--input`` with something that is not JSON but names a file (or ``-``) reads it, as this CLI's
    ``--input FILE`` did, with a note to use ``--input-file``."""
    if args.input is not None:
        try:
            value = json.loads(args.input)
            source = "--input"
        except ValueError as exc:
            if args.input != "-" and not os.path.isfile(args.input):
                raise DataError(f"invalid input JSON: --input: {exc}") from None
            _note(args, f"--input {args.input}: a file for --input is deprecated; use --input-file {args.input}")
            value, source = _read_json(args.input), f"--input {args.input}"
    elif args.input_file is not None:
        value, source = _read_json(args.input_file), f"--input-file {args.input_file}"
    else:
        return {}
    if not isinstance(value, dict):
        raise DataError(f"{source} must be a JSON object, got {_json_kind(value)}")
    return value


def _read_json(path: str) -> Any:
    """The JSON value in a file (``-``: standard input); :class:`NoInputError`, :class:`DataError`."""
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as file:
                text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise NoInputError(f"cannot read {path}: {reason}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise DataError(f"invalid input JSON: {path}: {exc}") from None


def _json_kind(value: object) -> str:
    names = {type(None): "null", bool: "a boolean", str: "a string", list: "an array"}
    return names.get(type(value), "a number")


def _build_input(module: ModuleType, args: argparse.Namespace, dests: Mapping[str, str], data: dict[str, Any]) -> Any:
    """The model's ``Input`` from the ``--input`` object and the field flags (which win); local media
    files become ``data:`` URIs. Checked against the schema here: :class:`ValidationError` before any call."""
    data = dict(data)
    for dest, name in dests.items():
        value = getattr(args, dest)
        if value is not None:
            data[name] = value
    properties: Mapping[str, Any] = module.INPUT_SCHEMA.get("properties") or {}
    for name, value in list(data.items()):
        kind = _media_kind(properties.get(name) or {})
        if kind is not None:
            data[name] = [_inline(item, kind) for item in value] if isinstance(value, list) else _inline(value, kind)
    return module.Input.from_dict(data)


# --- the API -----------------------------------------------------------------------------------------------


def _client(args: argparse.Namespace, *, poll_secs: float | None = None) -> Client:
    """A client with the token and base URL of the flags, environment or token file (exit 77 without one)."""
    from ._polling import PollSchedule
    from .client import Client

    token, source = find_token(args.token)
    schedule = (
        PollSchedule(first=POLL_FIRST, learn=False)
        if poll_secs is None
        else PollSchedule(first=poll_secs, minimum=poll_secs, maximum=poll_secs, growth=0.0, learn=False)
    )
    client = Client(token=token, base_url=find_base_url(args.base_url), poll=schedule)
    _verbose(args, f"API base URL {client.base_url}; token from {source}")
    return client


def _call(client: Client, method: str, path: str, request_id: str) -> dict[str, Any]:
    """One call of the queue API (its retries included): the JSON object answered."""
    body, _ = client._transport.call(method, path, request_id=request_id)
    return body


class Progress:
    """The job's state on stderr: a live line on a terminal, a line per change otherwise, or nothing.

    On a terminal the line is a rich spinner when rich is installed and colours are allowed (no ``NO_COLOR``;
    `pip install runcomfy[cli]`; imported only here, once waiting starts), else a plain line rewritten in
    place with `\\r`.
    """

    def __init__(self, request_id: str, *, quiet: bool, color: bool = True) -> None:
        self.request_id = request_id
        self.quiet = quiet
        self.color = color
        self.live = not quiet and sys.stderr.isatty()
        self.started = time.monotonic()
        self.state = "submitted"
        self.position: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop_spinner: Callable[[], None] | None = None

    def __enter__(self) -> Progress:
        if self.live:
            self._stop_spinner = self._start_spinner() if self.color else None
            if self._stop_spinner is None:
                self._thread = threading.Thread(target=self._tick, daemon=True)
                self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._stop_spinner is not None:
            self._stop_spinner()
        if self._thread is not None:
            self._thread.join()
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()

    def _start_spinner(self) -> Callable[[], None] | None:
        """Start a rich spinner on stderr showing `_line()`; return its stop function, or None without rich."""
        try:
            from rich.console import Console
            from rich.live import Live
            from rich.spinner import Spinner
            from rich.text import Text
        except ImportError:
            return None
        spinner = Spinner("dots", style="cyan")

        def render() -> Spinner:  # called on each refresh, so the elapsed time runs
            spinner.update(text=Text(self._line()))
            return spinner

        live = Live(
            console=Console(stderr=True),
            get_renderable=render,
            refresh_per_second=10,
            transient=True,  # the spinner is erased when waiting ends
            redirect_stdout=False,  # stdout carries the result: never send it to the terminal's stderr
        )
        live.start()
        return live.stop

    def _line(self) -> str:
        where = f", position {self.position}" if self.position is not None else ""
        return f"{self.request_id}: {self.state}{where}, {time.monotonic() - self.started:.1f} s"

    def _tick(self) -> None:
        while not self._stop.wait(0.2):
            sys.stderr.write(f"\r\x1b[K{self._line()}")
            sys.stderr.flush()

    def update(self, status: JobStatus) -> None:
        self.state, self.position = status.status, status.queue_position
        if not self.quiet and not self.live:
            print(self._line(), file=sys.stderr, flush=True)


def _color() -> bool:
    """Colours (and rich's spinner) unless ``NO_COLOR`` is set (to anything) or ``TERM=dumb``."""
    return "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _cmd_model(command: str, leading: list[str], argv: list[str]) -> int:
    """``runcomfy run|submit MODEL_ID ...``."""
    if not any(not arg.startswith("-") for arg in argv) and {"-h", "--help"} & set(argv):
        _top_parser().parse_args([command, "--help"])  # `runcomfy run --help`: the command's help (exits)
    model_id, rest = _model_and_rest(command, argv)
    module = _catalog_model(model_id)
    parser, dests = _model_parser(command, module, model_id)
    args = _settle(parser.parse_args(leading + rest))
    data = _input_data(args)
    input = _build_input(module, args, dests, data) if module is not None else None
    if command == "run" and args.estimate:
        return _print_estimate(args, module, model_id, input)
    if module is None:
        _note(args, f"{model_id} is not in this client's catalog: its input is sent as given, unchecked")
    client = _client(args, poll_secs=_poll_secs(args))
    request_id = _submit(client, module, model_id, input, data)
    if command == "submit" and not args.json:
        print(request_id)
        return EX_OK
    if command == "submit" or args.no_wait:
        _document(args, {"request_id": request_id, "wait": False})
        return EX_OK
    _note(args, f"submitted {request_id}")
    return _wait(client, request_id, model_id if module is not None else None, args)


def _print_estimate(args: argparse.Namespace, module: ModuleType | None, model_id: str, input: Any) -> int:
    """``run --estimate``: the input's estimated cost (USD), nothing submitted."""
    if args.json:
        _document(args, _cost_cli.estimate_json(module, model_id, input))
        return EX_OK
    line, why = _cost_cli.estimate_text(module, model_id, input)
    print(line)
    if why is not None:
        _note(args, why)
    return EX_OK


def _model_and_rest(command: str, argv: list[str]) -> tuple[str, list[str]]:
    """The model id (the first argument that is not an option nor the value of one) and the other arguments."""
    valued = {"--input", "--input-file", "--poll-secs", "--timeout", "--output-dir", "--out", "--download-timeout"}
    index = 0
    while index < len(argv):
        name, has_value, _ = argv[index].partition("=")
        if not argv[index].startswith("-") or argv[index] == "-":
            return argv[index], argv[:index] + argv[index + 1 :]
        if name in ("-h", "--help") and index == 0:
            break
        index += 2 if (name in valued or name in GLOBAL_VALUED) and not has_value else 1
    raise UsageError(f"usage: runcomfy {command} MODEL_ID [--input JSON | --input-file PATH] [flags]: no MODEL_ID")


def _catalog_model(model_id: str) -> ModuleType | None:
    """The generated module of a model of the catalog, ``None`` for another model id (sent unchecked, once
    checked to be a model id: :class:`InvalidIdError` otherwise)."""
    from .models import CATALOG

    if model_id in CATALOG:
        return load_model(model_id)
    from ._core import check_model_id  # not before: a model of the catalog's `--help` stays light

    check_model_id(model_id)
    return None


def _poll_secs(args: argparse.Namespace) -> float | None:
    value: float | None = getattr(args, "poll_secs", None)
    if value is not None and not 0.1 <= value <= 3600:
        raise UsageError(f"--poll-secs must be 0.1 to 3600 seconds, not {value:g}")
    return value


def _submit(client: Client, module: ModuleType | None, model_id: str, input: Any, data: dict[str, Any]) -> str:
    """Submit the job: its request id. A model outside the catalog gets the JSON object as given."""
    from ._core import submit_path, submitted_id

    try:
        if module is not None:
            return client.submit(input).request_id
        try:
            body, _ = client._transport.call("POST", submit_path(model_id), body=data)
        except NotFoundError as exc:
            close = close_models(model_id)
            raise DataError(f"{exc}" + (f"; did you mean: {', '.join(close)}?" if close else "")) from None
        return submitted_id(body)
    except INTERRUPTS as interrupt:
        raise StoppedError("interrupted while submitting; the job may exist", exit_code(interrupt)) from None


def _wait(client: Client, request_id: str, model_id: str | None, args: argparse.Namespace) -> int:
    """Wait for the job (Ctrl-C cancels it if still queued), print its output, download its files."""
    handle = client.get_request(request_id, model=model_id)
    progress = Progress(request_id, quiet=not args.chatty, color=_color())
    try:
        with progress:
            result = client.wait(handle, timeout=args.timeout, on_update=progress.update)
    except INTERRUPTS as interrupt:
        try:
            outcome = client.cancel(request_id)
        except (RunComfyError, *INTERRUPTS) as exc:
            outcome = f"cancel failed: {exc}"
        if outcome == "cancelled":
            message = f"interrupted; job {request_id} was cancelled"
        else:
            resume = f"`runcomfy wait {request_id}` resumes"
            message = f"interrupted; job {request_id} was not cancelled ({outcome}); {resume}"
        raise StoppedError(message, exit_code(interrupt)) from None
    return _finish(args, client, dict(result.raw), request_id, output_only=True)


def _finish(
    args: argparse.Namespace, client: Client, record: dict[str, Any], request_id: str, *, output_only: bool
) -> int:
    """Print a result record (``run``/``wait``: its ``output`` only; ``result``: all of it) and download the
    outputs of a job that succeeded; a failed or cancelled job is an error, after its record is printed."""
    from ._core import CANCELLED, FAILED, SUCCEEDED
    from .errors import JobCancelledError, JobFailedError
    from .pricing import reported_cost

    status = str(record.get("status") or "").lower()
    output = record.get("output")
    if status in SUCCEEDED:
        document = (output if output is not None else {}) if output_only else record
        cost = reported_cost(record)
        if args.json and isinstance(document, dict):  # the cost the API reported, beside the output
            document = {**document, "cost": document.get("cost", cost)}
        _document(args, document)
        _note(args, _cost_cli.cost_note(request_id, cost))
        _save(args, client, output, request_id)
        return EX_OK
    if not output_only:
        _document(args, record)
    if status in CANCELLED:
        raise JobCancelledError(request_id)
    if status in FAILED:
        raise JobFailedError(request_id, record.get("error"), record)
    _note(args, f"job {request_id} has not finished yet (status: {status or 'unknown'}); `runcomfy wait {request_id}`")
    return EX_OK


def _save(args: argparse.Namespace, client: Client, output: object, request_id: str) -> None:
    """Download the output files into ``--output-dir`` (unless ``--no-download``): see :mod:`._cli_save`."""
    from ._cli_common import SaveError
    from ._cli_save import save_outputs

    if args.no_download:
        return
    options = save_options(args)
    try:
        save_outputs(
            output,
            args.output_dir,
            api_base_url=client.base_url,
            request_id=request_id,
            overwrite=options["overwrite"],
            timeout=options["timeout"],
            on_saved=lambda path: _note(args, f"saved {path}"),
        )
    except BadAnswerError:  # an output that is no http(s) URL: the API's fault (69), nothing fetched
        raise
    except RunComfyError as exc:  # a download that failed (HTTP error, size, time) or found its name taken
        raise SaveError(
            f"{exc}; nothing was kept. The job {request_id} succeeded: `runcomfy result {request_id}` downloads again"
        ) from None


def _cmd_status(args: argparse.Namespace) -> int:
    from ._core import status_path

    body = _call(_client(args), "GET", status_path(args.request_id), args.request_id)
    document = {key: body.get(key) for key in STATUS_KEYS} | body
    if args.json:
        _document(args, document)
        return EX_OK
    position = body.get("queue_position")
    lines = [("request_id", args.request_id), ("status", document["status"])]
    lines += [("queue", f"position {position}")] if position is not None else []
    lines += [(key, document[key]) for key in ("status_url", "result_url") if document.get(key)]
    for key, value in lines:
        print(f"{key + ':':<11} {printable(value)}")
    return EX_OK


def _cmd_result(args: argparse.Namespace) -> int:
    from ._core import result_path

    client = _client(args)
    record = _call(client, "GET", result_path(args.request_id, include_cost=True), args.request_id)
    return _finish(args, client, record, args.request_id, output_only=False)


def _cmd_wait(args: argparse.Namespace) -> int:
    return _wait(_client(args, poll_secs=_poll_secs(args)), args.request_id, None, args)


def _cmd_cancel(args: argparse.Namespace) -> int:
    from ._core import cancel_outcome, cancel_path

    body = _call(_client(args), "POST", cancel_path(args.request_id), args.request_id)
    outcome = cancel_outcome(body)
    if args.json:
        _document(args, body)
        return EX_OK
    print(outcome)
    if outcome != "cancelled":
        _note(args, f"job {args.request_id} is running or finished ({printable(body.get('status'))}): not cancelled")
    return EX_OK


def _cmd_requests(args: argparse.Namespace) -> int:
    return {"get": _cmd_status, "result": _cmd_result, "cancel": _cmd_cancel}[args.request_command](args)


def _cmd_completion(args: argparse.Namespace) -> int:
    from ._cli_completion import script
    from .models import CATALOG

    print(script(args.shell, _top_parser(), models=list(CATALOG)), end="")
    return EX_OK


def _cmd_batch(args: argparse.Namespace) -> int:
    from . import _batch_cli

    return _batch_cli.run(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "models": _cmd_models,
    "describe": _cmd_describe,
    "status": _cmd_status,
    "result": _cmd_result,
    "wait": _cmd_wait,
    "cancel": _cmd_cancel,
    "requests": _cmd_requests,
    "completion": _cmd_completion,
    "batch": _cmd_batch,
}


def _dispatch(argv: list[str]) -> int:
    leading, rest = _split_leading(argv)
    command = rest[0] if rest else ""
    if command == "emulator":
        from .testing.__main__ import main as emulator

        return emulator(rest[1:])
    if command in OFFICIAL_ONLY:
        raise UsageError(f"`runcomfy {command}` is {OFFICIAL_ONLY[command]}")
    if command in ("run", "submit"):
        return _cmd_model(command, leading, rest[1:])
    if command.startswith("-") and command.split("=", 1)[0] not in ("-h", "--help", "-V", "--version"):
        raise UsageError(_top_parser().unknown_message([command]))  # before argparse takes its value for COMMAND
    args = _settle(_top_parser().parse_args(argv))
    if args.command in ("run", "submit"):  # only reached with a model id that looks like a flag
        raise UsageError(f"usage: runcomfy {args.command} MODEL_ID [flags]")
    return COMMANDS[args.command](args)


def _wants_json(argv: Sequence[str]) -> bool:
    """Whether errors go out as JSON (``--output json`` or ``--json`` anywhere before ``--``)."""
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg in ("--json", "--output=json") or (arg == "--output" and argv[index + 1 : index + 2] == ["json"]):
            return True
    return False


def _report(message: str, code: int, *, as_json: bool) -> int:
    """The error on stderr: ``runcomfy: message`` (``{"error": "message"}`` with ``--output json``)."""
    if as_json:
        print(json.dumps({"error": message}), file=sys.stderr)
    else:
        print(f"runcomfy: {printable(message, lines=True)}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (sysexits: see ``runcomfy --help``)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    as_json = _wants_json(arguments)
    try:
        with sigterm_raises():  # SIGTERM (docker stop, systemd, timeout) takes the Ctrl-C paths
            return _dispatch(arguments)
    except (CLIError, RunComfyError) as exc:
        return _report(str(exc), exit_code_of(exc), as_json=as_json)
    except INTERRUPTS as interrupt:
        return _report("interrupted", exit_code(interrupt), as_json=as_json)
    except BrokenPipeError:  # e.g. `runcomfy models | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EX_OK


if __name__ == "__main__":  # python -m runcomfy.cli: run the imported module, so its classes are the only ones
    from runcomfy.cli import main as _main

    sys.exit(_main())
