"""A test that needs a real service or tool skips locally when it is missing, and fails under CI.

CI must never silently skip: a missing tool there is a broken pipeline, not a choice.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str, hint: str = "") -> None:
    """Skip locally (the developer may not have the service) but fail loudly under CI=true."""
    if in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(f"{reason}; {hint}" if hint else reason)
