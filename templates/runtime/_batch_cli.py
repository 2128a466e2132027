"""``runcomfy batch MODEL_ID INPUTS.jsonl --out DIR [--concurrency N]``: many jobs from a JSON Lines file.

Each line of the inputs file is one job's input (a JSON object, as ``runcomfy run --input`` takes). The
outputs are downloaded into ``DIR``, and ``DIR/journal.jsonl`` records each submit (its intent before
it is sent, then its request id) and each outcome: run the same command again after an interruption
(Ctrl-C, SIGTERM, a crash, a reboot) and it carries on, waiting for the jobs already submitted instead
of submitting them again, and skipping the inputs that already ended (``--retry-errors`` runs those
that ended in an error again). A submit cut short before its request id was recorded may have made a
job: it is reported as uncertain, and submitted again only with ``--retry-uncertain``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._cli_common import (
    EX_FAILED,
    EX_OK,
    DataError,
    NoInputError,
    Parser,
    UnavailableError,
    UsageError,
    download_options,
    find_base_url,
    find_token,
    load_model,
    save_options,
)
from ._cost_cli import CostTally, add_budget_options, item_json
from .errors import BudgetExceededError, SubmitUncertainError

if TYPE_CHECKING:
    from .batch import BatchItem, Journal

__all__ = ["add_parser", "run"]

JOURNAL = "journal.jsonl"
UNCERTAIN_FATE = "reported as uncertain, not submitted again (check the dashboard; --retry-uncertain resubmits)"


def add_parser(sub: argparse._SubParsersAction[Parser]) -> Parser:
    batch = sub.add_parser(
        "batch",
        help="run a model on every input of a JSON Lines file, resumably",
        description=__doc__.split("\n\n", 1)[1].strip() if __doc__ else None,
    )
    batch.add_argument("model", metavar="MODEL_ID")
    batch.add_argument("inputs", metavar="INPUTS.jsonl", help="one JSON object per line ('-': standard input)")
    batch.add_argument(
        "--out", "--output-dir", dest="out", metavar="DIR", required=True, help="where outputs and the journal go"
    )
    download_options(batch, clash="refuse")
    batch.add_argument("--concurrency", "-j", type=int, default=16, metavar="N", help="jobs in flight (default 16)")
    batch.add_argument("--timeout", type=float, metavar="S", help="each job's deadline in seconds (default 900)")
    batch.add_argument("--retry-errors", action="store_true", help="run again the inputs that ended in an error")
    batch.add_argument(
        "--retry-uncertain",
        action="store_true",
        help="submit again the inputs whose submit may have reached the API (each may already have a billed job)",
    )
    add_budget_options(batch)
    return batch  # --output json (--json): one JSON line per finished input; -q: no progress (global options)


def read_inputs(path: str) -> list[dict[str, Any]]:
    """The inputs file's objects; a :class:`DataError` (file and line) for anything else, before any call."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NoInputError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    inputs = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise DataError(f"{path}:{number}: not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise DataError(f"{path}:{number}: expected a JSON object, got {type(value).__name__}")
        inputs.append(value)
    return inputs


