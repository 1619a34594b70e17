"""Cheap ids (unique per process, redrawn after fork) and per-second cached timestamps."""

from __future__ import annotations

import os
import re

import pytest

from satchel.tools.cheap_ids import ProcessIds, SecondCache


def test_second_cache_formats_each_second_once_and_stays_right() -> None:
    cache = SecondCache("%H:%M:%S", "")
    assert [cache.format(t) for t in (59.25, 59.75, 60.0)] == ["00:00:59.250", "00:00:59.750", "00:01:00.000"]


def test_process_ids_are_unique_and_pocketbase_shaped() -> None:
    ids = ProcessIds(15)
    made = [ids.next() for _ in range(1000)]
    assert len(set(made)) == 1000
    assert all(re.fullmatch(r"[a-z0-9]{15}", i) for i in made)
    other = ProcessIds(15)
    assert not set(made) & {other.next() for _ in range(1000)}, "another process draws another prefix"
    with pytest.raises(ValueError):
        ProcessIds(8)


def test_process_ids_change_prefix_in_a_forked_child() -> None:
    ids = ProcessIds(15)
    parent = ids.next()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.write(write, ids.next().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    assert child[:7] != parent[:7]
