"""Fixtures of the contract tests: one seeded `satchel serve` per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contracts.live_server import Seeded, start_seeded


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    seeded = start_seeded(tmp_path_factory.mktemp("contracts") / "pb_data")
    yield seeded
    seeded.server.stop()
