"""The HTTP transport: one lazily created ``requests.Session``, timeouts on every call, retries with
backoff, and the mapping of answers to JSON or to typed errors.

``requests`` is imported on the first network call, not before: importing a model costs nothing here.
Retries: GETs and cancels are retried on connection errors, timeouts, 429 and 5xx (``Retry-After``
honoured, capped). A submit is retried only when the request provably never reached the server (the
connection was refused or could not be opened) or the server refused it with 429; any other failure
raises :class:`~runcomfy.errors.SubmitUncertainError`, since the job may exist.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    InsufficientBalanceError,
    InvalidInputError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SubmitUncertainError,
)

if TYPE_CHECKING:
    import requests

__all__ = ["RetryPolicy", "Transport", "api_error", "logger"]

logger = logging.getLogger("runcomfy")


def _configure_logging() -> None:
    """``RUNCOMFY_LOG=debug|info`` switches the ``runcomfy`` logger on (to stderr)."""
    level = os.environ.get("RUNCOMFY_LOG", "").upper()
    if level in ("DEBUG", "INFO") and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s runcomfy %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(level)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How failed calls are retried: ``max_retries`` more attempts, exponential backoff from
    ``backoff`` seconds up to ``max_backoff``, with full jitter; a server's ``Retry-After`` is honoured
    up to ``max_retry_after`` seconds."""

    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        import random

        ceiling = min(self.max_backoff, self.backoff * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)


# --- answers → errors ------------------------------------------------------------------------------


def _message(body: object) -> str:
    if isinstance(body, Mapping):
        for key in ("error_message", "message", "error", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, list) and value:
                return "; ".join(
                    str(item.get("msg", item)) if isinstance(item, Mapping) else str(item) for item in value
                )
    return "the API answered with an error"


def error_code_of(body: object) -> int | None:
    if isinstance(body, Mapping):
        code = body.get("error_code")
        if isinstance(code, int) and not isinstance(code, bool):
            return code
        if isinstance(code, str) and code.isdigit():
            return int(code)
    return None


def api_error(status: int, body: object, *, request_id: str | None, retry_after: float | None = None) -> APIError:
    """The typed error for an answer: by RunComfy's ``error_code`` first, then by HTTP status."""
    code = error_code_of(body)
    cls: type[APIError]
    if code in (400004, 403001) or status in (401, 403):
        cls = AuthenticationError
    elif code == 400002 or status == 402:
        cls = InsufficientBalanceError
    elif code in (400001, 404001) or status == 404:
        cls = NotFoundError
    elif status == 429:
        cls = RateLimitError
    elif status >= 500:
        cls = ServerError
    elif status in (400, 422) or code == 422:
        cls = InvalidInputError
    else:
        cls = APIError
    return cls(
        _message(body), status_code=status, error_code=code, request_id=request_id, body=body, retry_after=retry_after
    )


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _never_sent(exc: BaseException) -> bool:
    """Whether a connection error proves the request never reached the server (refused, no route,
    name not resolved, connect timeout), as opposed to a connection that broke after sending."""
    import urllib3.exceptions as u3

    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (u3.NewConnectionError, u3.ConnectTimeoutError, ConnectionRefusedError)):
            return True
        if isinstance(current, (u3.ProtocolError, u3.ReadTimeoutError, ConnectionResetError)):
            return False
        pending += [getattr(current, "reason", None), current.__cause__, current.__context__]
        pending += [arg for arg in current.args if isinstance(arg, BaseException)]
    return False


# --- the transport ---------------------------------------------------------------------------------


class Transport:
    """Authenticated JSON calls to the API base URL. The token lives here and nowhere else."""

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
        _configure_logging()

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, token=***)"

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            import requests

            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self._token}"
            session.headers["User-Agent"] = "runcomfy-python"
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

        ``deadline`` (a ``time.monotonic()`` value) bounds the call and its retries as a whole.
        """
        import requests

        submit = method == "POST" and request_id is None
        url = self.base_url + path
        attempt = 0
        while True:
            timeout = self._timeouts(deadline)
            started = time.monotonic()
            retry_after: float | None = None
            try:
                response = self.session.request(
                    method, url, json=body, params=params, timeout=timeout, allow_redirects=False
                )
            except requests.exceptions.RequestException as exc:
                reached = not _never_sent(exc)
                logger.info(
                    "%s %s failed after %.3fs: %s", method, path, time.monotonic() - started, type(exc).__name__
                )
                if submit and reached:
                    raise SubmitUncertainError(
                        f"submit to {path} failed after the request may have reached the server "
                        f"({type(exc).__name__}): the job may exist, so it was not retried"
                    ) from None
                error: Exception = APIConnectionError(
                    f"{method} {path} failed: {type(exc).__name__}: {exc}", request_id=request_id
                )
            else:
                logger.debug("%s %s -> %s in %.3fs", method, path, response.status_code, time.monotonic() - started)
                retry_after = _retry_after(response.headers)
                parsed = self._parse(response, request_id, retry_after)
                if not isinstance(parsed, Exception):
                    return parsed, retry_after
                error = parsed
                retryable = isinstance(error, (RateLimitError, ServerError))
                if not retryable or (submit and not isinstance(error, RateLimitError)):
                    raise error
            if attempt >= self.retry.max_retries:
                raise error
            pause = self.retry.delay(attempt, retry_after)
            if deadline is not None and time.monotonic() + pause >= deadline:
                raise error
            logger.info("retrying %s %s in %.2fs (attempt %d)", method, path, pause, attempt + 2)
            self.sleep(pause)
            attempt += 1

    def _timeouts(self, deadline: float | None) -> tuple[float, float]:
        read = self.timeout
        if deadline is not None:
            read = max(0.05, min(read, deadline - time.monotonic()))
        return (min(self.connect_timeout, read), read)

    @staticmethod
    def _parse(
        response: requests.Response, request_id: str | None, retry_after: float | None
    ) -> dict[str, Any] | APIError:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text[:2000]
            if response.status_code < 400:
                return ServerError(
                    "the API answered with something that is not JSON",
                    status_code=response.status_code,
                    request_id=request_id,
                    body=body,
                )
        if response.status_code >= 400:
            return api_error(response.status_code, body, request_id=request_id, retry_after=retry_after)
        if not isinstance(body, dict):
            return ServerError(
                "the API answered with JSON that is not an object",
                status_code=response.status_code,
                request_id=request_id,
                body=body,
            )
        if error_code_of(body) not in (None, 0):  # HTTP 200 carrying an error body
            status = 429 if error_code_of(body) == 429 else 400
            return api_error(status, body, request_id=request_id or body.get("request_id"), retry_after=retry_after)
        return body


def download(url: str, target: os.PathLike[str] | str, *, timeout: float = 60.0) -> None:
    """Stream ``url`` to ``target`` atomically (temp file, then rename), with no credentials at all."""
    import tempfile
    from pathlib import Path

    import requests

    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    with requests.get(url, stream=True, timeout=(10.0, timeout)) as response:  # a plain GET: no token
        if response.status_code >= 400:
            raise api_error(response.status_code, response.text[:500], request_id=None)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in response.iter_content(chunk_size=1 << 16):
                    out.write(chunk)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
