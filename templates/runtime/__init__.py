"""runcomfy: a typed, validated client for the RunComfy Model API, generated from each model's schema.

Model modules live under :mod:`runcomfy.models` (``from runcomfy.models.google.nano_banana_2 import edit``)
and are imported only when used: ``import runcomfy`` loads neither the models nor any HTTP library, and
:class:`Client` (from :mod:`runcomfy.client`) and :class:`AsyncClient` (from :mod:`runcomfy.async_client`,
on httpx: ``pip install "runcomfy[async]"``) are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._types import UNSET, Unset
from .errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadAnswerError,
    DownloadError,
    ErrorDetail,
    ForeignHandleError,
    InsufficientBalanceError,
    InvalidIdError,
    InvalidInputError,
    JobCancelledError,
    JobFailedError,
    NotFoundError,
    OutputExistsError,
    RateLimitError,
    RunComfyError,
    ServerError,
    SubmitUncertainError,
    TimeoutError,
    ValidationError,
)

if TYPE_CHECKING:
    from .async_client import AsyncClient, AsyncRequestHandle
    from .batch import BatchItem, amap, map
    from .client import Client, JobStatus, RequestHandle, Result

__all__ = [
    "UNSET",
    "APIConnectionError",
    "APIError",
    "AsyncClient",
    "AsyncRequestHandle",
    "AuthenticationError",
    "BadAnswerError",
    "BatchItem",
    "Client",
    "DownloadError",
    "ErrorDetail",
    "ForeignHandleError",
    "InsufficientBalanceError",
    "InvalidIdError",
    "InvalidInputError",
    "JobCancelledError",
    "JobFailedError",
    "JobStatus",
    "NotFoundError",
    "OutputExistsError",
    "RateLimitError",
    "RequestHandle",
    "Result",
    "RunComfyError",
    "ServerError",
    "SubmitUncertainError",
    "TimeoutError",
    "Unset",
    "ValidationError",
    "__version__",
    "amap",
    "map",
]

__version__ = "0.1.0"

_LAZY = frozenset({"Client", "JobStatus", "RequestHandle", "Result"})
_LAZY_ASYNC = frozenset({"AsyncClient", "AsyncRequestHandle"})
_LAZY_BATCH = frozenset({"BatchItem", "amap", "map"})


def __getattr__(name: str) -> Any:
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
