"""Confirmations are awaited with a timeout on silence: a slow but steady broker is not a failure."""

from __future__ import annotations

import asyncio

import pytest

from satchel.adapters.event_sinks.confirms import abandon, confirmed


async def test_a_batch_longer_than_the_timeout_passes_while_confirmations_keep_coming() -> None:
    loop = asyncio.get_running_loop()
    pending = [loop.create_future() for _ in range(6)]
    for i, future in enumerate(pending):
        loop.call_later(0.1 * (i + 1), future.set_result, i)
    started = loop.time()
    await confirmed(pending, timeout=0.3)  # 0.6 s in all, never 0.3 s without progress
    assert loop.time() - started >= 0.55
    assert [f.result() for f in pending] == list(range(6))


async def test_silence_longer_than_the_timeout_fails_and_the_rest_can_be_abandoned() -> None:
    loop = asyncio.get_running_loop()
    pending = [loop.create_future() for _ in range(3)]
    pending[0].set_result(0)
    with pytest.raises(TimeoutError):
        await confirmed(pending, timeout=0.1)
    assert not pending[1].done()  # the timeout does not cancel the confirmation itself
    await abandon(pending)
    assert pending[1].cancelled() and pending[2].cancelled()


async def test_the_first_failure_is_raised() -> None:
    loop = asyncio.get_running_loop()
    pending = [loop.create_future() for _ in range(3)]
    pending[0].set_result(0)
    pending[1].set_exception(ConnectionResetError("gone"))
    with pytest.raises(ConnectionResetError):
        await confirmed(pending, timeout=1)
    await abandon(pending)
