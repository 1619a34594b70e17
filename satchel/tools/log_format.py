"""Log lines for stdout: one JSON object per line (Loki, ELK, Fluentd, Vector read them as they
come) or a short human line for development, for request lines and Python `logging` records alike.

Every line goes out in one `write(2)` on file descriptor 1: lines of several worker processes
sharing a pipe never interleave (a pipe write up to PIPE_BUF bytes is atomic), and nothing waits
in a buffer when the process dies. Fields are flat; `time` is RFC 3339 UTC with milliseconds,
`level` is the upper-case name, `msg` the message.
"""

from __future__ import annotations

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
