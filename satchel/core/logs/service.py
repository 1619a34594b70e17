"""The logs of one App: what to keep (as `settings.logs` says), where (the auxiliary database) and
how they are read back (the logs API: list, view, hourly stats, delete) and expired (the cleanup cron).

Reads go through the records filter resolver over `logs_collection()`: a client filter or sort is
parsed into the same AST and compiled by the same SQL compiler as a records filter, every value bound.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from satchel.core.errors import NotFoundError
from satchel.core.logs.model import ERROR, INFO, LOGS_DDL, LOGS_INDEXES, LOGS_TABLE, logs_collection
from satchel.core.logs.request_entry import RequestSummary, request_entry
from satchel.core.logs.writer import LogWriter
from satchel.core.rules.resolver import FilterError, Resolver
from satchel.ports.database import Database, DatabaseError
from satchel.tools.datetime import format_dt
from satchel.tools.filter import FilterSyntaxError, ast, parse
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App

log = logging.getLogger("satchel.logs")

LOGS = logs_collection()
HOUR = "hour"


@dataclass(slots=True)
class LogsPage:
    page: int
    per_page: int
    sort: str = ""
    filter: str = ""
    skip_total: bool = False


class LogsService:
    def __init__(self, app: App, db: Database, writer: LogWriter[RequestSummary] | None = None) -> None:
        self.app = app
        self.db = db
        """The auxiliary database: `<data>/auxiliary.db`, or the main PostgreSQL database."""
        self.writer = writer or LogWriter(db)
        self.writer.render = self._request_entry

    # ------------------------------------------------------------------ settings
    @property
    def settings(self) -> dict[str, Any]:
        logs: dict[str, Any] = self.app.settings.current["logs"]
        return logs

    def accepts(self, level: int) -> bool:
        """Whether an entry of `level` is kept: retention on (maxDays > 0) and at least `minLevel`."""
        s = self.settings
        return bool(s["maxDays"] > 0 and level >= s["minLevel"])

    # ------------------------------------------------------------------ writes
    def add(self, level: int, message: str, data: dict[str, Any], *, audit: bool = False) -> str | None:
        """Buffer an entry if the settings keep it (its id), else None. Costs no database work here.

        An `audit` entry (a superuser's action) is kept whatever `minLevel` says, while retention is on.
        """
        if not (self.accepts(level) or (audit and self.settings["maxDays"] > 0)):
            return None
        limit = self.settings.get("maxDataSize", 0)
        if limit > 0:
            data = fit_data(data, limit)
        return self.writer.add(level, message, data)

    def add_request(self, summary: RequestSummary, settings: dict[str, Any]) -> None:
        """Keep `summary` for its `_logs` entry if `settings` (`settings.logs`) do; the entry is built
        when its batch is written, off the request's path."""
        level = ERROR if summary.status >= 400 else INFO
        if settings["maxDays"] > 0 and level >= settings["minLevel"]:
            self.writer.defer(summary)

    def _request_entry(self, summary: RequestSummary) -> tuple[int, str, dict[str, Any], float] | None:
        settings = self.settings
        level, message, data = request_entry(summary, settings)
        limit = settings.get("maxDataSize", 0)
        if limit > 0:
            data = fit_data(data, limit)
        return level, message, data, summary.created

    async def flush(self) -> int:
        return await self.writer.flush()

    # ------------------------------------------------------------------ schema
    async def bootstrap(self) -> None:
        """Create `_logs` and its indexes on first use (idempotent; a racing sibling's copy is fine)."""
        if await self.db.table_columns(LOGS_TABLE):
            return
        try:
            async with self.db.transaction() as tx:
                await tx.ddl(LOGS_DDL)
                for index in LOGS_INDEXES:
                    await tx.ddl(index)
        except DatabaseError:
            if not await self.db.table_columns(LOGS_TABLE):
                raise

    async def close(self) -> None:
        await self.writer.close()
        await self.db.close()

    # ------------------------------------------------------------------ reads
    def _where(self, text: str) -> ir.Expr | None:
        if not text.strip():
            return None
        try:
            node = parse(text)
        except FilterSyntaxError as exc:
            raise FilterError(str(exc)) from exc
        _only_log_fields(node)
        return Resolver(LOGS, lambda _: None, None, allow_hidden=True).where(node)

    async def page(self, params: LogsPage) -> dict[str, Any]:
        where = self._where(params.filter)
        order: tuple[ir.OrderBy, ...] = ()
        if params.sort.strip():
            order = Resolver(LOGS, lambda _: None, None, allow_hidden=True).order_by(params.sort)
        order = (*order, ir.OrderBy(ir.InsertionOrder()))
        ex = self.db.executor()
        source = ir.Table(LOGS_TABLE)
        total = -1
        if not params.skip_total:
            total = int(await ex.fetch_value(ir.Select((ir.Raw("COUNT(*)"),), source, where=where)) or 0)
        rows = await ex.fetch_all(
            ir.Select(
                _COLUMNS,
                source,
                where=where,
                order_by=order,
                limit=params.per_page,
                offset=(params.page - 1) * params.per_page,
            )
        )
        return {
            "items": [to_json(r) for r in rows],
            "page": params.page,
            "perPage": params.per_page,
            "totalItems": total,
            "totalPages": -1 if total < 0 else (total + params.per_page - 1) // params.per_page,
        }

    async def view(self, log_id: str) -> dict[str, Any]:
        if not log_id:
            raise NotFoundError()
        row = await self.db.executor().fetch_one(
            ir.Select(_COLUMNS, ir.Table(LOGS_TABLE), where=ir.eq(ir.col("id"), ir.Param(log_id)), limit=1)
        )
        if row is None:
            raise NotFoundError()
        return to_json(row)

    async def stats(self, filter_text: str) -> list[dict[str, Any]]:
        """Entries per hour (PocketBase's `LogsStats`), oldest hour first."""
        hour = ir.Func("SUBSTR", (ir.col(LOGS_TABLE, "created"), ir.Param(1), ir.Param(13)))
        inner = ir.Select((ir.Alias(hour, HOUR),), ir.Table(LOGS_TABLE), where=self._where(filter_text))
        rows = await self.db.executor().fetch_all(
            ir.Select(
                (ir.col(HOUR), ir.Alias(ir.Raw("COUNT(*)"), "total")),
                ir.SubquerySource(inner, "__h"),
                group_by=(ir.col(HOUR),),
                order_by=(ir.OrderBy(ir.col(HOUR)),),
            )
        )
        return [{"date": f"{r[HOUR]}:00:00.000Z", "total": int(r["total"])} for r in rows if r[HOUR]]

    # ------------------------------------------------------------------ deletes
    async def delete(self, filter_text: str = "") -> int:
        """Delete the entries matching `filter_text` (all when empty); how many went."""
        where = self._where(filter_text)
        await self.writer.flush()  # what was logged before the request is deleted with the rest
        async with self.db.transaction() as tx:
            return await tx.execute(ir.Delete(LOGS_TABLE, where))

    async def delete_older_than(self, days: int, now: datetime | None = None) -> int:
        """Retention: entries created more than `days` days ago (PocketBase's `DeleteOldLogs`)."""
        try:
            cutoff = format_dt((now or datetime.now(UTC)) - timedelta(days=days))
        except OverflowError:  # a cutoff before year 1 (maxDays may be up to 2^53-1): nothing is that old
            return 0
        async with self.db.transaction() as tx:
            return await tx.execute(ir.Delete(LOGS_TABLE, ir.Binary("<=", ir.col("created"), ir.Param(cutoff))))

    async def cleanup(self) -> None:
        """The `__pbLogsCleanup__` job: expire entries past `maxDays` (all of them when logs are off)."""
        await self.delete_older_than(self.settings["maxDays"])


def _only_log_fields(node: ast.Node | ast.Operand) -> None:
    """PocketBase resolves log filters against the log fields alone: `@request.*` and
    `@collection.*` are unknown there (the records resolver would read them as null or joins)."""
    if isinstance(node, (ast.Join, ast.Comparison)):
        _only_log_fields(node.left)
        _only_log_fields(node.right)
    elif isinstance(node, ast.Call):
        for arg in node.args:
            _only_log_fields(arg)
    elif isinstance(node, ast.Identifier) and node.name.startswith(("@request", "@collection")):
        raise FilterError(f"failed to resolve field {node.name!r}")


_COLUMNS: tuple[ir.SelectItem, ...] = tuple(
    ir.col(LOGS_TABLE, c) for c in ("id", "created", "level", "message", "data")
)


def to_json(row: dict[str, Any]) -> dict[str, Any]:
    data = row["data"]
    if isinstance(data, (str, bytes)):
        try:
            data = orjson.loads(data) if data else {}
        except orjson.JSONDecodeError:
            data = {}
    return {
        "id": row["id"],
        "created": row["created"],
        "data": data if isinstance(data, dict) else {},
        "message": row["message"],
        "level": int(row["level"] or 0),
    }


SHRINKABLE = ("details", "meta")
MAX_STRING = 256


def fit_data(data: dict[str, Any], limit: int) -> dict[str, Any]:
    """`data` within `limit` bytes of JSON (`settings.logs.maxDataSize`): bulky parts go first, then
    long strings are cut; what still does not fit is replaced by a marker with the original size."""

    size = len(orjson.dumps(data, default=str))
    if size <= limit:
        return data
    out = {k: v for k, v in data.items() if k not in SHRINKABLE}
    out = {k: (v[:MAX_STRING] if isinstance(v, str) else v) for k, v in out.items()}
    if len(orjson.dumps(out, default=str)) <= limit:
        out["truncated"] = True
        return out
    return {"type": data.get("type", ""), "truncated": True, "size": size}
