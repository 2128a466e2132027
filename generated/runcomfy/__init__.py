"""runcomfy: a typed, validated client for the RunComfy Model API, generated from each model's schema.

Usage (the token comes from ``RUNCOMFY_API_TOKEN``)::

    import runcomfy
    from runcomfy.models.google.nano_banana_2 import edit    # one module per model

    result = edit.run(prompt="...", image_urls=["https://..."])   # validate, submit, wait
    result.output.images, result.request_id
    result.save("out/")

    handle = edit.submit(edit.Input(prompt="...", image_urls=["https://..."]))   # returns at once
    handle.status(), handle.result(timeout=600)

    try:
        edit.Input(prompt="...", image_urls=[], num_image=2)
    except runcomfy.ValidationError as error:   # every problem at once, before any network call
        print(error)

``help(edit.run)`` lists a model's fields; ``runcomfy.models.MODELS`` maps every model id to its module.

Names (``help(runcomfy.<name>)`` for each):

- ``Client``, ``AsyncClient`` (on httpx: ``pip install "runcomfy[async]"``): explicit configuration;
  ``Result``, ``RequestHandle``, ``AsyncRequestHandle``, ``JobStatus``: what they return.
- ``map``, ``amap``, ``BatchItem``: many jobs at once, resumable.
- ``UNSET``: an optional field left unset (not sent: the server's default applies).
- Errors (:mod:`runcomfy.errors`), all under ``RunComfyError``: ``ValidationError`` (bad input, before
  any call; its ``errors`` are ``ErrorDetail``), ``APIError`` (``AuthenticationError``,
  ``InsufficientBalanceError``, ``NotFoundError``, ``InvalidInputError``, ``RateLimitError``,
  ``ServerError``, whose ``BadAnswerError`` is an answer the client refuses), ``APIConnectionError``
  (``SubmitUncertainError``), ``JobFailedError``, ``JobCancelledError``, ``TimeoutError``,
  ``InvalidIdError`` (a malformed request or model id), ``ForeignHandleError`` (a handle of another API
  host), ``DownloadError`` and ``OutputExistsError`` (saving outputs).

``import runcomfy`` loads neither the models nor any HTTP library: the model modules are imported when
used, and ``Client``, ``AsyncClient``, ``map``... on first use.
"""

# No __all__: pydoc would document every class it names in full (1,200 lines of inherited exception
# methods); the names are re-exported explicitly ("import X as X") for type checkers instead.
from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._types import UNSET as UNSET
from ._types import Unset as Unset
from ._version import __version__ as __version__
from .errors import APIConnectionError as APIConnectionError
from .errors import APIError as APIError
from .errors import AuthenticationError as AuthenticationError
from .errors import BadAnswerError as BadAnswerError
from .errors import DownloadError as DownloadError
from .errors import ErrorDetail as ErrorDetail
from .errors import ForeignHandleError as ForeignHandleError
from .errors import InsufficientBalanceError as InsufficientBalanceError
from .errors import InvalidIdError as InvalidIdError
from .errors import InvalidInputError as InvalidInputError
from .errors import JobCancelledError as JobCancelledError
from .errors import JobFailedError as JobFailedError
from .errors import NotFoundError as NotFoundError
from .errors import OutputExistsError as OutputExistsError
from .errors import RateLimitError as RateLimitError
from .errors import RunComfyError as RunComfyError
from .errors import ServerError as ServerError
from .errors import SubmitUncertainError as SubmitUncertainError
from .errors import TimeoutError as TimeoutError
from .errors import ValidationError as ValidationError

if _TYPE_CHECKING:
    from ._core import RetryPolicy as RetryPolicy
    from ._polling import PollSchedule as PollSchedule
    from .async_client import AsyncClient as AsyncClient
    from .async_client import AsyncRequestHandle as AsyncRequestHandle
    from .batch import BatchItem as BatchItem
    from .batch import amap as amap
    from .batch import map as map
    from .client import Client as Client
    from .client import JobStatus as JobStatus
    from .client import RequestHandle as RequestHandle
    from .client import Result as Result


_LAZY = frozenset({"Client", "JobStatus", "PollSchedule", "RequestHandle", "Result", "RetryPolicy"})
_LAZY_ASYNC = frozenset({"AsyncClient", "AsyncRequestHandle"})
_LAZY_BATCH = frozenset({"BatchItem", "amap", "map"})


def __getattr__(name: str) -> _Any:
    """``runcomfy.Client``, ``runcomfy.AsyncClient`` and friends, imported on first use."""
    if name in _LAZY:
        from . import client

        return getattr(client, name)
    if name in _LAZY_ASYNC:
        from . import async_client

        return getattr(async_client, name)
    if name in _LAZY_BATCH:
        from . import batch

        return getattr(batch, name)
    raise AttributeError(f"module 'runcomfy' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The package's names, with those imported on first use (``Client``, ``map``...)."""
    return sorted({*globals(), *_LAZY, *_LAZY_ASYNC, *_LAZY_BATCH})
