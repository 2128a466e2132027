"""runcomfy: a typed, validated client for the RunComfy Model API, generated from each model's schema.

Model modules live under :mod:`runcomfy.models` (``from runcomfy.models.google.nano_banana_2 import edit``)
and are imported only when used: ``import runcomfy`` loads neither the models nor any HTTP library.
"""

from __future__ import annotations

from ._types import UNSET, Unset
from .errors import ErrorDetail, RunComfyError, ValidationError

__all__ = ["UNSET", "ErrorDetail", "RunComfyError", "Unset", "ValidationError", "__version__"]

__version__ = "0.1.0"
