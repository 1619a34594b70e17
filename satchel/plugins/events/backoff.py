"""Exponential backoff with jitter: retries of many processes or sinks do not fall in step."""

from __future__ import annotations

import random


def delay(failures: int, base: float, cap: float) -> float:
    """Seconds to wait after the `failures`-th consecutive failure: between half and all of
    `base * 2**(failures-1)`, at most `cap`."""
    full = float(min(cap, base * (2 ** min(max(failures - 1, 0), 62))))
    return full / 2 + random.random() * full / 2  # noqa: S311 - jitter, not a secret
