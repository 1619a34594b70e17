"""`Upload`: a file a client sent, as core code sees it (no HTTP types).

PocketBase's `filesystem.File`: the original name, the name it will be stored under (fixed when
the value is made, so rules, hooks and responses all see the final name before anything is
written), the size when the transport knows it, and a way to read the bytes again from the start
as async chunks, as many times as needed (sniffing, then storing), without holding the file in
memory. The first bytes are kept for type checks and naming.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from satchel.core.files.naming import base_name, stored_name
from satchel.core.files.sniff import SNIFF_LENGTH, Sniffed, sniff

ChunkSource = Callable[[], AsyncIterator[bytes]]
"""Each call starts a fresh read of the whole content."""


async def read_head(source: ChunkSource, limit: int = SNIFF_LENGTH) -> tuple[bytes, bool]:
    """(up to `limit` first bytes, whether they are the whole content)."""
    head = bytearray()
    stream = source()
    try:
        async for chunk in stream:
            head += chunk
            if len(head) > limit:
                return bytes(head[:limit]), False
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    return bytes(head), True


@dataclass(frozen=True, slots=True, eq=False)
class Upload:
    filename: str
    """The client's name for the file (its last path segment)."""
    name: str
    """The stored name (`naming.stored_name`)."""
    source: ChunkSource = field(repr=False)
    size: int | None = None
    """Bytes, when known before reading (multipart parts are spooled, so they are)."""
    content_type: str = ""
    """What the client declared; informative only, checks use `sniffed`."""
    sniffed: Sniffed = field(default_factory=lambda: Sniffed("application/octet-stream", ""))

    def chunks(self) -> AsyncIterator[bytes]:
        return self.source()

    @staticmethod
    async def open(filename: str, source: ChunkSource, *, size: int | None = None, content_type: str = "") -> Upload:
        """Sniff the first bytes and pick the stored name; the content is read again when stored."""
        head, complete = await read_head(source)
        sniffed = sniff(head, complete=complete)
        original = base_name(filename)
        if complete and size is None:
            size = len(head)
        return Upload(
            filename=original,
            name=stored_name(original, sniffed.extension),
            source=source,
            size=size,
            content_type=content_type,
            sniffed=sniffed,
        )

    @staticmethod
    async def from_bytes(data: bytes, filename: str, content_type: str = "") -> Upload:
        """An upload from memory (hooks, migrations, tests): PocketBase's `NewFileFromBytes`."""

        async def source() -> AsyncIterator[bytes]:
            yield data

        return await Upload.open(filename, source, size=len(data), content_type=content_type)

    async def renamed(self) -> Upload:
        """The same content offered again under its stored name, which is normalised once more.

        PocketBase's batch API re-sends each file to the sub-request under its stored name, so
        a file uploaded through a batch ends up with two random parts; kept for compatibility.
        """
        return await Upload.open(self.name, self.source, size=self.size, content_type=self.content_type)
