"""PostgreSQL adapter for the Database port (asyncpg).

Several Satchel nodes share one PostgreSQL database. Two choices keep the code written against
SQLite correct here:

- Write transactions are serialised, as SQLite serialises them: each takes one cluster-wide
  advisory lock after BEGIN (an asyncio lock first, so a process never has more than one pool
  connection waiting for it). Reads outside a transaction run concurrently on the pool. Code that
  reads, checks and writes inside one transaction (unique checks, counters, cascades) therefore
  sees no interleaved writer, on one node or many.
- A failing DDL statement inside a transaction is undone alone (a savepoint around it), as in
  SQLite; PostgreSQL would otherwise abort the whole transaction, and collection saves report
  every failing index of a request, not only the first.

The compiler needs each table's column types to reproduce SQLite's comparisons (see
`satchel.tools.sql.postgres`); they are read from the catalog on first use and cached until this
process runs DDL (another node's DDL is picked up when a statement names a column the cache does
not know, or after a type error).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any, TypeAlias
from uuid import UUID

import asyncpg

from satchel.ports.database import (
    CopyProgress,
    DatabaseError,
    Executor,
    IntegrityError,
    KeptCounter,
    QueryTimeoutError,
    Row,
    run_detached,
    run_rollbacks,
)
from satchel.tools import probes
from satchel.tools.sql import ir
from satchel.tools.sql.postgres import ROWID, PostgresCompiler, kind_of_type
from satchel.tools.sql.postgres_ddl import compile_ddl
from satchel.tools.sql.postgres_support import FUNCTIONS, VERSION
from satchel.tools.sql.sqlite import SqlCompileError, _SlotRef, quote_ident
from satchel.tools.tls_trust import postgres_ssl

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Conn: TypeAlias = asyncpg.Connection[Any] | PoolConnectionProxy[Any]
_log = logging.getLogger(__name__)

WRITE_LOCK = 0x5A7C4E1
"""The advisory lock key every write transaction holds (one writer at a time, as on SQLite)."""
POOL_SIZE = 10
_KEY_RE = re.compile(r"Key \((.+?)\)=")
_IDENT_IN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SIMPLE = frozenset({str, int, float, bool, type(None), bytes})
_TYPE_ERRORS = (
    asyncpg.exceptions.UndefinedFunctionError,
    asyncpg.exceptions.DatatypeMismatchError,
    asyncpg.exceptions.InvalidTextRepresentationError,
    asyncpg.exceptions.UndefinedColumnError,
    asyncpg.exceptions.InvalidCachedStatementError,
)
_UNSTORABLE = (
    asyncpg.exceptions.CharacterNotInRepertoireError,
    asyncpg.exceptions.UntranslatableCharacterError,
)
NOT_SUPPORTED = "backups of a PostgreSQL database are not supported yet: use pg_dump (or satchel migrate-data)"

_COLUMNS_SQL = """
SELECT c.relname AS "table", a.attname AS "name", format_type(a.atttypid, a.atttypmod) AS "type"
FROM unnest($1::text[]) AS t(name)
JOIN pg_class c ON c.oid = to_regclass(quote_ident(t.name))
JOIN pg_attribute a ON a.attrelid = c.oid
WHERE a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""


def _translate(exc: BaseException) -> DatabaseError:
    msg = str(exc).strip() or type(exc).__name__
    if isinstance(exc, asyncpg.exceptions.UniqueViolationError):
        return IntegrityError(msg, _unique_column(exc))
    if isinstance(exc, (asyncpg.exceptions.IntegrityConstraintViolationError, *_UNSTORABLE)):
        # a NUL character (text and jsonb cannot hold one, SQLite can): the value is refused like a
        # constraint, so a client's write gets its 400 and never a server error
        return IntegrityError(msg, None)
    if isinstance(exc, asyncpg.exceptions.QueryCanceledError):
        return QueryTimeoutError(msg)
    return DatabaseError(msg)


def _unique_column(exc: asyncpg.exceptions.UniqueViolationError) -> str | None:
    """The first column of the violated index, from `Key (col, ...)=(...)` or `Key (lower(col))=`."""
    m = _KEY_RE.search(getattr(exc, "detail", "") or "")
    if not m:
        return None
    first = m.group(1).split(",")[0].strip()
    if "(" in first:
        first = first[first.rindex("(") + 1 :]
    found = _IDENT_IN_RE.search(first.strip('"'))
    return found.group(0) if found else None


def _value(v: Any) -> Any:
    """Driver values SQLite would never return (view aggregates, computed columns) as plain ones."""
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, datetime | date | time):
        return v.isoformat()
    if isinstance(v, UUID):
        return str(v)
    if isinstance(v, list):
        return [_value(x) for x in v]
    return v


