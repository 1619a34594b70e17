"""Timing probes in the hot paths (queries, rule compilation, hooks, outbound calls).

Metrics and tracing both want to know how long these took, with a few attributes, without core
code knowing about Prometheus or OpenTelemetry. A probe reports after the fact to whatever
listeners plugins installed: (name, start and end in `time.perf_counter_ns()`, attributes, the
exception if it failed). With no listener a probe site costs one attribute check (`probes.active`),
so call sites guard with it before measuring anything:

    if probes.active:
        start = time.perf_counter_ns()
        ...
        probes.emit("db.query", start, time.perf_counter_ns(), {"db.system": "sqlite"})

Attributes never carry secrets or bound parameter values (statement text with `?` placeholders is
fine). A listener must not block or raise (an exception is logged and dropped).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger("satchel.probes")

Listener = Callable[[str, int, int, dict[str, Any], BaseException | None], None]

active = False
"""True once any listener is installed: call sites check it before taking a clock reading."""
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    global active
    _listeners.append(listener)
    active = True


def unlisten(listener: Listener) -> None:
    global active
    if listener in _listeners:
        _listeners.remove(listener)
    active = bool(_listeners)


def emit(name: str, start_ns: int, end_ns: int, attrs: dict[str, Any], error: BaseException | None = None) -> None:
    for listener in tuple(_listeners):
        try:
            listener(name, start_ns, end_ns, attrs, error)
        except Exception:  # a broken listener must not break the request it observes
            log.exception("probe listener failed on %s", name)


@contextmanager
def probe(name: str, attrs: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Measure a block (for sites that are not per-query hot; those use `active` + `emit`).

    Yields the attribute dict so the block can add what it learns (a status code, a row count).
    """
    values = attrs if attrs is not None else {}
    if not active:
        yield values
        return
    start = time.perf_counter_ns()
    try:
        yield values
    except BaseException as exc:
        emit(name, start, time.perf_counter_ns(), values, exc)
        raise
    emit(name, start, time.perf_counter_ns(), values)
