"""Log lines for stdout: one JSON object per line (Loki, ELK, Fluentd, Vector read them as they
come) or a short human line for development, for request lines and Python `logging` records alike.

Lines reach file descriptor 1 in writes of whole lines, each at most PIPE_BUF (4,096) bytes: lines
of several worker processes sharing a pipe never interleave, since a pipe write up to that size
is atomic. Request lines are gathered by `StdoutBuffer` into such writes (one system call per ~10
lines instead of one per line: measured ~25 us of CPU per request with a write per line, two
workers sharing one file); app log records are written at once. Fields are flat; `time` is
RFC 3339 UTC with milliseconds, `level` the upper-case name, `msg` the message.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import traceback
from collections.abc import Mapping
from typing import Any

import orjson

from satchel.tools.cheap_ids import SecondCache

FORMATS = ("json", "text")
MAX_LINE = 4000
"""Below PIPE_BUF (4096 on Linux) so that a line is written atomically."""
STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime", "taskName"}
)
TEXT_KEYS_FIRST = ("status", "method", "route", "path", "durationMs")


_ISO = SecondCache("%Y-%m-%dT%H:%M:%S", "Z")


def iso_time(epoch_s: float) -> str:
    """RFC 3339 UTC with milliseconds (`2026-01-02T10:15:00.123Z`)."""
    return _ISO.format(epoch_s)


def json_line(fields: Mapping[str, Any]) -> bytes:
    line = orjson.dumps(fields, default=str, option=orjson.OPT_APPEND_NEWLINE)
    if len(line) > MAX_LINE:  # an oversized message: cut it, keep the line valid JSON
        short = dict(fields)
        short["msg"] = str(short.get("msg", ""))[: MAX_LINE // 2]
        short["truncated"] = True
        short.pop("error", None)
        line = orjson.dumps(short, default=str, option=orjson.OPT_APPEND_NEWLINE)[:MAX_LINE]
    return line


def text_line(fields: Mapping[str, Any]) -> bytes:
    """`HH:MM:SS.mmm LEVEL msg key=value ...` (the date is left to whoever reads a dev console)."""
    time = str(fields.get("time", ""))[11:23]
    rest = " ".join(f"{k}={v}" for k, v in fields.items() if k not in ("time", "level", "msg", "error") and v != "")
    line = f"{time} {fields.get('level', '')!s:<5} {fields.get('msg', '')}"
    if rest:
        line += f"  {rest}"
    if fields.get("error"):
        line += "\n" + str(fields["error"]).rstrip()
    return (line + "\n").encode("utf-8", "replace")


def render(fields: Mapping[str, Any], fmt: str) -> bytes:
    return json_line(fields) if fmt == "json" else text_line(fields)


def write_stdout(line: bytes) -> None:
    with contextlib.suppress(OSError):  # stdout closed or full: a log line is never worth an error
        os.write(1, line)


PIPE_BUF = 4096
BUFFER_DELAY_S = 0.2


class StdoutBuffer:
    """Whole lines gathered into writes of at most `PIPE_BUF` bytes, written when the next line
    would not fit or `BUFFER_DELAY_S` after the first one (on the event loop that added it), and at
    `flush()` (server shutdown, exit). A crash loses at most that fraction of a second of lines."""

    def __init__(self, delay: float = BUFFER_DELAY_S) -> None:
        self.delay = delay
        self._parts: list[bytes] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        atexit.register(self.flush)

    def add(self, line: bytes) -> None:
        if self._size + len(line) > PIPE_BUF:
            self.flush()
        self._parts.append(line)
        self._size += len(line)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a script): no waiting
            self.flush()
            return
        if self._timer is None or self._loop is not loop:  # a timer of a loop since closed never fires
            if self._timer is not None:
                self._timer.cancel()
            self._loop = loop
            self._timer = loop.call_later(self.delay, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._parts:
            data, self._parts, self._size = b"".join(self._parts), [], 0
            write_stdout(data)


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """A `logging` record as flat fields: time, level, logger, msg, its `extra` values, the error."""
    fields: dict[str, Any] = {
        "time": iso_time(record.created),
        "level": "WARN" if record.levelname == "WARNING" else record.levelname,
        "logger": record.name,
        "msg": record.getMessage(),
    }
    for key, value in record.__dict__.items():
        if key not in STANDARD_ATTRS and not key.startswith("_") and key not in fields:
            fields[key] = value
    if record.exc_info:
        fields["error"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
    return fields


class StdoutHandler(logging.Handler):
    """Python `logging` records to stdout in the chosen format (`json` or `text`)."""

    def __init__(self, fmt: str, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        if fmt not in FORMATS:
            raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        self.fmt = fmt

    def emit(self, record: logging.LogRecord) -> None:
        try:
            write_stdout(render(record_fields(record), self.fmt))
        except Exception:
            self.handleError(record)
