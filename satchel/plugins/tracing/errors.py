"""How a failure shows on a span: ERROR status, the exception's type and frames, never its message.

Messages may carry what a client sent or a driver echoed (values, addresses, tokens); spans
leave the process like logs do, so they get the type name and the stack frames only.
"""

from __future__ import annotations

import traceback

from opentelemetry.trace import Span, Status, StatusCode


def mark_failed(span: Span, error: BaseException) -> None:
    kind = type(error).__qualname__
    frames = "".join(traceback.format_tb(error.__traceback__))
    span.add_event("exception", {"exception.type": kind, "exception.stacktrace": frames})
    span.set_attribute("error.type", kind)
    span.set_status(Status(StatusCode.ERROR, kind))
