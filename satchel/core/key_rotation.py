"""Moving every encrypted value to the ring's current key: record fields, blind indexes, settings secrets.

Meant to run while servers serve: they were restarted with the new key as current and the old one
in `SATCHEL_ENCRYPTION_KEYS_OLD`, so they write under the new key and read both. Rows are visited
in batches by id (keyset pagination: nothing is held open between batches) and each row that still
has a value under another key is rewritten in its own short transaction. The write is a
compare-and-set on the values it read: a row a server changed meanwhile (under the current key
already) is left as that server wrote it. Values under the current key are skipped, so the work is
idempotent and an interrupted run resumes where it matters by running it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from satchel.core.collections.model import Collection
from satchel.core.records.sealed_fields import SealedFieldError, open_value, seal_value, sealed_fields, shadow
from satchel.core.secrets_rotation import reseal
from satchel.ports.database import Executor
from satchel.tools.keyring import stored_key_id
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App
    from satchel.core.fields.base import Field

DEFAULT_BATCH = 200


@dataclass(slots=True)
class RotationReport:
    rows: int = 0
    """Rows looked at."""
    rewritten: int = 0
    """Rows whose values were moved to the current key."""
    raced: int = 0
    """Rows a server changed between the read and the write (left as the server wrote them)."""
    settings: bool = False
    """Whether the settings and OAuth2 secrets were re-sealed."""
    failures: list[str] = field(default_factory=list)
    """Values that could not be opened with any configured key (left as they are)."""


def encrypted_collections(app: App) -> list[Collection]:
    return [c for c in app.collections.all() if sealed_fields(c)]


async def count_rows(app: App) -> int:
    """The rows `rotate` will look at (the length of a progress bar)."""
    ex = app.db.executor()
    total = 0
    for c in encrypted_collections(app):
        total += int(await ex.fetch_value(ir.Select((ir.Raw("COUNT(*)"),), ir.Table(c.name))) or 0)
    return total


def _stale(row: dict[str, Any], fields: tuple[Field, ...], current: str) -> list[Field]:
    out: list[Field] = []
    for f in fields:
        key_id = stored_key_id(row.get(f.name))
        if key_id and key_id != current:
            out.append(f)
    return out


async def _rewrite_row(ex: Executor, c: Collection, columns: tuple[ir.Expr, ...], row: dict[str, Any]) -> bool:
    """One row's values under the current key, read again inside the transaction (write transactions
    are serialised on both backends, so no server writes between this read and the update); False
    when a server changed them since the batch was read (it wrote under the current key)."""
    record_id = str(row["id"])
    where = ir.eq(ir.col("id"), ir.Param(record_id))
    fresh = await ex.fetch_one(ir.Select(columns, ir.Table(c.name), where=where))
    if fresh is None or any(fresh[k] != row[k] for k in row):
        return False
    values: dict[str, ir.Expr] = {}
    for f in _stale(fresh, sealed_fields(c), c.keys.key_id if c.keys is not None else ""):
        stored, index = seal_value(c, f, record_id, open_value(c, f, record_id, fresh[f.name]))
        values[f.name], values[shadow(f.name)] = ir.Param(stored), ir.Param(index)
    return bool(values) and await ex.execute(ir.Update(c.name, values, where)) == 1


async def rotate_collection(
    app: App, c: Collection, report: RotationReport, progress: Callable[[int], None], batch: int
) -> None:
    fields = sealed_fields(c)
    current = app.keys.key_id
    columns = (ir.col("id"), *(ir.col(n) for f in fields for n in (f.name, shadow(f.name))))
    last = ""
    while True:
        page = await app.db.executor().fetch_all(
            ir.Select(
                columns,
                ir.Table(c.name),
                where=ir.Binary(">", ir.col("id"), ir.Param(last)),
                order_by=(ir.OrderBy(ir.col("id")),),
                limit=batch,
            )
        )
        if not page:
            return
        for row in page:
            stale = _stale(row, fields, current)
            if stale:
                try:
                    async with app.db.transaction() as tx:
                        changed = await _rewrite_row(tx, c, columns, row)
                except SealedFieldError as exc:
                    report.failures.append(str(exc))
                else:
                    report.rewritten += changed
                    report.raced += not changed
        report.rows += len(page)
        progress(len(page))
        last = str(page[-1]["id"])


async def rotate(
    app: App, *, progress: Callable[[int], None] = lambda _: None, batch: int = DEFAULT_BATCH
) -> RotationReport:
    """Every encrypted value of `app`'s data moved to its current key (see the module docstring)."""
    if app.keys.current is None:
        raise SealedFieldError("no current encryption key is configured: set SATCHEL_ENCRYPTION_KEY to the new key")
    report = RotationReport()
    if app.secrets.old_key_seen or app.secrets.clear_seen:
        await reseal(app, app.secrets)
        app.secrets.old_key_seen = False
        report.settings = True
    for c in encrypted_collections(app):
        await rotate_collection(app, c, report, progress, batch)
    return report
