"""Ending long-lived responses (realtime streams) as soon as a granian worker is told to stop.

Granian drains open connections before it runs the lifespan shutdown, so streams closed only
there would hold the process until every client hung up. Its workers stop on a loop signal
handler installed by `granian._signals.set_loop_signals(loop)`, which the worker looks up at
call time, after importing the ASGI target. Wrapping that function from the target's import
chains our callbacks in front of granian's own handler, on either event loop (asyncio's private
handler table is not there under uvloop, which an earlier version of this relied on). If granian
changes that structure nothing is installed and streams end at lifespan shutdown instead; the
SIGTERM test in tests/apis/test_api_realtime.py would catch it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_callbacks: list[Callable[[], None]] = []


def on_worker_stop(callback: Callable[[], None]) -> None:
    """Run `callback` in the event loop when the worker receives SIGINT or SIGTERM."""
    _callbacks.append(callback)


def _fire() -> None:
    for callback in list(_callbacks):
        callback()


def install_granian_hook() -> None:
    try:
        from granian import _signals
    except ImportError:  # not running under granian
        return
    original: Any = getattr(_signals, "set_loop_signals", None)
    if original is None or getattr(original, "satchel_hook", False):
        return

    def set_loop_signals(loop: Any) -> Any:
        class ChainingLoop:
            """Hands granian's handler to the real loop behind ours."""

            def add_signal_handler(self, sig: int, callback: Callable[..., None], *args: Any) -> None:
                def chained() -> None:
                    _fire()
                    callback(*args)

                loop.add_signal_handler(sig, chained)

        return original(ChainingLoop())

    set_loop_signals.satchel_hook = True  # type: ignore[attr-defined]
    _signals.set_loop_signals = set_loop_signals
