"""Realtime topic filters and rules on encrypted fields: answered on the event's values through the
blind index, a deleted record included; other operators deny (as a bad topic filter does)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from satchel.core.app import App
from satchel.core.realtime.visibility import passes_filter, passes_on_values
from satchel.core.records.model import Record
from satchel.core.rules.request_info import RequestInfo
from satchel.testing import running_app

KEY = bytes(range(32))


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    async with running_app(tmp_path / "pb_data", encryption_key=KEY) as a:
        yield a


async def test_topic_filters_and_rules_on_an_encrypted_field(app: App) -> None:
    await app.collections_service.create(
        {"name": "notes", "listRule": "", "fields": [{"name": "ssn", "type": "text", "encrypted": True}]}
    )
    notes = app.collections.get("notes")
    assert notes is not None
    unsaved = Record(notes, {"id": "abcdefghijklmno", "ssn": "ssn 1"})

    def topic(flt: str) -> RequestInfo:
        return RequestInfo(method="GET", context="realtime", query={"filter": flt})

    assert await passes_filter(app, unsaved, topic('ssn = "ssn 1"'))
    assert not await passes_filter(app, unsaved, topic('ssn = "ssn 2"'))
    assert await passes_filter(app, unsaved, topic('ssn != "ssn 2"'))
    assert not await passes_filter(app, unsaved, topic('ssn ~ "ssn"'))  # refused: denies
    assert await passes_on_values(app, unsaved, 'ssn = "ssn 1"', RequestInfo())
    assert not await passes_on_values(app, unsaved, 'ssn = ""', RequestInfo())
