"""How many connections a server process takes: the open-files limit, raised as Go raises it."""

from __future__ import annotations

import resource

import pytest

from satchel import config
from satchel.config import MIN_CONNECTIONS, RESERVED_FILES, connection_capacity


def fake_limits(
    monkeypatch: pytest.MonkeyPatch, soft: int, hard: int, *, refuse: bool = False
) -> list[tuple[int, int]]:
    calls: list[tuple[int, int]] = []

    def setrlimit(which: int, limits: tuple[int, int]) -> None:
        assert which == resource.RLIMIT_NOFILE
        if refuse:
            raise ValueError("not allowed")
        calls.append(limits)

    monkeypatch.setattr(config.resource, "getrlimit", lambda which: (soft, hard))
    monkeypatch.setattr(config.resource, "setrlimit", setrlimit)
    return calls


def test_soft_limit_is_raised_to_the_hard_one(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_limits(monkeypatch, 1024, 65536)
    assert connection_capacity() == 65536 - RESERVED_FILES
    assert calls == [(65536, 65536)]


def test_never_below_granians_default(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_limits(monkeypatch, 256, 256)
    assert connection_capacity() == MIN_CONNECTIONS
    assert calls == []  # already at the hard limit


def test_a_refused_raise_keeps_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_limits(monkeypatch, 1024, 8192, refuse=True)
    assert connection_capacity() == MIN_CONNECTIONS


def test_unlimited_descriptors(monkeypatch: pytest.MonkeyPatch) -> None:
    inf = resource.RLIM_INFINITY
    assert fake_limits(monkeypatch, inf, inf) == []
    assert connection_capacity() == 1 << 16
    calls = fake_limits(monkeypatch, 4096, inf)
    assert connection_capacity() == 4096 - RESERVED_FILES
    assert calls == []  # a soft limit cannot be made infinite