def _row(record: asyncpg.Record) -> Row:
    row = dict(record.items())
    row.pop(ROWID, None)
    for k, v in row.items():
        if type(v) not in _SIMPLE:
            row[k] = _value(v)
    return row


def _query_attrs(sql: str) -> dict[str, Any]:
    return probes.statement_attrs("postgresql", sql)


def _ddl_attrs(sql: str) -> dict[str, Any]:
    """A fresh dict: DDL texts are one-off, not worth the statement cache."""
    return {"db.system": "postgresql", "db.operation": probes.sql_operation(sql), "db.statement": sql}


def _rowcount(status: str) -> int:
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class _PgExecutor(Executor):
    def __init__(self, db: PostgresDatabase, conn: Conn | None, *, in_tx: bool) -> None:
        self._db = db
        self._conn = conn
        self._in_tx = in_tx
        self._busy = asyncio.Lock()
        """One statement at a time on a transaction's connection (asyncpg refuses overlap)."""
        self.callbacks: list[Callable[[], Awaitable[None]]] = []
        self.rollbacks: list[Callable[[], Awaitable[None]]] = []
        self.statements = 0
        self.ran_ddl = False

    @property
    def in_transaction(self) -> bool:
        return self._in_tx

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Conn]:
        if self._conn is not None:
            async with self._busy:
                yield self._conn
            return
        pool = await self._db.pool()
        async with pool.acquire() as conn:
            yield conn

    async def _run(
        self,
        st: ir.Statement,
        call: Callable[[Conn, str, list[Any]], Awaitable[Any]],
        *,
        cache: bool = False,
    ) -> Any:
        self.statements += 1
        async with self._connection() as conn:
            sql, params = await self._db.compile(conn, st, cache=cache)
            start = perf_counter_ns() if probes.active else 0
            try:
                result = await call(conn, sql, params)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                if isinstance(exc, _TYPE_ERRORS):
                    self._db.forget_schema()
                error = _translate(exc)
                if start:
                    probes.emit("db.query", start, perf_counter_ns(), _query_attrs(sql), error)
                raise error from exc
            if start:
                probes.emit("db.query", start, perf_counter_ns(), _query_attrs(sql))
            return result

    async def fetch_all(self, st: ir.Select) -> list[Row]:
        records = await self._run(st, lambda c, sql, p: c.fetch(sql, *p))
        return [_row(r) for r in records]

    async def fetch_one(self, st: ir.Select) -> Row | None:
        record = await self._run(st, lambda c, sql, p: c.fetchrow(sql, *p))
        return None if record is None else _row(record)

    async def fetch_one_prepared(self, st: ir.Select, args: tuple[Any, ...]) -> Row | None:
        def run(c: Conn, sql: str, template: list[Any]) -> Awaitable[Any]:
            return c.fetchrow(sql, *[args[p.index] if isinstance(p, _SlotRef) else p for p in template])

        record = await self._run(st, run, cache=True)
        return None if record is None else _row(record)

    async def fetch_value(self, st: ir.Select) -> Any:
        row = await self.fetch_one(st)
        return None if row is None else next(iter(row.values()), None)

    async def execute(self, st: ir.Statement) -> int:
        status = await self._run(st, lambda c, sql, p: c.execute(sql, *p))
        return _rowcount(str(status))

    async def execute_many(self, st: ir.Insert, rows: Sequence[tuple[Any, ...]]) -> int:
        if not rows:
            return 0
        # compiled with the first row's values as parameters, not as slots: a slot is bound as text,
        # while a parameter's Python type picks the cast (a number, or jsonb for a JSON column)
        slots = [v.index for v in st.values.values() if isinstance(v, ir.Slot)]
        if len(slots) != len(st.values):
            raise DatabaseError("execute_many takes an insert whose values are all slots")
        first = ir.Insert(st.table, {name: ir.Param(rows[0][i]) for name, i in zip(st.values, slots, strict=True)})

        def run(c: Conn, sql: str, params: list[Any]) -> Awaitable[Any]:
            if len(params) != len(slots):
                raise DatabaseError("execute_many: a value was compiled into the SQL text")
            return c.executemany(sql, [[r[i] for i in slots] for r in rows])

        await self._run(first, run)
        return len(rows)

    async def ddl(self, d: ir.DDL) -> None:
        self.statements += 1
        sql = compile_ddl(d)
        async with self._connection() as conn:
            with probes.probe("db.query", _ddl_attrs(sql) if probes.active else None):
                await self._ddl(conn, sql)

    async def _ddl(self, conn: Conn, sql: str) -> None:
        try:
            if self._in_tx:
                self.ran_ddl = True
                # a savepoint: a failure undoes this statement only, as in SQLite
                await conn.execute("SAVEPOINT satchel_ddl")
                try:
                    await conn.execute(sql)
                except BaseException:
                    await conn.execute("ROLLBACK TO SAVEPOINT satchel_ddl; RELEASE SAVEPOINT satchel_ddl")
                    raise
                await conn.execute("RELEASE SAVEPOINT satchel_ddl")
            else:
                await conn.execute(sql)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise _translate(exc) from exc
        finally:
            self._db.forget_schema()

    def on_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        if self._in_tx:
            self.callbacks.append(callback)
        else:
            run_detached(callback)

    def on_rollback(self, callback: Callable[[], Awaitable[None]]) -> None:
        if self._in_tx:
            self.rollbacks.append(callback)


