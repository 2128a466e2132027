"""A local emulator of the RunComfy Model API: a real HTTP server on 127.0.0.1 for tests and benchmarks.

Jobs run on a simulated clock (their state is computed from ``time.monotonic()`` on each request, no
background work), outputs are real files made from the input, and faults can be injected per test.
Everything is in this file but the file makers (:mod:`runcomfy.testing._media`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import heapq
import io
import ipaddress
import json
import math
import os
import random
import re
import select
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, unquote_to_bytes, urlsplit

from runcomfy import models as _models
from runcomfy._categories import categories_of, media_kind
from runcomfy.errors import ValidationError

from . import _media

__all__ = ["CHAOS_KINDS", "FAULTS", "Call", "Emulator", "Fault", "Job", "Price", "categories_of"]

FAULTS = frozenset(
    {
        "429",
        "500",
        "502",
        "503",
        "drop",
        "drop_before_read",
        "slow",
        "error_200",
        "malformed",
        "hang",
        "trickle",
        "stuck",
        "fail",
    }
)
"""The fault kinds :meth:`Emulator.inject` and :meth:`Emulator.chaos` know."""

CHAOS_KINDS = ("429", "500", "502", "503", "drop_before_read", "slow", "malformed", "drop")
"""The default kinds of :meth:`Emulator.chaos`: every one ends in an answer or a broken connection, so the
client always learns that something went wrong; only "drop" (of a submit) leaves a job behind."""

_SUBMIT_FAULTS = frozenset({"stuck", "fail"})  # faults of the job a submit creates: they match submits only

_MODEL_ID = re.compile(r"[A-Za-z0-9.-]+(?:/[A-Za-z0-9.-]+){1,4}")
_STATUS_WORD = {"succeeded": "completed"}  # /status says "completed" where /result says "succeeded"
_FINISHED = frozenset({"succeeded", "failed", "cancelled"})
_OUTPUT_KEY = {"IMAGE": "image", "VIDEO": "video", "AUDIO": "audio"}
_INVENTED_RATES = {"IMAGE": 0.04, "VIDEO": 0.1, "AUDIO": 0.01}  # made-up USD per output image / per second
MAX_INPUT_BYTES = {"image": 50 * 2**20, "video": 100 * 2**20, "audio": 100 * 2**20}
"""The largest input file the emulator fetches per kind (RunComfy's recommended limits: images 50 MB,
videos 100 MB; audio as video)."""
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
REMOTE_INPUTS = ("stand-in", "fetch", "fail")
"""What the emulator does with an input URL on a host other than the loopback (see :class:`Emulator`)."""
INVALID_INPUT = 422000  # the emulator's error_code for a request that does not match its schema (RunComfy's: unknown)
MAX_PAGE = 500  # the largest ``limit`` of GET /v1/models (RunComfy's CLI accepts 1 to 500)


# --- records --------------------------------------------------------------------------------------


@dataclass
class Job:
    """One submitted job. Times are ``time.monotonic()`` seconds, planned at submit from the config then."""

    request_id: str
    model_id: str
    input: dict[str, Any]
    submitted_at: float
    started_at: float
    """When processing starts (or would have, for a job cancelled in the queue); ``inf`` for a job stuck
    in the queue (fault "stuck")."""
    finished_at: float
    """When the job ends: succeeded or failed; the moment of the cancel for a cancelled job (``inf`` for a
    stuck job until then)."""
    created_wall: float
    """``time.time()`` at submit (the base of the ISO timestamps)."""
    queue_position: int
    output: dict[str, Any] | None
    error: dict[str, Any] | None
    cancelled: bool = False
    seen_finished_at: float | None = None
    """When a /status, /result or /cancel answer first showed the job finished (``None`` until then)."""
    ready_at: float = 0.0
    """When the job's queue time is over (``inf`` for a stuck job); with :attr:`Emulator.workers` set it
    then waits for a free worker, in submit order."""
    run_time: float = 0.0
    """How long it runs once started (monotonic seconds)."""
    params: dict[str, Any] = field(default_factory=dict)
    """The input with the schema's defaults filled in (what the output and the cost are made from)."""

    def status_at(self, now: float) -> str:
        """The state in the words of /result: in_queue, in_progress, succeeded, failed or cancelled."""
        if self.cancelled:
            return "cancelled"
        if now < self.started_at:
            return "in_queue"
        if now < self.finished_at:
            return "in_progress"
        return "failed" if self.error is not None else "succeeded"

    @property
    def status(self) -> str:
        return self.status_at(time.monotonic())

    def position_at(self, now: float) -> int:
        """The position behind other users' jobs: ``queue_position`` at submit, down to 1 in equal steps
        over the queue time (the emulator adds its own queued jobs submitted earlier)."""
        if math.isinf(self.ready_at):  # stuck in the queue: never moves
            return self.queue_position
        wait = self.ready_at - self.submitted_at
        left = max(0.0, self.ready_at - now) / wait if wait > 0 else 0.0
        return max(1, min(self.queue_position, 1 + math.floor(self.queue_position * left)))

    def iso(self, monotonic: float) -> str:
        wall = self.created_wall + (monotonic - self.submitted_at)
        return datetime.fromtimestamp(wall, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Call:
    """One HTTP request the emulator received."""

    method: str
    path: str
    query: dict[str, str]
    status: int | None
    """The HTTP status answered; ``None`` when none was: the connection was dropped, or the request hung."""
    at: float
    """``time.monotonic()`` when the request arrived."""
    had_auth: bool
    """Whether an ``Authorization`` header was sent (with any value)."""
    request_id: str | None = None
    fault: str | None = None
    """The fault applied to this request, injected or by :meth:`Emulator.chaos`, if any (a dropped submit
    still created its job; a "stuck" or "fail" submit created the job that got stuck or fails)."""


@dataclass
class Fault:
    """A fault waiting for its next ``times`` matching requests (see :meth:`Emulator.inject`)."""

    kind: str
    times: int = 1
    method: str | None = None
    path_prefix: str | None = None
    retry_after: float | None = None
    delay: float = 1.0

    def matches(self, method: str, path: str) -> bool:
        if self.kind in _SUBMIT_FAULTS and not _is_submit(method, path):
            return False
        return (self.method is None or self.method.upper() == method) and path.startswith(self.path_prefix or "")

    @property
    def answers(self) -> bool:
        """Whether this fault answers in place of the API (the request itself is then not handled)."""
        return self.kind not in ("drop", "drop_before_read", "slow", "trickle", "hang", "stuck", "fail")

    def response(self) -> _Response:
        if self.kind == "malformed":
            return _Response(200, b'{"request_id": "cut sho')
        if self.kind == "error_200":
            return _error(200, 400002, "injected fault: no balance left on the account")
        response = _error(int(self.kind), int(self.kind) * 1000, f"injected fault: HTTP {self.kind}")
        retry_after = 1.0 if self.retry_after is None and self.kind == "429" else self.retry_after
        if retry_after is not None:
            response.headers["Retry-After"] = f"{retry_after:g}"
        return response


def _is_submit(method: str, path: str) -> bool:
    return method == "POST" and path.startswith("/v1/models/")


@dataclass
class _Chaos:
    """The random faults of :meth:`Emulator.chaos`."""

    rate: float
    kinds: tuple[str, ...]
    random: random.Random
    method: str | None
    path_prefix: str
    retry_after: float | None
    delay: float

    def draw(self, method: str, path: str) -> Fault | None:
        """A fault for this request, or ``None`` (called under the emulator's lock: ``random`` is shared)."""
        if (self.method is not None and self.method.upper() != method) or not path.startswith(self.path_prefix):
            return None
        if self.random.random() >= self.rate:
            return None
        kind = self.random.choice(self.kinds)
        if kind in _SUBMIT_FAULTS and not _is_submit(method, path):
            return None
        return Fault(kind, 1, retry_after=self.retry_after, delay=self.delay)


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, str]
    authorization: str | None
    arrived: float
    body: bytes = b""
    fault: str | None = None


