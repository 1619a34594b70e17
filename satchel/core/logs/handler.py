"""App logs: Python `logging` records at or above `settings.logs.minLevel` go to `_logs` too.

Installed on the `satchel` logger by the server (and by anyone embedding an App who wants it). A
record's `extra` attributes become the entry's `data`, next to the logger name; tracebacks are
kept as text. Records of the logs machinery itself are skipped: a failing write must not log
about itself forever.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from satchel.core.logs.model import slog_level

if TYPE_CHECKING:
    from satchel.core.logs.service import LogsService

SKIPPED_LOGGERS = ("satchel.logs", "satchel.request")
"""The request log has its own `_logs` entries (written by the middleware, not through logging)."""
STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime", "taskName"}
)


def record_extras(record: logging.LogRecord) -> dict[str, Any]:
    """The `extra={...}` attributes of `record` (what the caller added beyond the standard ones)."""
    return {k: v for k, v in record.__dict__.items() if k not in STANDARD_ATTRS and not k.startswith("_")}


class LogsHandler(logging.Handler):
    def __init__(self, logs: LogsService) -> None:
        super().__init__()
        self.logs = logs

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(SKIPPED_LOGGERS):
            return
        try:
            level = slog_level(record.levelno)
            if not self.logs.accepts(level):
                return
            data: dict[str, Any] = {"type": "app", "logger": record.name, **record_extras(record)}
            if record.exc_info:
                data["error"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
            self.logs.add(level, record.getMessage(), data)
        except Exception:  # a logging handler never raises into the caller
            self.handleError(record)


def attach(logs: LogsService, stdout: logging.Handler | None, *, dev: bool = False) -> Callable[[], None]:
    """Route Python logging to `_logs` (and to `stdout` when given) for a server process; returns
    the function that undoes it (server shutdown).

    The handlers go on the root logger so an application's own loggers are included; Satchel's
    loggers are opened down to INFO (DEBUG with `dev`), the levels PocketBase's `minLevel` can keep.
    """
    root = logging.getLogger()
    satchel = logging.getLogger("satchel")
    previous = satchel.level
    handlers: list[logging.Handler] = [LogsHandler(logs)]
    if stdout is not None:
        handlers.append(stdout)
    for h in handlers:
        root.addHandler(h)
    satchel.setLevel(logging.DEBUG if dev else logging.INFO)

    def detach() -> None:
        for h in handlers:
            root.removeHandler(h)
        satchel.setLevel(previous)

    return detach