class PostgresDatabase:
    """A PostgreSQL database (or one schema of it: `?search_path=` in the URL) shared by every node."""

    dialect = "postgres"

    def __init__(
        self, url: str, *, query_timeout: float = 10.0, pool_size: int = POOL_SIZE, read_only: bool = False
    ) -> None:
        """`read_only` refuses every write (a migration's source) and installs nothing."""
        self.url = url
        self.query_timeout = query_timeout
        self.read_only = read_only
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._lock = asyncio.Lock()
        self._current: contextvars.ContextVar[_PgExecutor | None] = contextvars.ContextVar(
            f"satchel_pg_tx_{id(self)}", default=None
        )
        self._kinds: dict[str, dict[str, str]] = {}
        self._compiled: dict[ir.Statement, tuple[str, list[Any]]] = {}
        self._savepoints = 0
        self._closed = False

    # --------------------------------------------------------------- connection
    async def pool(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        if self._closed:  # a late background task must not open a pool nobody will close
            raise DatabaseError("the database is closed")
        async with self._opening:
            if self._closed:
                raise DatabaseError("the database is closed")
            if self._pool is None:
                settings = {"timezone": "UTC", "application_name": "satchel"}
                if self.query_timeout:
                    settings["statement_timeout"] = str(int(self.query_timeout * 1000))
                if self.read_only:
                    settings["default_transaction_read_only"] = "on"
                try:
                    pool = await asyncpg.create_pool(
                        self.url,
                        min_size=1,
                        max_size=self._pool_size,
                        server_settings=settings,
                        ssl=postgres_ssl(self.url),  # None: sslmode/sslrootcert in the URL decide, as in libpq
                    )
                except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, ValueError) as exc:
                    raise DatabaseError(f"cannot connect to PostgreSQL: {type(exc).__name__}: {exc}") from exc
                try:
                    if not self.read_only:
                        await self._install_support(pool)
                except BaseException:
                    await pool.close()
                    raise
                self._pool = pool
        return self._pool

    async def _install_support(self, pool: asyncpg.Pool) -> None:
        """Create (or update) the dialect's SQL functions in the current schema, once per version."""
        async with pool.acquire() as conn:
            try:
                async with conn.transaction():
                    await conn.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
                    found = await conn.fetchval("SELECT to_regprocedure('satchel_support_version()') IS NOT NULL")
                    version = await conn.fetchval("SELECT satchel_support_version()") if found else 0
                    if version != VERSION:
                        await conn.execute(FUNCTIONS)
                        await conn.execute(
                            "CREATE OR REPLACE FUNCTION satchel_support_version() RETURNS int "
                            f"LANGUAGE sql IMMUTABLE AS 'SELECT {VERSION}'"
                        )
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                raise _translate(exc) from exc

    # ----------------------------------------------------------------- compile
    def forget_schema(self) -> None:
        self._kinds.clear()
        self._compiled.clear()

    async def _load_kinds(self, conn: Conn, tables: Iterable[str]) -> None:
        names = sorted(set(tables))
        try:
            rows = await conn.fetch(_COLUMNS_SQL, names)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise _translate(exc) from exc
        found: dict[str, dict[str, str]] = {}
        for r in rows:
            found.setdefault(r["table"], {})[r["name"]] = kind_of_type(r["type"])
        self._kinds.update(found)

    async def compile(self, conn: Conn, st: ir.Statement, *, cache: bool) -> tuple[str, list[Any]]:
        """SQL text and parameters; `cache` keeps slot-only (hashable) statements compiled."""
        cached = self._compiled.get(st) if cache else None
        if cached is not None:
            return cached
        for attempt in range(2):
            c = PostgresCompiler(self._kinds.get)
            try:
                sql = c.statement(st)
            except SqlCompileError as exc:
                raise DatabaseError(str(exc)) from exc
            if not c.missing or attempt:
                break
            await self._load_kinds(conn, c.missing)
        if cache and not c.missing and len(self._compiled) < 4096:
            self._compiled[st] = (sql, c.params)
        return sql, c.params

    # --------------------------------------------------------------- executors
    def executor(self) -> Executor:
        return self._current.get() or _PgExecutor(self, None, in_tx=False)

    def writer(self) -> Executor:
        return self._current.get() or _PgExecutor(self, None, in_tx=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        outer = self._current.get()
        if outer is not None:
            async with self._nested(outer):
                yield outer
            return
        tx: _PgExecutor | None = None
        try:
            async with self._lock:
                pool = await self.pool()
                async with pool.acquire() as conn:
                    tx = _PgExecutor(self, conn, in_tx=True)
                    token = self._current.set(tx)
                    try:
                        await self._begin(conn)
                        try:
                            yield tx
                        except BaseException:
                            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                                await conn.execute("ROLLBACK")
                            raise
                        try:
                            await conn.execute("COMMIT")
                        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                            raise _translate(exc) from exc
                    finally:
                        self._current.reset(token)
                        if tx.ran_ddl:
                            self.forget_schema()
                            await pool.expire_connections()  # their cached statements predate the DDL
        except BaseException as exc:
            await run_rollbacks(tx.rollbacks if tx is not None else [], exc)
            raise
        for cb in tx.callbacks:
            await cb()

    async def _begin(self, conn: Conn) -> None:
        try:
            await conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})")
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                await conn.execute("ROLLBACK")
            raise _translate(exc) from exc

    @asynccontextmanager
    async def _nested(self, outer: _PgExecutor) -> AsyncIterator[None]:
        assert outer._conn is not None
        conn = outer._conn
        self._savepoints += 1
        name = f"sp{self._savepoints}"
        mark = len(outer.rollbacks)
        try:
            await self._quiet(conn, f"SAVEPOINT {name}")
            try:
                yield
            except BaseException:
                with contextlib.suppress(DatabaseError):
                    await self._quiet(conn, f"ROLLBACK TO SAVEPOINT {name}")
                    await self._quiet(conn, f"RELEASE SAVEPOINT {name}")
                raise
            await self._quiet(conn, f"RELEASE SAVEPOINT {name}")
        except BaseException as exc:
            undone = outer.rollbacks[mark:]
            del outer.rollbacks[mark:]
            await run_rollbacks(undone, exc)
            raise

    async def _quiet(self, conn: Conn, sql: str) -> None:
        try:
            await conn.execute(sql)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise _translate(exc) from exc

    # -------------------------------------------------------------- catalogue
    async def table_columns(self, table: str) -> list[str]:
        quote_ident(table)
        tx = self._current.get()
        if tx is not None and tx._conn is not None:
            async with tx._busy:
                return await self._columns(tx._conn, table)
        pool = await self.pool()
        async with pool.acquire() as conn:
            return await self._columns(conn, table)

    async def _columns(self, conn: Conn, table: str) -> list[str]:
        try:
            rows = await conn.fetch(_COLUMNS_SQL, [table])
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise _translate(exc) from exc
        return [r["name"] for r in rows if r["name"] != ROWID]

    async def validate_select(self, select_sql: str) -> list[str]:
        """Prepare a superuser's SELECT in a read-only transaction and report its columns."""
        stripped = select_sql.strip().rstrip(";")
        if ";" in stripped:
            raise DatabaseError("only a single SELECT statement is allowed")
        pool = await self.pool()
        async with pool.acquire() as conn:
            try:
                async with conn.transaction(readonly=True):
                    stmt = await conn.prepare(f"SELECT * FROM ({stripped}) AS _q LIMIT 0")
                    return [a.name for a in stmt.get_attributes()]
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                raise _translate(exc) from exc

    # ---------------------------------------------------------------- copies
    async def snapshot(self, dest: Path, progress: CopyProgress | None = None) -> None:
        raise DatabaseError(NOT_SUPPORTED)

    async def check_copy(self, path: Path, tables: Sequence[str]) -> None:
        raise DatabaseError(NOT_SUPPORTED)

    async def read_copy(self, path: Path, query: ir.Select) -> list[Row]:
        raise DatabaseError(NOT_SUPPORTED)

    async def restore(
        self, source: Path, progress: CopyProgress | None = None, keep: Sequence[KeptCounter] = ()
    ) -> None:
        raise DatabaseError(NOT_SUPPORTED)

    async def close(self) -> None:
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
