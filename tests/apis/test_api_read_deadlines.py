"""Body reads under a deadline: one sweeping timer per worker, the stalled read ends as a 408 error."""

from __future__ import annotations

import asyncio

import pytest
from starlette.types import Message, Receive

from satchel.apis.middleware.read_deadlines import ReadDeadlines
from satchel.core.errors import RequestTimeoutError


def _body(*chunks: bytes, stall_after: int | None = None) -> tuple[asyncio.Event, Receive]:
    """A `receive` giving `chunks` (more_body until the last), then hanging forever if `stall_after`."""
    never = asyncio.Event()
    sent = 0

    async def receive() -> Message:
        nonlocal sent
        if stall_after is not None and sent >= stall_after:
            await never.wait()
        sent += 1
        return {"type": "http.request", "body": chunks[sent - 1], "more_body": sent < len(chunks)}

    return never, receive


async def test_a_body_that_arrives_is_read_and_nothing_stays_watched() -> None:
    deadlines = ReadDeadlines(0.2)
    _, receive = _body(b"a", b"b")
    timed = deadlines.wrap(receive)
    assert [(await timed())["body"] for _ in range(2)] == [b"a", b"b"]
    assert deadlines.pending == 0
    await asyncio.sleep(0.1)  # the sweep runs once more, finds nothing and stops re-arming
    assert deadlines._timer is None


async def test_a_stalled_body_ends_with_a_timeout_error() -> None:
    deadlines = ReadDeadlines(0.2)
    _, receive = _body(b"a", b"b", stall_after=1)
    timed = deadlines.wrap(receive)
    assert (await timed())["body"] == b"a"
    with pytest.raises(RequestTimeoutError):
        await timed()
    assert deadlines.pending == 0
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # the cancellation used for it was taken back


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    deadlines = ReadDeadlines(30)
    _, receive = _body(b"a", stall_after=0)
    reader = asyncio.create_task(deadlines.wrap(receive)())
    await asyncio.sleep(0)
    assert deadlines.pending == 1
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert deadlines.pending == 0


async def test_after_the_last_chunk_reads_wait_without_a_deadline() -> None:
    deadlines = ReadDeadlines(0.2)
    disconnect = asyncio.Event()
    calls = 0

    async def receive() -> Message:
        nonlocal calls
        calls += 1
        if calls == 1:
            return {"type": "http.request", "body": b"{}", "more_body": False}
        await disconnect.wait()  # a streamed response waiting for the client to leave
        return {"type": "http.disconnect"}

    timed = deadlines.wrap(receive)
    await timed()
    waiting = asyncio.create_task(timed())
    await asyncio.sleep(0.5)  # past the deadline: nothing is watched any more
    assert not waiting.done() and deadlines.pending == 0
    disconnect.set()
    assert (await waiting)["type"] == "http.disconnect"


async def test_several_readers_each_keep_their_own_deadline() -> None:
    deadlines = ReadDeadlines(0.2)
    _, stalled = _body(b"a", stall_after=0)
    _, flowing = _body(b"x")
    slow = asyncio.create_task(deadlines.wrap(stalled)())
    fast = asyncio.create_task(deadlines.wrap(flowing)())
    assert (await fast)["body"] == b"x"
    with pytest.raises(RequestTimeoutError):
        await slow
