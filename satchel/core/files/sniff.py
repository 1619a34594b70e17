"""The content type of an upload, judged by its first bytes, never by what the client claims.

PocketBase checks a file field's `mimeTypes` against the type it sniffs from the content and
names extension-less uploads after it. Binary formats are recognised by their signatures
(`filetype`, pure Python); text is classified here the way PocketBase's detector does for the
common cases (JSON, SVG, HTML, XML, CSV, then plain text), and anything else is
`application/octet-stream`, which no list but one naming it accepts.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import filetype  # signature-based detection of binary formats, no native library needed
import orjson

SNIFF_LENGTH = 8192
"""Bytes looked at: what `filetype` reads; signatures deeper in a file are not needed."""
OCTET_STREAM = "application/octet-stream"

# WHATWG mime sniffing: bytes that never occur in text
_BINARY_BYTES = frozenset([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])
_XML_DECL = re.compile(rb"^\s*<\?xml[\s?]", re.IGNORECASE)
_SVG = re.compile(rb"<svg[\s>]", re.IGNORECASE)
_HTML_TAGS = rb"!doctype html|html|head|body|script|iframe|h1|div|font|table|a|style|title|b|br|p"
_HTML = re.compile(rb"^\s*<(" + _HTML_TAGS + rb")[\s>]", re.IGNORECASE)

# names a list of allowed types may use for the same detected type
_ALIASES: dict[str, frozenset[str]] = {
    "text/xml": frozenset({"application/xml"}),
    "application/zip": frozenset({"application/x-zip", "application/x-zip-compressed"}),
    "application/gzip": frozenset({"application/x-gzip", "application/x-gunzip", "application/gzipped"}),
    "image/x-icon": frozenset({"image/vnd.microsoft.icon"}),
    "audio/mpeg": frozenset({"audio/x-mpeg", "audio/mp3", "audio/x-mp3"}),
    "audio/x-wav": frozenset({"audio/wav", "audio/vnd.wave", "audio/wave"}),
    "application/x-rar-compressed": frozenset({"application/x-rar"}),
    "application/x-7z-compressed": frozenset({"application/x-7z"}),
    "application/x-tar": frozenset({"application/tar"}),
    "image/heic": frozenset({"image/heif"}),
}


@dataclass(frozen=True, slots=True)
class Sniffed:
    mime: str
    """With parameters where PocketBase reports them (`text/plain; charset=utf-8`)."""
    extension: str
    """With its dot (".png"), or "" when the type has no usual one."""

    @property
    def essence(self) -> str:
        return self.mime.split(";", 1)[0].strip().lower()

    def is_one_of(self, allowed: list[str]) -> bool:
        """Whether the type, or one of its aliases, is in `allowed` (compared without parameters)."""
        names = {self.essence, *_ALIASES.get(self.essence, ())}
        return any(a.split(";", 1)[0].strip().lower() in names for a in allowed)


def _is_text(head: bytes) -> bool:
    return not any(b in _BINARY_BYTES for b in head)


def _charset(head: bytes) -> str:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not merely a character cut at the end of the sample
            return "iso-8859-1"
    return "utf-8"


def _is_json(text: bytes, complete: bool) -> bool:
    stripped = text.strip()
    if stripped[:1] not in (b"{", b"["):
        return False
    try:
        orjson.loads(stripped)
    except orjson.JSONDecodeError as exc:
        # a longer document cut by the sample is still JSON if it was valid up to the cut
        return not complete and exc.pos >= len(stripped) - 1
    return True


def _is_csv(text: bytes) -> bool:
    lines = text.decode("utf-8", "ignore").splitlines()
    if len(lines) > 1 and len(text) >= SNIFF_LENGTH:
        lines = lines[:-1]  # the sample may end mid-line
    if len(lines) < 2:
        return False
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    widths = {len(r) for r in rows if r}
    return len(widths) == 1 and widths.pop() > 1


def _text(head: bytes, complete: bool) -> Sniffed:
    body = head.removeprefix(b"\xef\xbb\xbf")
    charset = _charset(body)
    if _is_json(body, complete):
        return Sniffed("application/json", ".json")
    if _SVG.search(body[:1024]):
        return Sniffed("image/svg+xml", ".svg")
    if _HTML.match(body):
        return Sniffed(f"text/html; charset={charset}", ".html")
    if _XML_DECL.match(body):
        return Sniffed(f"text/xml; charset={charset}", ".xml")
    if _is_csv(body):
        return Sniffed("text/csv", ".csv")
    return Sniffed(f"text/plain; charset={charset}", ".txt")


def sniff(head: bytes, *, complete: bool = False) -> Sniffed:
    """The type of content starting with `head` (`complete` when `head` is the whole file)."""
    kind = filetype.guess(head) if head else None
    if kind is not None:
        return Sniffed(str(kind.mime), "." + str(kind.extension))
    if _is_text(head):
        return _text(head, complete)
    return Sniffed(OCTET_STREAM, "")