@dataclass
class _Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    request_id: str | None = None


def _json(status: int, payload: Mapping[str, Any], request_id: str | None = None) -> _Response:
    # default=...: a validation error's value for a missing field is a sentinel, sent as null
    return _Response(status, json.dumps(payload, default=lambda _: None).encode(), request_id=request_id)


def _without_schema(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if key != "input_schema"}


def _error(status: int, code: int, message: str, **extra: Any) -> _Response:
    """An error answer in RunComfy's words: a six-digit ``error_code`` and ``error_message``."""
    return _json(status, {"error_code": code, "error_message": message, **extra})


# --- models ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    """A model's price as the catalog words it: ``usd`` per ``unit`` (``output``: per output file;
    ``second``: per second of output), and the ``note`` shown as ``pricing_note``."""

    usd: float
    unit: str
    note: str


def _invented_price(output_type: str, usd: float | None) -> Price:
    """The emulator's own price of a model nobody priced: said to be invented, never RunComfy's."""
    unit = "output" if output_type == "IMAGE" else "second"
    rate = _INVENTED_RATES.get(output_type, 0.0) if usd is None else usd
    return Price(rate, unit, f"invented by the runcomfy emulator (USD {rate:g} per {unit}); not RunComfy's price")


def _catalog_entry(
    model_id: str, display_name: str, output_type: str, input_schema: Mapping[str, Any], price: Price
) -> dict[str, Any]:
    """A model as the catalog endpoints answer it (``include_schema=true``)."""
    return {
        "model_id": model_id,
        "display_name": display_name,
        "kind": "model",
        "categories": categories_of(model_id, output_type, input_schema),
        "base_price_usd": price.usd,
        "price_unit": price.unit,
        "pricing_note": price.note,
        "input_schema": input_schema,
    }


@dataclass(frozen=True)
class _Model:
    model_id: str
    display_name: str
    output_type: str
    input_schema: Mapping[str, Any]
    input_class: Any
    price: Mapping[str, Any] = field(default_factory=dict)
    """The module's ``PRICING`` in the catalog's words (``base_price_usd``...), when it has one."""

    @property
    def properties(self) -> Mapping[str, Any]:
        properties = self.input_schema.get("properties")
        return properties if isinstance(properties, Mapping) else {}


@functools.cache
def _load_model(model_id: str) -> _Model:
    module = _models.load(model_id)
    return _Model(
        module.MODEL_ID,
        module.DISPLAY_NAME or model_id,
        module.OUTPUT_TYPE or "IMAGE",
        module.INPUT_SCHEMA,
        module.Input,
        _price_keys(getattr(module, "PRICING", None)),
    )


def _price_keys(pricing: Any) -> dict[str, Any]:
    """A generated module's ``PRICING`` as a schema file's keys (empty when it has none)."""
    if pricing is None:
        return {}
    return {"base_price_usd": pricing.base_price_usd, "price_unit": pricing.unit, "pricing_note": pricing.note or ""}


# --- the emulator ---------------------------------------------------------------------------------


class Emulator:
    """The RunComfy Model API on ``http://127.0.0.1:<port>``; use as ``with Emulator() as emu:``.

    Config (all durations in emulator seconds; emulator time runs ``time_scale`` times faster than real
    time). Each job takes the config current at its submit:

    - ``queue_time``: seconds a job waits in the queue before it may start.
    - ``workers``: how many jobs run at once (``None``: any number); the others wait, first in first out.
    - ``queue_position``: the position a job starts at behind other users' jobs (it counts down to 1 over
      the queue time); the emulator adds its own queued jobs submitted earlier, so three jobs queued
      together are at positions 1, 2, 3.
    - ``processing_time``: seconds a job runs.
    - ``fail_jobs``: every job fails (see also :meth:`fail_next`).
    - ``max_side``: cap on the long side of output images (pixels), to keep tests fast.
    - ``catalog``: a schemas directory (one ``<model_id>.json`` file per model, the project's format) that
      the catalog endpoints serve instead of the generated models; it may be changed at any time, e.g.
      to play a catalog that moves from one schema set to the next. Submits still go to generated models.
      A file's top-level ``base_price_usd``, ``price_unit`` and ``pricing_note`` are its price.
    - ``prices``: ``{model_id: (usd, unit)}``, the price of those models (``unit``: ``"output"`` per output
      file, ``"second"`` per second of output); ``default_price``: the USD rate of every other model
      (``None``: the emulator's own, 0.04 per image, 0.1 per second of video, 0.01 per second of audio).
      Unpriced models say in ``pricing_note`` that their price is invented. ``?include_cost=true`` on a
      result adds ``cost``: the rate times the output files, or times the seconds asked for (``duration``).
    - ``remote_inputs``: what a job does with an input URL on a host other than the loopback:
      ``"stand-in"`` (default: tests run offline) makes do without it (an image model draws a labelled
      stand-in), ``"fetch"`` fetches it like RunComfy would, ``"fail"`` fails the job. Loopback URLs (the
      emulator's own :meth:`add_file` URLs, a test's server) are always fetched and ``data:`` URIs
      decoded; one that cannot be fetched within ``input_timeout`` seconds and :data:`MAX_INPUT_BYTES`,
      or an image Pillow cannot decode, fails the job with an ``error`` that says so.
    """

    def __init__(
        self,
        *,
        token: str = "test-token",
        port: int = 0,
        models: Iterable[str] | None = None,
        processing_time: float = 0.0,
        queue_time: float = 0.0,
        queue_position: int = 1,
        workers: int | None = None,
        time_scale: float = 1.0,
        fail_jobs: bool = False,
        max_side: int = 1024,
        catalog: str | os.PathLike[str] | None = None,
        prices: Mapping[str, tuple[float, str]] | None = None,
        default_price: float | None = None,
        remote_inputs: str = "stand-in",
        input_timeout: float = 10.0,
    ) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be None or at least 1, got {workers!r}")
        if remote_inputs not in REMOTE_INPUTS:
            raise ValueError(f"remote_inputs must be one of {REMOTE_INPUTS}, got {remote_inputs!r}")
        self.token = token
        self.port = port
        self.processing_time = processing_time
        self.queue_time = queue_time
        self.queue_position = queue_position
        self.workers = workers
        self.time_scale = time_scale
        self.fail_jobs = fail_jobs
        self.max_side = max_side
        self.catalog = catalog
        self.prices: dict[str, tuple[float, str]] = dict(prices or {})
        self.default_price = default_price
        self.remote_inputs = remote_inputs
        self.input_timeout = input_timeout
        self.model_ids: tuple[str, ...] = tuple(_models.MODELS if models is None else models)
        unknown = [model_id for model_id in self.model_ids if model_id not in _models.MODELS]
        if unknown:
            raise KeyError(f"unknown model ids: {unknown}")
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._calls: list[Call] = []
        self._faults: list[Fault] = []
        self._chaos: _Chaos | None = None
        self._failures: dict[str | None, int] = {}  # model id (None: any) → jobs left to fail
        self._files: dict[str, _media.File] = {}  # key below /files/ → file
        self._server: _Server | None = None
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., _Response]]] = [
            ("GET", re.compile(r"/v1/models"), self._catalog),
            ("GET", re.compile(r"/v1/models/categories"), self._categories),
            ("GET", re.compile(r"/v1/models/(?P<model_id>.+)"), self._describe),
            ("POST", re.compile(r"/v1/models/(?P<model_id>.+)"), self._submit),
            ("GET", re.compile(r"/v1/requests/(?P<request_id>[^/]+)/status"), self._status),
            ("GET", re.compile(r"/v1/requests/(?P<request_id>[^/]+)/result"), self._result),
            ("POST", re.compile(r"/v1/requests/(?P<request_id>[^/]+)/cancel"), self._cancel),
            ("GET", re.compile(r"/files/(?P<key>.+)"), self._download),
        ]

    # --- life cycle

    def start(self) -> Emulator:
        """Start serving (in a daemon thread); returns ``self``. Raises :class:`ImportError` (with the
        ``pip install`` line) without Pillow, and :class:`OSError` when the port is taken."""
        _media.require_pillow()
        if self._server is None:
            self._server = _Server(self, self.port)
            self.port = self._server.server_address[1]
            serve = functools.partial(self._server.serve_forever, poll_interval=0.02)  # stop() waits one poll
            threading.Thread(target=serve, name="runcomfy-emulator", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection (requests hanging on a "hang" fault end at once)."""
        server, self._server = self._server, None
        if server is not None:
            server.stopping.set()
            server.shutdown()
            server.server_close()
            server.close_connections()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() or use it in a with block")
        return f"http://127.0.0.1:{self.port}"

    # --- what tests read and set

    @property
    def jobs(self) -> dict[str, Job]:
        """request id → :class:`Job`, in submit order (a copy of the index; the jobs themselves are live)."""
        with self._lock:
            return dict(self._jobs)

    @property
    def calls(self) -> list[Call]:
        """Every request received since the start (or :meth:`reset_calls`), oldest first (a copy)."""
        with self._lock:
            return list(self._calls)

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def add_file(self, name: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Serve ``data`` (without auth, like a public input URL) and return its URL."""
        key = f"inputs/{name}"
        with self._lock:
            self._files[key] = _media.File(name, data, content_type)
        return f"{self.base_url}/files/{quote(key)}"

    def inject(
        self,
        fault: str,
        times: int = 1,
        *,
        method: str | None = None,
        path_prefix: str | None = None,
        retry_after: float | None = None,
        delay: float = 1.0,
    ) -> Fault:
        """Apply ``fault`` to the next ``times`` requests matching ``method`` and ``path_prefix`` (URL path).

        Kinds:

        - "429" (with ``Retry-After``, ``retry_after`` seconds, default 1), "500", "502", "503" (with
          ``Retry-After`` only if given), "error_200" (HTTP 200 with an error body), "malformed" (HTTP 200,
          not JSON): these answer *instead of* the API, the request is not handled (a submit creates no job).
        - "drop": the request is handled (a submit creates its job) but the connection is closed without an
          answer. "drop_before_read": the connection is closed before the body is read; nothing is handled.
        - "slow": sleep ``delay`` real seconds, then answer normally.
        - "trickle": the request is handled, the status line and headers are sent at once, then the body a
          byte every ``delay`` seconds (a server whose answer never stops arriving, never quite timing out).
        - "hang": the request is read, not handled, and never answered: the connection stays open until
          the client goes away or the emulator stops (a server that accepts and never answers).
        - "stuck" and "fail" match submits only (``POST /v1/models/...``): the submit is handled and
          answered normally, and the job it creates never leaves the queue (``in_queue`` forever, until
          cancelled) or fails (as with :meth:`fail_next`).

        Faults are used in the order injected, before any :meth:`chaos`. Each request that got a fault
        is logged in :attr:`calls` with it; "drop", "drop_before_read" and "hang" with status ``None``.
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {sorted(FAULTS)}")
        injected = Fault(fault, times, method, path_prefix, retry_after, delay)
        with self._lock:
            self._faults.append(injected)
        return injected

    def clear_faults(self) -> None:
        """Forget the injected faults not used yet (:meth:`chaos` stays as it is)."""
        with self._lock:
            self._faults.clear()

    def chaos(
        self,
        rate: float | None,
        kinds: Iterable[str] = CHAOS_KINDS,
        *,
        seed: int = 0,
        method: str | None = None,
        path_prefix: str = "/v1/",
        retry_after: float | None = 0.1,
        delay: float = 0.2,
    ) -> None:
        """Random faults: each request matching ``method`` and ``path_prefix`` that no :meth:`inject`
        fault matched gets, with probability ``rate``, a fault drawn from ``kinds`` (see :meth:`inject`)
        by a ``random.Random(seed)`` shared by all requests (thread-safe; the draws are reproducible, which
        request gets which draw depends on their arrival order). ``retry_after`` is the ``Retry-After`` of
        a 429 (and of 5xx answers when not ``None``), ``delay`` the sleep of "slow". A drawn "stuck" or
        "fail" only applies to a submit (elsewhere: no fault). ``chaos(None)`` or ``chaos(0)`` stops it.

        Which kinds can leave a job the client never got the ``request_id`` of: only "drop" of a submit
        (handled, then the connection is closed: the job exists; a careful client reports it as uncertain),
        and "hang" of a submit if it is added (not handled: no job, but the client cannot know). "429",
        "5xx", "error_200" and "malformed" answer *instead of* handling, and "drop_before_read" closes the
        connection before the body is read, so none of them creates a job; "slow" answers normally.
        "stuck" and "fail" create jobs the client is told about. The default ``kinds``,
        :data:`CHAOS_KINDS`, are "429", "500", "502", "503", "drop_before_read", "slow", "malformed",
        "drop": every one ends with the client told that the call failed or could have.
        """
        if rate is None or rate <= 0:
            with self._lock:
                self._chaos = None
            return
        chosen = tuple(kinds)
        unknown = [kind for kind in chosen if kind not in FAULTS]
        if not chosen or unknown or rate > 1:
            raise ValueError(f"chaos needs 0 <= rate <= 1 and kinds among {sorted(FAULTS)}; got {rate}, {chosen}")
        with self._lock:
            self._chaos = _Chaos(rate, chosen, random.Random(seed), method, path_prefix, retry_after, delay)

    def fail_next(self, n: int = 1, *, model_id: str | None = None) -> None:
        """Make the next ``n`` jobs submitted (of ``model_id``, or of any model) fail."""
        with self._lock:
            self._failures[model_id] = self._failures.get(model_id, 0) + n

    # --- serving (called by the request handler)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
            return self._chaos.draw(method, path) if self._chaos is not None else None

    def _record(self, request: _Request, status: int | None, request_id: str | None, fault: str | None) -> None:
        had_auth = request.authorization is not None
        call = Call(request.method, request.path, request.query, status, request.arrived, had_auth, request_id, fault)
        with self._lock:
            self._calls.append(call)

    def _dispatch(self, request: _Request) -> _Response:
        if request.path.startswith("/v1/") and request.authorization != f"Bearer {self.token}":
            return _error(401, 400004, "missing, invalid or revoked API token")
        allowed = []
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if method == request.method:
                params = {name: unquote(value) for name, value in match.groupdict().items()}
                try:
                    response = handler(request, **params)
                except Exception as exc:  # a bug of the emulator: answered, so a test sees it
                    response = _error(500, 500000, f"emulator error: {exc!r}")
                response.request_id = response.request_id or params.get("request_id")
                return response
            allowed.append(method)
        if allowed:
            return _error(405, 405000, f"{request.method} is not allowed here; use {' or '.join(allowed)}")
        return _error(404, 404000, f"no such endpoint: {request.path}")

    # --- the endpoints

    def _model(self, model_id: str) -> _Model | None:
        if _MODEL_ID.fullmatch(model_id) is None or model_id not in self.model_ids:
            return None
        return _load_model(model_id)

    def _catalog(self, request: _Request) -> _Response:
        query = request.query
        page = _page(query)
        if isinstance(page, _Response):
            return page
        offset, limit = page
        search, category, kind = (query.get(name, "").lower() for name in ("search", "category", "kind"))
        found = [
            entry
            for entry in self._catalog_entries()
            if (search in entry["model_id"].lower() or search in str(entry["display_name"]).lower())
            and (not category or category in entry["categories"])
            and (not kind or kind == entry["kind"])
        ]
        include_schema = query.get("include_schema", "").lower() in ("true", "1")
        page_entries = found[offset : None if limit is None else offset + limit]
        models = [entry if include_schema else _without_schema(entry) for entry in page_entries]
        return _json(200, {"models": models, "total": len(found)})

    def _categories(self, request: _Request) -> _Response:
        names = sorted({category for entry in self._catalog_entries() for category in entry["categories"]})
        return _json(200, {"categories": names})

    def _describe(self, request: _Request, model_id: str) -> _Response:
        entry = self._entry(model_id)
        return _json(200, entry) if entry is not None else _error(404, 400001, f"invalid model id: {model_id}")

    def _entry(self, model_id: str) -> dict[str, Any] | None:
        return next((entry for entry in self._catalog_entries() if entry["model_id"] == model_id), None)

    def _catalog_entries(self) -> list[dict[str, Any]]:
        """The catalog, as the API words it: the ``catalog`` directory's files, or the generated models."""
        if self.catalog is None:
            return [self._generated_entry(_load_model(model_id)) for model_id in self.model_ids]
        root = Path(self.catalog)
        entries = []
        for path in sorted(root.rglob("*.json"), key=lambda p: p.relative_to(root).as_posix()):
            data = json.loads(path.read_text(encoding="utf-8"))
            model_id, output_type = data["model_id"], str(data.get("output_type") or "IMAGE")
            price = self._price(model_id, output_type, data)
            name = data.get("display_name") or model_id
            entries.append(_catalog_entry(model_id, name, output_type, data["input_schema"], price))
        return entries

    def _generated_entry(self, model: _Model) -> dict[str, Any]:
        price = self._price(model.model_id, model.output_type, model.price)
        return _catalog_entry(model.model_id, model.display_name, model.output_type, model.input_schema, price)

    def _price(self, model_id: str, output_type: str, file: Mapping[str, Any]) -> Price:
        """``prices`` first, then a schema file's (or a generated module's ``PRICING``) own ``base_price_usd``
        (with ``price_unit`` and ``pricing_note``), else the emulator's invented price."""
        if model_id in self.prices:
            rate, per = self.prices[model_id]
            return Price(rate, per, "set by the test (Emulator(prices=...)); not RunComfy's price")
        usd = file.get("base_price_usd")
        if isinstance(usd, int | float) and not isinstance(usd, bool):
            unit = file.get("price_unit") or _invented_price(output_type, usd).unit
            return Price(usd, str(unit), str(file.get("pricing_note") or ""))
        return _invented_price(output_type, self.default_price)

    def _cost(self, job: Job) -> float:
        """What the job cost: the price per output file times the files, or per second times the seconds
        asked for (``duration``; else the length of the emulator's file)."""
        model = _load_model(job.model_id)
        entry = self._entry(job.model_id) or self._generated_entry(model)
        usd, unit = float(entry["base_price_usd"]), entry["price_unit"]
        if unit == "output":
            values = (job.output or {}).values()
            return round(usd * sum(len(v) if isinstance(v, list) else 1 for v in values), 6)
        if unit == "second":
            return round(usd * _seconds(job.params, model.output_type), 6)
        return usd

    def _submit(self, request: _Request, model_id: str) -> _Response:
        model = self._model(model_id)
        if model is None:
            return _error(404, 400001, f"invalid model id: {model_id}")
        try:
            data = json.loads(request.body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return _error(400, 400000, "the request body must be a JSON object")
        try:
            model.input_class.from_dict(data)
        except ValidationError as exc:
            detail = [{"loc": list(error.path), "msg": error.expected, "input": error.value} for error in exc.errors]
            return _error(422, INVALID_INPUT, str(exc), detail=detail)
        job = self._new_job(model, data, stuck=request.fault == "stuck", fail=request.fault == "fail")
        urls = {f"{action}_url": self._link(job.request_id, action) for action in ("status", "result", "cancel")}
        return _json(200, {"request_id": job.request_id, **urls}, request_id=job.request_id)

    def _new_job(self, model: _Model, data: dict[str, Any], *, stuck: bool = False, fail: bool = False) -> Job:
        now, wall = time.monotonic(), time.time()
        request_id = str(uuid.uuid4())
        with self._lock:
            scale = self.time_scale
            ready = math.inf if stuck else now + self.queue_time / scale
            run_time = self.processing_time / scale
            fails = fail or self.fail_jobs or self._take_failure(model.model_id)
            queue_position = self.queue_position
        defaults = model.properties.items()
        params = {key: spec["default"] for key, spec in defaults if isinstance(spec, Mapping) and "default" in spec}
        params.update(data)
        output = error = None
        if fails:
            error = {"code": "job_failed", "message": f"injected failure of {model.model_id}"}
        else:
            try:
                images = self._read_inputs(model, data)
            except _InputError as exc:
                error = {"code": "invalid_input", "message": str(exc)}
            else:
                output = self._make_output(model, params, request_id, images[0] if images else None)
        start = ready if self.workers is None else math.inf  # with workers: _plan() gives it its start
        job = Job(request_id, model.model_id, data, now, start, start + run_time, wall, queue_position, output, error)
        job.ready_at, job.run_time, job.params = ready, run_time, params
        with self._lock:
            self._jobs[request_id] = job
            self._plan(now)
        return job

    def _plan(self, now: float) -> None:
        """With ``workers`` set: start the queued jobs in submit order as workers free up (called under
        the lock after a submit or a cancel; running jobs keep their times)."""
        if self.workers is None:
            return
        busy_until, queued = [], []
        for job in self._jobs.values():
            if job.cancelled or math.isinf(job.ready_at):
                continue
            if job.started_at <= now:
                if job.finished_at > now:
                    busy_until.append(job.finished_at)
            else:
                queued.append(job)
        free = sorted(busy_until + [now] * max(0, self.workers - len(busy_until)))[-self.workers :]
        for job in queued:
            start = max(job.ready_at, heapq.heappop(free))
            job.started_at, job.finished_at = start, start + job.run_time
            heapq.heappush(free, job.finished_at)

    def _position(self, job: Job, now: float) -> int:
        """The 1-based queue position: behind other users' jobs, then the emulator's queued jobs submitted earlier."""
        with self._lock:
            ahead = 0
            for other in self._jobs.values():
                if other is job:
                    break
                ahead += other.status_at(now) == "in_queue"
        return job.position_at(now) + ahead

    def _take_failure(self, model_id: str) -> bool:
        for key in (model_id, None):
            if self._failures.get(key, 0) > 0:
                self._failures[key] -= 1
                return True
        return False

    def _make_output(
        self, model: _Model, params: dict[str, Any], request_id: str, image: bytes | None
    ) -> dict[str, Any]:
        files = _media.MAKERS[model.output_type](params, image, self.max_side)
        urls = []
        with self._lock:
            for file in files:
                self._files[f"{request_id}/{file.name}"] = file
                urls.append(f"{self.base_url}/files/{request_id}/{quote(file.name)}")
        key = _OUTPUT_KEY.get(model.output_type, "file")
        return {key + "s": urls} if "num_images" in model.properties else {key: urls[0]}

    # --- input files

    def _read_inputs(self, model: _Model, data: Mapping[str, Any]) -> list[bytes | None]:
        """Fetch (or decode) every media input, as RunComfy does before it runs a job; returns the images'
        bytes in field order (``None`` for a remote URL not fetched, see ``remote_inputs``). An input that
        cannot be read raises :class:`_InputError`."""
        images = []
        for key, spec in model.properties.items():
            kind, value = media_kind(spec), data.get(key)
            if kind is None or value is None:
                continue
            for index, url in enumerate(value if isinstance(value, list) else [value]):
                where = f"{key}[{index}]" if isinstance(value, list) else key
                content = self._read_input(where, kind, url) if isinstance(url, str) and url else None
                if kind == "image":
                    images.append(content)
        return images

    def _read_input(self, where: str, kind: str, url: str) -> bytes | None:
        limit = MAX_INPUT_BYTES[kind]
        if url.startswith("data:"):
            content = _decode_data_uri(where, url)
        else:
            parts = urlsplit(url)
            own = f"{self.base_url}/files/"
            if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
                raise _InputError(f"{where}: {_shown(url)} is not an http(s) URL or a data: URI")
            if url.startswith(own):
                with self._lock:
                    file = self._files.get(unquote(urlsplit(url).path[len("/files/") :]))
                if file is None:
                    raise _InputError(f"{where}: could not fetch {_shown(url)}: HTTP 404")
                content = file.data
            elif _is_loopback(parts.hostname) or self.remote_inputs == "fetch":
                content = _download(where, url, limit, self.input_timeout, self._may_fetch)
            elif self.remote_inputs == "fail":
                raise _InputError(f"{where}: {_shown(url)} was not fetched: the emulator fetches loopback URLs only")
            else:
                return None  # "stand-in": tests run offline
        if len(content) > limit:
            raise _InputError(f"{where}: {_shown(url)} is larger than {limit // 2**20} MB")
        if kind == "image":
            try:
                _media.check_image(content)
            except ValueError as exc:
                raise _InputError(f"{where}: {_shown(url)} is not an image that can be decoded ({exc})") from None
        return content

    def _may_fetch(self, url: str) -> bool:
        """Whether a redirect may lead to ``url``."""
        parts = urlsplit(url)
        loopback = bool(parts.hostname) and _is_loopback(parts.hostname or "")
        return parts.scheme.lower() in ("http", "https") and (loopback or self.remote_inputs == "fetch")

    def _link(self, request_id: str, action: str) -> str:
        return f"{self.base_url}/v1/requests/{request_id}/{action}"

    def _observe(self, request_id: str, cancel: bool = False) -> tuple[Job, str, float, str | None] | None:
        """The job, its state now, now, and (with ``cancel``) the outcome of cancelling it."""
        with self._lock:
            job = self._jobs.get(request_id)
            if job is None:
                return None
            now = time.monotonic()
            outcome = None
            if cancel:
                outcome = "cancelled" if job.status_at(now) == "in_queue" else "not_cancellable"
                if outcome == "cancelled":
                    job.cancelled, job.finished_at = True, now
                    self._plan(now)
            state = job.status_at(now)
            if state in _FINISHED and job.seen_finished_at is None:
                job.seen_finished_at = now
            return job, state, now, outcome

    def _status(self, request: _Request, request_id: str) -> _Response:
        observed = self._observe(request_id)
        if observed is None:
            return _error(404, 404001, f"request {request_id} does not exist")
        job, state, now, _ = observed
        body: dict[str, Any] = {"request_id": request_id, "status": _STATUS_WORD.get(state, state)}
        if state == "in_queue":
            body["queue_position"] = self._position(job, now)
        body["status_url"], body["result_url"] = self._link(request_id, "status"), self._link(request_id, "result")
        return _json(200, body)

    def _result(self, request: _Request, request_id: str) -> _Response:
        observed = self._observe(request_id)
        if observed is None:
            return _error(404, 404001, f"request {request_id} does not exist")
        job, state, _, _ = observed
        body: dict[str, Any] = {
            "request_id": request_id,
            "model_id": job.model_id,
            "status": state,
            "created_at": job.iso(job.submitted_at),
            "finished_at": job.iso(job.finished_at) if state in _FINISHED else None,
        }
        if state == "succeeded":
            body["output"] = job.output
            if request.query.get("include_cost", "").lower() in ("true", "1"):
                body["cost"] = self._cost(job)
        elif state == "failed":
            body["error"] = job.error
        return _json(200, body)

    def _cancel(self, request: _Request, request_id: str) -> _Response:
        observed = self._observe(request_id, cancel=True)
        if observed is None:
            return _error(404, 404001, f"request {request_id} does not exist")
        _, state, _, outcome = observed
        return _json(202, {"request_id": request_id, "status": _STATUS_WORD.get(state, state), "outcome": outcome})

    def _download(self, request: _Request, key: str) -> _Response:
        with self._lock:
            file = self._files.get(key)
        if file is None:
            return _error(404, 404000, f"no such file: {key}")
        request_id = key.partition("/")[0]
        return _Response(200, file.data, file.content_type, request_id=None if request_id == "inputs" else request_id)


# --- helpers of the endpoints ---------------------------------------------------------------------


def _page(query: Mapping[str, str]) -> tuple[int, int | None] | _Response:
    """A catalog page's ``offset`` and ``limit`` (``None``: all), or the 422 answer for bad ones."""
    values: dict[str, int | None] = {}
    detail: list[dict[str, Any]] = []
    for name, low, high in (("limit", 1, MAX_PAGE), ("offset", 0, None)):
        text = query.get(name) or None
        value = int(text) if text is not None and re.fullmatch(r"-?\d{1,9}", text) else None
        if text is not None and (value is None or value < low or (high is not None and value > high)):
            expected = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"
            detail.append({"loc": ["query", name], "msg": f"{name} must be {expected}", "input": text})
        values[name] = value
    if detail:
        return _error(422, INVALID_INPUT, "; ".join(str(item["msg"]) for item in detail), detail=detail)
    return values["offset"] or 0, values["limit"]


def _seconds(params: Mapping[str, Any], output_type: str) -> float:
    """The seconds of output a job was asked for (``duration``), else the length of the emulator's file."""
    duration = params.get("duration")
    if isinstance(duration, str) and re.fullmatch(r"\d+(\.\d+)?", duration):
        duration = float(duration)
    if isinstance(duration, int | float) and not isinstance(duration, bool) and duration > 0:
        return float(duration)
    return _media.SECONDS.get(output_type, 0.0)


class _InputError(Exception):
    """An input file a job cannot use: the message becomes the failed job's ``error``."""


def _shown(url: str) -> str:
    return url if len(url) <= 100 else url[:60] + "..." + url[-20:]


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _decode_data_uri(where: str, url: str) -> bytes:
    header, comma, payload = url[len("data:") :].partition(",")
    try:
        if not comma:
            raise ValueError("no comma")
        if header.lower().endswith(";base64"):
            return base64.b64decode(payload, validate=True)
        return unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        raise _InputError(f"{where}: {_shown(url)} is not a valid data: URI") from None


def _download(where: str, url: str, limit: int, timeout: float, may_follow: Callable[[str], bool]) -> bytes:
    """GET ``url`` without any token or proxy, within ``timeout`` seconds and ``limit`` bytes, following
    redirects only where ``may_follow`` allows."""
    import urllib.error
    import urllib.request

    class Redirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
            if not may_follow(newurl):
                raise _InputError(f"{where}: {_shown(url)} redirects to {_shown(newurl)}, which is not fetched")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), Redirects())
    deadline = time.monotonic() + timeout
    failure = f"{where}: could not fetch {_shown(url)}"
    try:
        with opener.open(url, timeout=timeout) as response:
            buffer = io.BytesIO()
            while chunk := response.read(256 * 1024):
                buffer.write(chunk)
                if buffer.tell() > limit:
                    raise _InputError(f"{where}: {_shown(url)} is larger than {limit // 2**20} MB")
                if time.monotonic() > deadline:
                    raise _InputError(f"{failure}: no complete answer within {timeout:g} s")
            return buffer.getvalue()
    except urllib.error.HTTPError as exc:
        raise _InputError(f"{failure}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _InputError(f"{failure}: {reason}") from None


# --- HTTP plumbing --------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the listen backlog: hundreds of clients connect at once in batch tests

    def __init__(self, emulator: Emulator, port: int) -> None:
        self.emulator = emulator
        self.stopping = threading.Event()  # set by Emulator.stop(): ends the requests hanging on a "hang" fault
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer (a timeout, a test's deadline) is not an emulator error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Close the kept-alive connections still open (their threads then end)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the client's
    # delayed ACK would hold every answer back by about 40 ms.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"  # keep-alive, as a real API behind a load balancer
    timeout = 60  # an idle kept-alive connection is closed after this many seconds
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        emulator = self.server.emulator
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        request = _Request(self.command, url.path, query, self.headers.get("Authorization"), time.monotonic())
        fault = emulator._take_fault(request.method, request.path)
        kind = request.fault = fault.kind if fault else None
        if kind == "drop_before_read":
            self.close_connection = True
            emulator._record(request, None, None, kind)
            return
        request.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if kind == "hang":
            self.close_connection = True
            emulator._record(request, None, None, kind)
            self._hang()
            return
        if fault is not None and kind == "slow":
            time.sleep(fault.delay)
        response = fault.response() if fault is not None and fault.answers else emulator._dispatch(request)
        if kind == "drop":
            self.close_connection = True
            emulator._record(request, None, response.request_id, kind)
            return
        emulator._record(request, response.status, response.request_id, kind)  # before answering: no race
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if kind == "trickle" and fault is not None:
            self.wfile.flush()
            self._trickle(response.body, fault.delay)
        else:
            self.wfile.write(response.body)

    def _trickle(self, body: bytes, delay: float) -> None:
        """Send ``body`` a byte every ``delay`` seconds (until the client goes away or the emulator stops)."""
        for byte in body:
            if self.server.stopping.wait(delay):
                self.close_connection = True
                return
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:
                self.close_connection = True
                return

    def _hang(self) -> None:
        """Answer nothing until the client closes the connection or the emulator stops."""
        stopping, connection = self.server.stopping, self.connection
        while not stopping.is_set():
            try:
                readable, _, _ = select.select([connection], [], [], 0.05)
                if readable and not connection.recv(1, socket.MSG_PEEK):
                    return  # the client went away
            except (OSError, ValueError):  # reset, or closed by Emulator.stop()
                return
            if readable:  # more bytes from the client: keep hanging, without spinning
                stopping.wait(0.05)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read emu.calls
        pass
