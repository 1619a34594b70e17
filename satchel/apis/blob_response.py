"""A stored object as an HTTP response: streamed, cacheable, resumable.

Go's `http.ServeContent`, which PocketBase serves files with, answers conditional requests
(`If-None-Match`, `If-Modified-Since`, `If-Range`) and byte ranges; browsers and video players
rely on both. The body is read from the BlobStore chunk by chunk, never whole.

Differences from Go, on purpose: an ETag is sent (Go only honours one the caller sets) so that
revalidation also works below one-second resolution; a request for several ranges gets the whole
body with 200 (allowed by RFC 9110, and simpler than multipart/byteranges, which no browser or
media player needs); a 416 carries PocketBase's JSON error body instead of Go's plain text.
"""

from __future__ import annotations

from email.utils import formatdate, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from satchel.apis.errors import error_response
from satchel.ports.blobs import BlobInfo, BlobStore

RANGE_NOT_SATISFIABLE = "Requested range not satisfiable."


class RangeNotSatisfiable(Exception):
    """The Range header is malformed or starts past the end (`overlap`: it was only the latter)."""

    def __init__(self, overlap: bool) -> None:
        super().__init__("range not satisfiable")
        self.no_overlap = overlap


def etag(info: BlobInfo) -> str:
    """Changes whenever the object is rewritten (new size or modification time)."""
    return f'"{int(info.modified * 1_000_000):x}-{info.size:x}"'


MAX_DIGITS = 18
"""Longer numbers are past the end of any object (and `int()` of thousands of digits raises)."""


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= MAX_DIGITS else 10**MAX_DIGITS


def _digits_or_empty(text: str) -> bool:
    return not text or (text.isascii() and text.isdigit())


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """`[start, end)` of a single `bytes=` range; None to send everything (several ranges).

    Raises RangeNotSatisfiable for a malformed header or a range starting at or past `size`.
    """
    if not header.startswith("bytes="):
        raise RangeNotSatisfiable(False)
    specs = [s.strip() for s in header[len("bytes=") :].split(",") if s.strip()]
    if not specs:
        raise RangeNotSatisfiable(False)
    if len(specs) > 1:
        return None
    first, sep, last = specs[0].partition("-")
    first, last = first.strip(), last.strip()
    if not sep or not _digits_or_empty(first) or not _digits_or_empty(last) or not (first or last):
        raise RangeNotSatisfiable(False)
    if not first:  # the last N bytes
        count = min(_number(last), size)
        if count == 0:
            raise RangeNotSatisfiable(True)
        return size - count, size
    start = _number(first)
    if start >= size:
        raise RangeNotSatisfiable(True)
    if not last:
        return start, size
    end = _number(last)
    if end < start:
        raise RangeNotSatisfiable(False)
    return start, min(end + 1, size)


def _http_date(seconds: float) -> str:
    return formatdate(int(seconds), usegmt=True)


def _parse_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _etag_matches(header: str, tag: str) -> bool:
    """Weak comparison, as If-None-Match uses: `W/` prefixes are ignored, `*` matches anything."""
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == tag:
            return True
    return False


def _not_modified(request: Request, info: BlobInfo, tag: str) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    none_match = request.headers.get("if-none-match")
    if none_match is not None:
        return _etag_matches(none_match, tag)
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    when = _parse_date(since)
    return when is not None and int(info.modified) <= when


def _range_applies(request: Request, info: BlobInfo, tag: str) -> bool:
    """A Range is honoured unless an If-Range names another version (a stale partial download)."""
    if_range = request.headers.get("if-range")
    if if_range is None:
        return True
    if if_range.startswith('"') or if_range.startswith("W/"):
        return if_range == tag  # strong comparison only
    when = _parse_date(if_range)
    return when is not None and int(info.modified) == int(when)


def blob_response(request: Request, store: BlobStore, key: str, info: BlobInfo, headers: dict[str, str]) -> Response:
    """The response for `key` (whose `info` was just read): 200, 206, 304 or 416."""
    tag = etag(info)
    common = {**headers, "ETag": tag, "Last-Modified": _http_date(info.modified)}
    if _not_modified(request, info, tag):
        kept = {k: v for k, v in common.items() if k.lower() not in ("content-type", "content-length")}
        return Response(status_code=304, headers=kept)
    start, end, status = 0, info.size, 200
    range_header = request.headers.get("range")
    if range_header is not None and _range_applies(request, info, tag):
        try:
            span = parse_range(range_header, info.size)
        except RangeNotSatisfiable as exc:
            refused = error_response(416, RANGE_NOT_SATISFIABLE)
            for name in ("Content-Disposition", "Content-Security-Policy", "X-Content-Type-Options"):
                if name in headers:
                    refused.headers[name] = headers[name]
            if exc.no_overlap:
                refused.headers["Content-Range"] = f"bytes */{info.size}"
            return refused
        if span is not None:
            start, end, status = span[0], span[1], 206
            common["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
    common["Accept-Ranges"] = "bytes"
    common["Content-Length"] = str(end - start)
    if request.method == "HEAD" or end == start:
        return Response(status_code=status, headers=common)
    return StreamingResponse(store.read(key, start, end), status_code=status, headers=common)
