"""Waiting for a pipelined batch's confirmations with a timeout on silence, not on the whole batch.

A fixed deadline for the batch would fail a large batch on a healthy but busy broker, and the
dispatcher would retry the same batch, fail it again, and never advance. So the timeout restarts
with every confirmation: a broker that keeps confirming is given the time it needs, one that stops
for `timeout` seconds fails the batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any


async def confirmed(pending: Sequence[asyncio.Future[Any]], timeout: float) -> None:
    """Return when every future is done; raise the first failure, or TimeoutError after `timeout`
    seconds without progress (the caller cancels what is left)."""
    for future in pending:
        await asyncio.wait_for(asyncio.shield(future), timeout)


async def abandon(pending: Sequence[asyncio.Future[Any]]) -> None:
    """Cancel what is still waiting and collect every outcome, so no failure goes unretrieved."""
    for future in pending:
        future.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
