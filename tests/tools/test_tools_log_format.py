"""Stdout log lines: JSON objects one per line, a short text form, and `logging` records in both."""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path

import pytest

from satchel.tools.log_format import MAX_LINE, StdoutHandler, iso_time, json_line, record_fields, text_line


def test_iso_time_is_rfc3339_utc_with_milliseconds() -> None:
    assert iso_time(0) == "1970-01-01T00:00:00.000Z"
    assert iso_time(1767348900.5) == "2026-01-02T10:15:00.500Z"
    assert iso_time(1767348900.999) == "2026-01-02T10:15:00.999Z"
    assert iso_time(1767348901.001) == "2026-01-02T10:15:01.001Z"


def test_json_lines_are_single_valid_objects() -> None:
    line = json_line({"time": "t", "level": "INFO", "msg": "a\nb", "n": 1, "obj": Path("/x")})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == {"time": "t", "level": "INFO", "msg": "a\nb", "n": 1, "obj": "/x"}


def test_an_oversized_line_is_cut_but_stays_json() -> None:
    line = json_line({"msg": "x" * 10_000, "error": "e" * 10_000})
    assert len(line) <= MAX_LINE
    parsed = json.loads(line)
    assert parsed["truncated"] is True and "error" not in parsed


def test_text_lines_put_the_message_first() -> None:
    line = text_line(
        {"time": "2026-01-02T10:15:00.500Z", "level": "WARN", "msg": "GET /x 404", "status": 404, "ip": ""}
    )
    assert line == b"10:15:00.500 WARN  GET /x 404  status=404\n"


def test_records_carry_their_extras_and_tracebacks() -> None:
    logger = logging.getLogger("t.fmt")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logger.makeRecord("t.fmt", logging.ERROR, "f", 1, "failed %s", ("job",), sys.exc_info())
    record.__dict__["job"] = "nightly"
    fields = record_fields(record)
    assert (fields["level"], fields["logger"], fields["msg"], fields["job"]) == (
        "ERROR",
        "t.fmt",
        "failed job",
        "nightly",
    )
    assert "ValueError: boom" in fields["error"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", fields["time"])
    warning = record_fields(logger.makeRecord("t.fmt", logging.WARNING, "f", 1, "w", (), None))
    assert warning["level"] == "WARN"


def test_the_handler_writes_whole_lines_to_fd_1(capfd: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("t.stdout")
    handler = StdoutHandler("json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("disk %d%%", 91, extra={"disk": "/data"})
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    out = capfd.readouterr().out
    parsed = json.loads(out)
    assert (parsed["msg"], parsed["disk"], parsed["level"]) == ("disk 91%", "/data", "WARN")
    with pytest.raises(ValueError, match="json, text"):
        StdoutHandler("xml")


async def test_stdout_buffer_writes_whole_lines_in_chunks_of_at_most_pipe_buf(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from satchel.tools import log_format

    writes: list[bytes] = []
    monkeypatch.setattr(log_format, "write_stdout", writes.append)
    buffer = log_format.StdoutBuffer(delay=0.05)
    lines = [json_line({"msg": f"line {i}", "pad": "x" * 300}) for i in range(40)]
    for line in lines:
        buffer.add(line)
    assert writes, "full chunks go out at once"
    before_delay = len(writes)
    await asyncio.sleep(0.2)  # the rest after the delay
    assert len(writes) == before_delay + 1
    assert b"".join(writes) == b"".join(lines)
    assert all(len(w) <= log_format.PIPE_BUF and w.endswith(b"\n") for w in writes)
    assert len(writes) < len(lines) / 5, "lines are gathered, not written one by one"
    for w in writes:
        assert all(json.loads(x) for x in w.splitlines())


def test_stdout_buffer_without_a_loop_writes_at_once(capfd: pytest.CaptureFixture[str]) -> None:
    from satchel.tools.log_format import StdoutBuffer

    StdoutBuffer().add(b'{"msg":"now"}\n')
    assert capfd.readouterr().out == '{"msg":"now"}\n'
