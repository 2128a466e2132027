"""The version of the runcomfy distribution, and of the runtime API that generated model modules are written against."""

__version__ = "0.2.0"

RUNTIME_API = (1, 1)  # 1.1: runcomfy.pricing (PRICING, Input.estimate_cost)
"""``(major, minor)`` of what generated model modules use from the runtime: a module generated for ``(M, m)``
imports on a runtime with the same ``M`` and a minor of at least ``m``."""
