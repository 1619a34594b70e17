"""Key rotation of encrypted record fields while the app keeps writing: rows written meanwhile are
already under the current key and are left alone, a row changed between the batch read and its
rewrite is not overwritten, and a value no key opens is reported while the rest goes on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from satchel.core import key_rotation
from satchel.core.app import App
from satchel.core.records.model import Record
from satchel.core.records.sealed_fields import shadow
from satchel.core.rules.request_info import RequestInfo
from satchel.testing import running_app
from satchel.tools.keyring import stored_key_id
from satchel.tools.secretbox import key_id_of
from satchel.tools.sql import ir

OLD = bytes(range(32))
NEW = bytes(range(2, 34))
ROWS = 9


def _su(app: App) -> RequestInfo:
    superusers = app.collections.get("_superusers")
    assert superusers is not None
    return RequestInfo(auth=Record(superusers, {"id": "su", "email": "su@example.com"}))


@pytest.fixture
async def data(tmp_path: Path) -> Path:
    path = tmp_path / "pb_data"
    async with running_app(path, encryption_key=OLD) as app:
        await app.collections_service.create(
            {"name": "notes", "fields": [{"name": "ssn", "type": "text", "encrypted": True}]}
        )
        for i in range(ROWS):
            await app.records.create("notes", {"id": f"note{i:011d}", "ssn": f"ssn {i}"}, _su(app))
    return path


@pytest.fixture
async def app(data: Path) -> AsyncIterator[App]:
    async with running_app(data, encryption_key=NEW, old_encryption_keys=(OLD,)) as a:
        yield a


async def _rows(app: App) -> dict[str, dict[str, Any]]:
    rows = await app.db.executor().fetch_all(ir.Select((ir.Star("notes"),), ir.Table("notes")))
    return {str(r["id"]): r for r in rows}


async def test_a_row_a_server_rewrote_before_the_rotation_reached_it_is_skipped(app: App) -> None:
    seen: list[int] = []
    notes = app.collections.get("notes")
    assert notes is not None
    # a server (on the new ring) updates a row; the rotation then walks every row in batches of 4
    await app.records.update("notes", "note00000000007", {"ssn": "changed 7"}, _su(app))
    report = key_rotation.RotationReport()
    await key_rotation.rotate_collection(app, notes, report, seen.append, 4)
    assert seen == [4, 4, 1]
    assert report.rows == ROWS and report.rewritten == ROWS - 1 and not report.failures
    rows = await _rows(app)
    assert {stored_key_id(r["ssn"]) for r in rows.values()} == {key_id_of(NEW)}
    listed = await app.records.list("notes", _su(app), _list('ssn = "changed 7" || ssn = "ssn 3"'))
    assert sorted(i["id"] for i in listed["items"]) == ["note00000000003", "note00000000007"]


async def test_a_row_changed_after_the_batch_was_read_is_not_overwritten(app: App) -> None:
    notes = app.collections.get("notes")
    assert notes is not None
    columns = (ir.col("id"), ir.col("ssn"), ir.col(shadow("ssn")))
    (row,) = await app.db.executor().fetch_all(
        ir.Select(columns, ir.Table("notes"), where=ir.eq(ir.col("id"), ir.Param("note00000000002")))
    )
    await app.records.update("notes", "note00000000002", {"ssn": "newer"}, _su(app))
    async with app.db.transaction() as tx:
        assert await key_rotation._rewrite_row(tx, notes, columns, row) is False
    record = await app.records.get_by_id(notes, "note00000000002")
    assert record is not None and record.get("ssn") == "newer"


async def test_a_value_no_key_opens_is_reported_and_the_rest_rotates(app: App) -> None:
    rows = await _rows(app)
    async with app.db.transaction() as tx:  # a value moved from another record: it opens nowhere
        moved = rows["note00000000001"]["ssn"]
        await tx.execute(ir.Update("notes", {"ssn": ir.Param(moved)}, ir.eq(ir.col("id"), ir.Param("note00000000005"))))
    report = await key_rotation.rotate(app, batch=3)
    assert report.rewritten == ROWS - 1 and len(report.failures) == 1 and "note00000000005" in report.failures[0]
    again = await key_rotation.rotate(app)
    assert again.rewritten == 0 and len(again.failures) == 1


def _list(flt: str) -> Any:
    from satchel.core.records.service import ListParams

    return ListParams(filter=flt)
