"""The ``requests`` transport of :class:`runcomfy.Client`: one lazily created ``requests.Session`` and
the I/O of each call; what answers mean and when to retry is decided in :mod:`runcomfy._core`.

``requests`` is imported on the first network call, not before: importing a model costs nothing here.
Retries: GETs and cancels are retried on connection errors, timeouts, 429 and 5xx (``Retry-After``
honoured, capped). A submit is retried only when the request provably never reached the server (the
connection was refused or could not be opened) or the server refused it with 429; any other failure
raises :class:`~runcomfy.errors.SubmitUncertainError`, since the job may exist.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ._core import (
    DOWNLOAD_TIMEOUT,
    JSON_HEADERS,
    MAX_DOWNLOAD_BYTES,
    Attempts,
    Download,
    RetryPolicy,
    api_error,
    encode_body,
    error_code_of,
    logger,
    never_sent,
    request_headers,
)
from .errors import OutputExistsError

if TYPE_CHECKING:
    import requests

__all__ = ["RetryPolicy", "Transport", "api_error", "configure_logging", "error_code_of", "logger"]


def configure_logging() -> None:
    """``RUNCOMFY_LOG=debug|info`` switches the ``runcomfy`` logger on (to stderr)."""
    level = os.environ.get("RUNCOMFY_LOG", "").upper()
    if level in ("DEBUG", "INFO") and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s runcomfy %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(level)


def _never_sent(exc: BaseException) -> bool:
    """Whether a ``requests`` error proves the request never reached the server (refused, no route,
    name not resolved, connect timeout), as opposed to a connection that broke after sending."""
    import urllib3.exceptions as u3

    return never_sent(
        exc,
        proof=(u3.NewConnectionError, u3.ConnectTimeoutError, ConnectionRefusedError),
        against=(u3.ProtocolError, u3.ReadTimeoutError, ConnectionResetError),
    )


class Transport:
    """Authenticated JSON calls to the API base URL over ``requests``. The token lives here and nowhere else."""

    def __init__(
        self,
        token: str,
        base_url: str,
        *,
        timeout: float,
        connect_timeout: float,
        retry: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retry = retry
        self.sleep = sleep
        self._session: requests.Session | None = None
        configure_logging()

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, token=***)"

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            import requests

            session = requests.Session()
            session.headers.update(request_headers(self._token))
            self._session = session
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        deadline: float | None = None,
    ) -> tuple[dict[str, Any], float | None]:
        """One API call with its retries: the JSON object answered and the server's ``Retry-After``.

        ``deadline`` (a ``time.monotonic()`` value) bounds the call and its retries as a whole; an answer
        whose status line has arrived may take :data:`~runcomfy._core.BODY_GRACE` more to finish. A
        ``body`` JSON cannot carry is a :class:`~runcomfy.errors.ValidationError`, before anything is sent.
        """
        import requests

        payload = encode_body(body)
        headers = JSON_HEADERS if payload is not None else None
        attempts = Attempts(
            method,
            path,
            request_id=request_id,
            deadline=deadline,
            policy=self.retry,
            timeout=self.timeout,
            connect_timeout=self.connect_timeout,
        )
        url = self.base_url + path
        session = self.session
        while True:
            timeout = attempts.start()
            failure: requests.exceptions.RequestException | None = None
            try:
                response = session.request(
                    method,
                    url,
                    data=payload,
                    headers=headers,
                    params=params,
                    timeout=timeout,
                    allow_redirects=False,
                    stream=True,
                )
                content = _read_body(response, attempts.answer_deadline)
            except requests.exceptions.RequestException as exc:
                failure = exc
            if failure is not None:  # outside the except block: the error raised keeps no context holding
                try:  # the request, whose headers carry the token
                    attempts.failed(failure, never_sent=_never_sent(failure), secret=self._token)
                finally:
                    failure = None
            else:
                answer = attempts.answered(response.status_code, response.headers, content)
                if answer is not None:
                    return answer, attempts.retry_after
            self.sleep(attempts.pause)


def _read_body(response: requests.Response, deadline: float) -> bytes:
    """The whole body of a streamed answer, read as it comes and given up at ``deadline`` (the call's
    :attr:`~runcomfy._core.Attempts.answer_deadline`): a read timeout bounds each read, not an answer that
    keeps arriving a byte at a time. The deadline is looked at after each read, and only while more is
    to come: an answer that has all arrived is never thrown away. The connection then goes back to the pool
    (keep-alive) as ``response.content`` would leave it."""
    import requests
    import urllib3.exceptions

    raw = response.raw
    read1 = getattr(raw, "read1", None)  # urllib3 2: at most one read from the socket
    if read1 is None:
        return response.content
    chunks = []
    try:
        while True:
            chunk = read1(1 << 16, decode_content=True)
            if not chunk:
                break
            chunks.append(chunk)
            if time.monotonic() >= deadline and getattr(raw, "length_remaining", None) != 0:  # 0: all arrived
                response.close()
                raise requests.exceptions.ReadTimeout("the answer was still arriving when the call's time ran out")
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        response.close()
        raise requests.exceptions.ConnectionError(f"{type(exc).__name__}: {exc}") from None
    raw.release_conn()
    return b"".join(chunks)


_downloads = threading.local()


@contextlib.contextmanager
def atomic_file(target: os.PathLike[str] | str, *, overwrite: bool = False) -> Iterator[BinaryIO]:
    """A binary file that becomes ``target`` (mode 0644) only once the block ends without an error: it is
    written beside it and then put in place, so a download that fails leaves nothing half-written.

    Without ``overwrite`` an existing ``target`` (a file, a directory, a symlink, even one that appears
    while writing) is never replaced: the file is placed with ``os.link``, which fails rather than
    replace, and :class:`~runcomfy.errors.OutputExistsError` is raised. With it, ``os.replace``.
    """
    import tempfile

    path = Path(target)
    if not overwrite:
        refuse_existing(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".runcomfy-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; a downloaded output is an ordinary file
        if overwrite:
            os.replace(temporary, path)
        else:
            _place_new(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def refuse_existing(path: os.PathLike[str] | str) -> None:
    """:class:`OutputExistsError` when ``path`` exists (anything, even a dangling symlink)."""
    if os.path.lexists(path):
        raise OutputExistsError(os.fspath(path))


def _place_new(temporary: str, path: os.PathLike[str] | str) -> None:
    """Give the finished ``temporary`` the name ``path``, which must not exist (checked atomically)."""
    try:
        os.link(temporary, path, follow_symlinks=False)  # atomic, and fails when path exists
        return
    except FileExistsError:
        raise OutputExistsError(os.fspath(path)) from None
    except OSError:  # a file system without hard links: an exclusive create, then a copy
        pass
    import shutil

    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except FileExistsError:
        raise OutputExistsError(os.fspath(path)) from None
    try:
        with os.fdopen(fd, "wb") as out, open(temporary, "rb") as source:
            shutil.copyfileobj(source, out, 1 << 20)
    except BaseException:
        os.unlink(path)
        raise


@contextlib.contextmanager
def saving_all() -> Iterator[list[Path]]:
    """The files of one save, all or none: the block appends each path it saved to the list; when the
    block fails, those files are removed again (so saving once more finds no file in its way)."""
    placed: list[Path] = []
    try:
        yield placed
    except BaseException:
        for path in placed:
            path.unlink(missing_ok=True)
        raise


def download(
    url: str,
    target: os.PathLike[str] | str,
    *,
    timeout: float = DOWNLOAD_TIMEOUT,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    overwrite: bool = False,
    allow: Callable[[str], bool] | None = None,
) -> None:
    """Stream ``url`` to ``target`` atomically (temp file, then placed), with no credentials at all.

    Bounded as :class:`runcomfy._core.Download` decides: ``timeout`` seconds in all (checked as each piece
    arrives; a connection gone silent is given up by its read timeout, at most 60 s), ``max_bytes`` (by
    ``Content-Length`` before reading, and by the bytes received), redirects to ``http(s)`` only. An
    existing ``target`` is kept unless ``overwrite``. ``allow``, when given, says which URLs (the first and
    each redirect's) may be fetched. Failures are typed: :class:`DownloadError`,
    :class:`OutputExistsError`, or the :class:`APIError` of an HTTP error status.
    """
    import requests

    plan = Download(url, timeout=timeout, max_bytes=max_bytes, allow=allow)
    if not overwrite:
        refuse_existing(target)  # before fetching anything (placing checks again, atomically)
    session = getattr(_downloads, "session", None)
    if session is None:  # one pooled session per thread, made here: it never holds the API token
        session = _downloads.session = requests.Session()
    failure: str | None = None
    try:
        while True:
            # a plain GET: no token; redirects followed here, one checked step at a time
            with session.get(plan.url, stream=True, timeout=plan.timeouts(), allow_redirects=False) as response:
                if plan.redirected(response.status_code, response.headers):
                    continue
                start = response.raw.read(500) if response.status_code >= 400 else b""
                plan.accept(response.status_code, response.headers, start)
                with atomic_file(target, overwrite=overwrite) as out:
                    for chunk in _body_chunks(response, plan):
                        out.write(chunk)
                return
    except requests.exceptions.RequestException as exc:  # not raised from here: no context holding the request
        failure = f"{type(exc).__name__}: {exc}"
    raise plan.failed(failure)


def _body_chunks(response: requests.Response, plan: Download) -> Iterator[bytes]:
    """The body as it arrives (one socket read at a time, so a trickle is seen), counted by ``plan``."""
    import requests
    import urllib3.exceptions

    raw = response.raw
    read1 = getattr(raw, "read1", None)  # urllib3 2: at most one read from the socket
    try:
        while True:
            chunk = read1(1 << 16, decode_content=True) if read1 is not None else raw.read(1 << 16, decode_content=True)
            if not chunk:
                return
            plan.take(len(chunk))
            yield chunk
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise requests.exceptions.ConnectionError(f"{type(exc).__name__}: {exc}") from None
