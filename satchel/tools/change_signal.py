"""A cross-process "something changed" flag: 8 bytes of a shared memory-mapped file.

Worker processes must notice a sibling's schema change before serving their next request, so
the check runs on every request. A `stat` of a marker file (path join ~3.5 us + stat ~2 us, and an
exception while the file was missing) took `/api/health` with two workers from 16.7k to 14.3k req/s;
reading a word of a shared mapping costs ~0.17 us and no system call.
The value carries no meaning beyond "differs from what I saw": the data itself
(the schema version) stays in the database, which readers consult once the word changes.
"""

from __future__ import annotations

import mmap
import os
import secrets
import struct
from pathlib import Path

_WORD = struct.Struct("<Q")


class ChangeSignal:
    def __init__(self, path: Path | str) -> None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < _WORD.size:
                os.ftruncate(fd, _WORD.size)
            self._map = mmap.mmap(fd, _WORD.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)  # the mapping keeps its own reference to the file

    def read(self) -> int:
        return int(_WORD.unpack_from(self._map, 0)[0])

    def bump(self) -> int:
        """Store a fresh random value (random, not +1: concurrent writers cannot cancel out)."""
        current = self.read()
        value = current
        while value == current:
            value = secrets.randbits(64)
        _WORD.pack_into(self._map, 0, value)
        return value

    def close(self) -> None:
        if not self._map.closed:
            self._map.close()
