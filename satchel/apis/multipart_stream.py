"""One file of a multipart body as a stream, without spooling the body to a temporary file.

Starlette's form parser copies every file part to a temporary file before the endpoint runs. A
backup archive may be gigabytes: this reader hands the chosen part's bytes on as they arrive, so
the upload goes straight to the backups store (which writes atomically) with bounded memory.
Other parts are skipped; their bytes are never kept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from satchel.apis.request import LOAD_ERROR
from satchel.core.errors import BadRequestError


@dataclass(slots=True)
class _State:
    """What the parser's callbacks saw during the last `write`."""

    header_name: bytes = b""
    header_value: bytes = b""
    disposition: bytes = b""
    events: list[tuple[str, bytes]] = field(default_factory=list)
    """("begin", b""), ("file", name) or ("other", b"") once headers end, ("data", bytes), ("end", b"")."""
    target: str = ""


def _callbacks(state: _State) -> dict[str, object]:
    def on_header_field(data: bytes, start: int, end: int) -> None:
        state.header_name += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state.header_value += data[start:end]

    def on_header_end() -> None:
        if state.header_name.lower() == b"content-disposition":
            state.disposition = state.header_value
        state.header_name = state.header_value = b""

    def on_headers_finished() -> None:
        _, options = parse_options_header(state.disposition)
        state.disposition = b""
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if name == state.target and filename is not None:
            state.events.append(("file", filename))
        else:
            state.events.append(("other", b""))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        state.events.append(("data", data[start:end]))

    def on_part_end() -> None:
        state.events.append(("end", b""))

    return {
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }


@dataclass(slots=True)
class FilePart:
    filename: str
    chunks: AsyncIterator[bytes]


async def _events(request: Request, state: _State, parser: MultipartParser) -> AsyncIterator[tuple[str, bytes]]:
    try:
        async for body in request.stream():
            parser.write(body)
            events, state.events = state.events, []
            for event in events:
                yield event
        parser.finalize()
    except BadRequestError:
        raise
    except Exception as exc:  # a malformed body is the client's error, never a 500
        raise BadRequestError(LOAD_ERROR) from exc
    for event in state.events:
        yield event


async def _data(events: AsyncIterator[tuple[str, bytes]]) -> AsyncIterator[bytes]:
    async for kind, payload in events:
        if kind == "data":
            if payload:
                yield payload
        elif kind == "end":
            return
    raise BadRequestError(LOAD_ERROR)  # the body ended inside the part


async def first_file(request: Request, name: str) -> FilePart | None:
    """The first file part named `name` (None when the body has none); read its chunks to the end."""
    ctype, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        return None
    state = _State(target=name)
    try:
        parser = MultipartParser(boundary, _callbacks(state))  # type: ignore[arg-type]
    except Exception as exc:
        raise BadRequestError(LOAD_ERROR) from exc
    events = _events(request, state, parser)
    async for kind, payload in events:
        if kind == "file":
            return FilePart(payload.decode("utf-8", "replace"), _data(events))
    return None
