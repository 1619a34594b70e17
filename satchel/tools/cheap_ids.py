"""Ids and timestamps for high-volume, non-secret things (log entries, request ids): unique, not unpredictable.

A random prefix drawn once per process (and again after a fork) followed by a hexadecimal counter:
one f-string per id instead of a CSPRNG draw, which mattered on the request path (measured ~1 us a
draw, two per logged request). Nothing may rely on these being hard to guess.
"""

from __future__ import annotations

import itertools
import os
import time

from satchel.tools.ids import random_id

COUNTER_DIGITS = 8


class ProcessIds:
    def __init__(self, length: int) -> None:
        if length <= COUNTER_DIGITS:
            raise ValueError(f"ids need more than {COUNTER_DIGITS} characters")
        self.length = length
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._prefix = random_id(self.length - COUNTER_DIGITS)
        self._counter = itertools.count()

    def next(self) -> str:
        n = next(self._counter)
        if n > 0xFFFFFFFF:  # 4 billion ids later: a fresh prefix
            self._reset()
            n = next(self._counter)
        return f"{self._prefix}{n:08x}"


class SecondCache:
    """`time.time()` as text with milliseconds, formatting the date and time once per second."""

    def __init__(self, layout: str, suffix: str) -> None:
        self.layout = layout
        self.suffix = suffix
        self._second = -1
        self._text = ""

    def format(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._text = time.strftime(self.layout, time.gmtime(second))
            self._second = second
        millis = int(now * 1000) - second * 1000  # not (now - second) * 1000: that loses a millisecond to rounding
        return f"{self._text}.{millis:03d}{self.suffix}"