class BatchProgress:
    """Counts on stderr: a rich progress bar on a terminal (plain ``\\r`` line without rich), a line
    every few seconds otherwise, nothing with ``--quiet``."""

    def __init__(self, total: int, done: int, *, quiet: bool, costs: CostTally | None = None) -> None:
        self.total, self.done, self.ok, self.failed, self.uncertain = total, done, 0, 0, 0
        self.costs = costs or CostTally()
        self.quiet = quiet
        self.tty = not quiet and sys.stderr.isatty()
        self.started = self.shown = time.monotonic()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> BatchProgress:
        if self.tty:
            try:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            except ImportError:
                return self
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task("batch", total=self.total, completed=self.done, detail="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self.tty:
            sys.stderr.write("\n")
        if not self.quiet:
            print(self.line(), file=sys.stderr, flush=True)

    def line(self) -> str:
        uncertain = f" ({self.uncertain} uncertain: may have a job; --retry-uncertain)" if self.uncertain else ""
        return (
            f"{self.done}/{self.total} done: {self.ok} succeeded, {self.failed} failed{uncertain} this run, "
            f"{self.costs.text()}, {time.monotonic() - self.started:.1f} s"
        )

    def note(self, text: str) -> None:
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)
        else:
            if self.tty:
                sys.stderr.write("\r\x1b[K")
            print(text, file=sys.stderr, flush=True)

    def add(self, item: BatchItem[Any]) -> None:
        self.costs.add(item)
        self.done += 1
        if item.ok:
            self.ok += 1
        elif isinstance(item.error, BudgetExceededError):  # counted by the costs; the first one says why
            if self.costs.refused == 1:
                self.note(f"input {item.index + 1}: {item.error} (the next ones refused are counted, not listed)")
        else:
            self.failed += 1
            self.uncertain += isinstance(item.error, SubmitUncertainError)
            self.note(f"input {item.index + 1}: {type(item.error).__name__}: {item.error}")
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, detail=f"{self.failed} failed, {self.costs.text()}")
        elif self.tty:
            sys.stderr.write(f"\r\x1b[K{self.line()}")
            sys.stderr.flush()
        elif not self.quiet and time.monotonic() - self.shown >= 5:
            self.shown = time.monotonic()
            print(self.line(), file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """The ``batch`` command; returns the exit code (0: every input succeeded, 1: some failed, are
    uncertain or were not submitted for the budget (``--max-cost``), 130/143: interrupted by Ctrl-C/SIGTERM)."""
    from ._signals import INTERRUPTS, exit_code
    from .async_client import AsyncClient
    from .batch import JournalError, map

    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    module = load_model(args.model)
    inputs = read_inputs(args.inputs)
    try:
        import httpx  # noqa: F401 - the batch runs on the async client
    except ImportError:
        raise UnavailableError("runcomfy batch needs httpx: pip install 'runcomfy[async]'") from None
    token, _ = find_token(args.token)
    client = AsyncClient(token, base_url=find_base_url(args.base_url))  # the polls learn each model's duration
    out = Path(args.out)
    try:
        journal = open_journal(out / JOURNAL)
        journal.check_model(module.MODEL_ID)
    except JournalError as exc:
        raise DataError(str(exc)) from None

    mine = range(len(inputs))
    retry = {"retry_errors": args.retry_errors, "retry_uncertain": args.retry_uncertain}
    done_before = sum(1 for index in journal.ended if index in mine and journal.finished(index, **retry))
    costs = CostTally(before=journal.spent, max_cost=args.max_cost)
    progress = BatchProgress(len(inputs), done_before, quiet=args.quiet, costs=costs)
    waiting = sum(1 for index in journal.submitted if index in mine and index not in journal.ended)
    cut_short = sum(1 for index in journal.intended if index in mine)
    if (done_before or waiting or cut_short) and not args.quiet:
        note = (
            f"resuming from {out / JOURNAL}: {done_before} of {len(inputs)} inputs already ended, "
            f"{waiting} submitted job(s) to wait for (not submitted again)"
        )
        if cut_short:
            fate = "submitted again (--retry-uncertain)" if args.retry_uncertain else UNCERTAIN_FATE
            note += f", {cut_short} submit(s) cut short before their request id was recorded: {fate}"
        progress.note(note)
    saving = save_options(args)
    batch = map(
        module,
        inputs,
        concurrency=args.concurrency,
        client=client,
        timeout=args.timeout,
        journal=journal,
        save_to=out,
        **retry,
        overwrite=saving["overwrite"],
        download_timeout=saving["timeout"],
        max_cost=args.max_cost,
        allow_unknown_cost=args.allow_unknown_cost,
    )
    try:
        with progress:
            for item in batch:
                progress.add(item)
                if args.json:
                    print(json.dumps({**_item_json(item), **item_json(item, costs)}), flush=True)
    except INTERRUPTS as interrupt:
        batch.close()
        journal.close()
        print(
            f"runcomfy: interrupted; run the same command again to resume (the journal is {out / JOURNAL})",
            file=sys.stderr,
        )
        return exit_code(interrupt)
    except JournalError as exc:  # a journal of other inputs
        raise DataError(str(exc)) from None
    journal.close()
    failed = sum(1 for index, (_, status) in journal.ended.items() if index in mine and status != "succeeded")
    return EX_FAILED if failed else EX_OK


def open_journal(path: Path) -> Journal:
    """The batch's journal; a repair made on opening it (a torn last line dropped) is reported on stderr."""
    from .batch import Journal

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        journal = Journal(path)
    for warning in caught:
        print(f"runcomfy: warning: {warning.message}", file=sys.stderr)
    return journal


def _item_json(item: BatchItem[Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"index": item.index, "request_id": item.request_id, "ok": item.ok}
    if item.ok:
        data["files"] = [str(path) for path in item.files]
    else:
        data["error"] = type(item.error).__name__
        data["message"] = str(item.error)
    return data
