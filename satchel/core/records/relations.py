"""What deleting a record does to the records that point at it.

For every relation field (in any collection) targeting the deleted record's collection:
cascadeDelete removes the referencing records too; otherwise a required single reference
blocks the delete, and any other reference just loses the id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from satchel.core.errors import BadRequestError
from satchel.core.records import storage
from satchel.core.records.model import Record
from satchel.core.rules.request_info import RequestInfo
from satchel.ports.database import Executor
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.records.service import RecordsService

REQUIRED_REFERENCE = "Failed to delete record. Make sure that the record is not part of a required relation reference."


async def on_delete_references(
    service: RecordsService, record: Record, tx: Executor, request: RequestInfo | None
) -> None:
    target_id = record.collection.id
    for other in service.app.collections.all():
        if other.is_view:
            continue
        for field in other.fields:
            if field.type != "relation" or getattr(field, "collection_id", "") != target_id:
                continue
            je = "__del_je"
            refers = ir.Exists(
                ir.Select(
                    (ir.Raw("1"),),
                    ir.JsonEach(ir.col(other.name, field.name), je),
                    where=ir.eq(ir.col(je, "value"), ir.Param(record.id)),
                )
            )
            rows = await tx.fetch_all(ir.Select((ir.Star(other.name),), ir.Table(other.name), where=refers))
            for row in rows:
                ref = storage.record_from_row(other, row)
                if other.id == record.collection.id and ref.id == record.id:
                    continue
                if getattr(field, "cascade_delete", False):
                    await service.delete_record(ref, tx, request)
                    continue
                value = ref.get(field.name)
                remaining = [v for v in value if v != record.id] if isinstance(value, list) else ""
                if field.required and not remaining:
                    raise BadRequestError(REQUIRED_REFERENCE)
                ref.set(field.name, remaining)
                await service.save_record(ref, tx, request)
