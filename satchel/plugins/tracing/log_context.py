"""Trace and span ids on every log record, for the structured logs to print.

While tracing runs, each `logging.LogRecord` carries `trace_id` (32 hex digits), `span_id` (16)
and `trace_sampled` (bool) of the span current where it was logged, or empty strings outside any
span. A record factory rather than a handler filter: it reaches records of every logger and every
handler, including ones configured after tracing started. `TraceContextFilter` does the same for
a handler set up apart (records made before tracing started, or by another factory).
"""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry import trace


def annotate(record: logging.LogRecord) -> None:
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        record.trace_id = format(context.trace_id, "032x")
        record.span_id = format(context.span_id, "016x")
        record.trace_sampled = context.trace_flags.sampled
    else:
        record.trace_id = record.span_id = ""
        record.trace_sampled = False


class TraceContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        annotate(record)
        return True


class RecordFactory:
    """Wraps the record factory in place when tracing starts, and unwraps it when it stops."""

    def __init__(self, previous: Any) -> None:
        self.previous = previous

    @classmethod
    def install(cls) -> RecordFactory:
        factory = cls(logging.getLogRecordFactory())
        logging.setLogRecordFactory(factory)
        return factory

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.previous(*args, **kwargs)
        annotate(record)
        return record

    def uninstall(self) -> None:
        if logging.getLogRecordFactory() is self:
            logging.setLogRecordFactory(self.previous)
