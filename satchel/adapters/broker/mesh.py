"""Local broker: the processes sharing one data directory talk over unix sockets, no service needed.

Used by `satchel serve --workers N` (and by two `satchel serve` on one `--dir`). Each process
listens on `<socket dir>/<node>.sock` and, once listening, dials every socket already there, so
for any two processes the later one dials the earlier one: the mesh is complete without a
coordinator, and nothing outlives the processes (no hub to start, supervise or leave behind).
A broadcast is one write per peer; with a handful of workers that is cheaper than a relay hop.

A socket whose process died refuses connections and is removed by the next process that tries
it. The socket directory is private to the user (0700): anyone who can write to it could inject
events. Frames are length-prefixed; a peer that stops reading has frames dropped once its buffer
is full (realtime is at most once) rather than growing this process's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import stat
import struct
import tempfile
from pathlib import Path

from satchel.ports.broker import BrokerError, Receiver

log = logging.getLogger("satchel.broker")

SOCKET_SUFFIX = ".sock"
MAX_SOCKET_PATH = 100
"""sun_path holds 108 bytes on Linux (104 on macOS): longer directories use a private temp dir."""
MAX_FRAME = 64 << 20
MAX_BUFFERED = 16 << 20
"""Bytes queued for one peer beyond which its frames are dropped (it is not reading)."""
_LENGTH = struct.Struct(">I")
_HELLO = b"satchel-mesh/1 "


def socket_dir(data_dir: Path, node_name_length: int = 16) -> Path:
    """Where the processes of `data_dir` meet: inside it when the path is short enough for a socket."""
    preferred = data_dir / ".realtime"
    if len(str(preferred)) + 1 + node_name_length + len(SOCKET_SUFFIX) <= MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"satchel-{os.getuid()}" / digest


def _private_dir(path: Path) -> None:
    """Create `path` (and a temp parent) 0700, refusing one that another user owns or can write."""
    in_temp = path.parent.parent == Path(tempfile.gettempdir())
    for directory in (path.parent, path) if in_temp else (path,):
        directory.mkdir(mode=0o700, exist_ok=True)
        info = directory.stat()
        if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise BrokerError(f"{directory} is not private to this user: refusing to use it for realtime sockets")


class _Peer:
    def __init__(self, node: str, writer: asyncio.StreamWriter) -> None:
        self.node = node
        self.writer = writer

    def write(self, frame: bytes) -> None:
        transport = self.writer.transport
        if transport.is_closing():
            return
        if transport.get_write_buffer_size() > MAX_BUFFERED:
            log.warning("realtime peer %s is not reading: frame dropped", self.node)
            return
        self.writer.write(frame)


class MeshBroker:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._node = ""
        self._receive: Receiver | None = None
        self._server: asyncio.Server | None = None
        self._peers: dict[str, _Peer] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def _path(self) -> Path:
        return self.directory / (self._node + SOCKET_SUFFIX)

    async def start(self, node: str, receive: Receiver) -> None:
        if not node.isalnum():
            raise BrokerError(f"node ids are alphanumeric, got {node!r}")
        self._node, self._receive = node, receive
        try:
            _private_dir(self.directory)
            self._server = await asyncio.start_unix_server(self._accepted, path=str(self._path))
            os.chmod(self._path, 0o600)
        except OSError as exc:
            raise BrokerError(f"cannot listen in {self.directory}: {exc}") from exc
        for entry in sorted(self.directory.glob("*" + SOCKET_SUFFIX)):
            peer = entry.name[: -len(SOCKET_SUFFIX)]
            if peer != node and peer not in self._peers:
                await self._dial(peer)

    async def _dial(self, peer: str) -> None:
        path = self.directory / (peer + SOCKET_SUFFIX)
        try:
            reader, writer = await asyncio.open_unix_connection(str(path))
        except ConnectionRefusedError:
            with contextlib.suppress(OSError):
                path.unlink()  # its process is gone
            return
        except OSError:
            return
        writer.write(_LENGTH.pack(len(_HELLO) + len(self._node)) + _HELLO + self._node.encode())
        self._serve(peer, reader, writer)

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            hello = await _read_frame(reader)
        except (OSError, asyncio.IncompleteReadError, BrokerError):
            writer.close()
            return
        peer = hello[len(_HELLO) :].decode("ascii", "replace")
        if not hello.startswith(_HELLO) or not peer.isalnum():
            writer.close()
            return
        self._serve(peer, reader, writer)

    def _serve(self, peer: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Use the connection both ways; two processes that dialled each other keep both (harmless)."""
        self._peers.setdefault(peer, _Peer(peer, writer))
        task = asyncio.get_running_loop().create_task(self._read(peer, reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, peer: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._receive is not None
        try:
            while True:
                self._receive(await _read_frame(reader))
        except (OSError, asyncio.IncompleteReadError, BrokerError):
            pass
        finally:
            known = self._peers.get(peer)
            if known is not None and known.writer is writer:
                del self._peers[peer]
            writer.close()

    async def broadcast(self, data: bytes) -> None:
        frame = _LENGTH.pack(len(data)) + data
        for peer in list(self._peers.values()):
            peer.write(frame)

    async def send(self, node: str, data: bytes) -> bool:
        if node not in self._peers and node.isalnum() and node != self._node:
            await self._dial(node)  # a process that started since and has not dialled us yet
        peer = self._peers.get(node)
        if peer is None:
            return False
        peer.write(_LENGTH.pack(len(data)) + data)
        return True

    def peers(self) -> frozenset[str]:
        return frozenset(self._peers)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(OSError):
                self._path.unlink()
            self._server = None
        for peer in list(self._peers.values()):
            peer.writer.close()
        self._peers.clear()
        for task in list(self._tasks):
            task.cancel()


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    if length > MAX_FRAME:
        raise BrokerError(f"frame of {length} bytes refused")
    return await reader.readexactly(length)
