"""Fixtures for the command-line tests."""

from __future__ import annotations

from typing import Any

import pytest

from satchel.config import BootConfig


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve` exports its config to the environment for the workers: undo that after the test."""
    for key, value in BootConfig().to_env().items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def fake_granian(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record how the server would be started instead of starting it."""
    import granian

    started: list[dict[str, Any]] = []

    class Fake:
        def __init__(self, target: str, **options: Any) -> None:
            started.append(options)

        def serve(self) -> None:
            pass

    monkeypatch.setattr(granian, "Granian", Fake)
    return started
