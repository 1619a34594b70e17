"""The Database port's contract, run against every adapter (SQLite file, PostgreSQL schema).

Transactions and savepoints, after-commit and on-rollback callbacks, error translation (the
unique column, time limits), DDL, insertion order, and the comparison semantics core relies on
(SQLite's: a number field against '' or '5', booleans against 1, case-insensitive ASCII LIKE,
NULLs sorted first) must be the same whichever database runs underneath.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from required_service import unavailable

from satchel.adapters.db.postgres import PostgresDatabase
from satchel.adapters.db.sqlite import SqliteDatabase
from satchel.ports.database import Database, DatabaseError, IntegrityError, QueryTimeoutError
from satchel.testing import postgres as pg_testing
from satchel.tools.sql import ir

TABLE = ir.CreateTable(
    "t",
    (
        ir.ColumnDef("id", "TEXT", primary_key=True),
        ir.ColumnDef("n", "NUMERIC", default=0),
        ir.ColumnDef("flag", "BOOLEAN", default=False),
        ir.ColumnDef("name", "TEXT", default=""),
        ir.ColumnDef("tags", "JSON", default="[]"),
    ),
)


async def _open(kind: str, tmp_path: Path, query_timeout: float) -> Database:
    if kind == "sqlite":
        return SqliteDatabase(tmp_path / "data.db", query_timeout=query_timeout)
    try:
        url = await pg_testing.database_url(tmp_path)
    except (OSError, DatabaseError) as exc:
        unavailable(f"PostgreSQL is unreachable at {pg_testing.base_url()} ({exc})", f"set {pg_testing.URL_ENV}")
    return PostgresDatabase(url, query_timeout=query_timeout)


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    database = await _open(request.param, tmp_path, 10.0)
    async with database.transaction() as tx:
        await tx.ddl(TABLE)
        await tx.ddl(ir.CreateIndex("idx_name", "t", (ir.IndexColumn("name", collate="NOCASE"),), unique=True))
    try:
        yield database
    finally:
        await database.close()


def _ids(where: ir.Expr | None = None, order: tuple[ir.OrderBy, ...] | None = None) -> ir.Select:
    return ir.Select((ir.col("id"),), ir.Table("t"), where=where, order_by=order or (ir.OrderBy(ir.col("id")),))


async def _insert(db: Database, id_: str, **values: Any) -> None:
    row = {"id": id_, "name": id_, **values}
    async with db.transaction() as tx:
        await tx.execute(ir.Insert("t", {k: ir.Param(v) for k, v in row.items()}))


async def _ids_where(db: Database, where: ir.Expr) -> list[str]:
    return [r["id"] for r in await db.executor().fetch_all(_ids(where))]


# ---------------------------------------------------------------------------- transactions
async def test_commit_rollback_and_savepoints(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute(ir.Insert("t", {"id": ir.Param("a"), "name": ir.Param("a")}))
        with pytest.raises(RuntimeError):
            async with db.transaction() as inner:
                assert inner is tx and inner.in_transaction
                await inner.execute(ir.Insert("t", {"id": ir.Param("b"), "name": ir.Param("b")}))
                raise RuntimeError("inner fails")
        assert [r["id"] for r in await db.executor().fetch_all(_ids())] == ["a"]
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute(ir.Insert("t", {"id": ir.Param("c"), "name": ir.Param("c")}))
            raise RuntimeError("outer fails")
    assert [r["id"] for r in await db.executor().fetch_all(_ids())] == ["a"]
    assert not db.executor().in_transaction


async def test_on_commit_and_on_rollback(db: Database) -> None:
    fired: list[str] = []

    async def seen(tag: str) -> None:
        fired.append(tag + ":" + ",".join(r["id"] for r in await db.executor().fetch_all(_ids())))

    async with db.transaction() as tx:
        await tx.execute(ir.Insert("t", {"id": ir.Param("a"), "name": ir.Param("a")}))
        tx.on_commit(lambda: seen("commit"))
        tx.on_rollback(lambda: seen("never"))
        with pytest.raises(RuntimeError):
            async with db.transaction() as inner:
                inner.on_rollback(lambda: seen("savepoint"))
                raise RuntimeError
        assert fired == ["savepoint:a"]  # inside the transaction its own write is visible
    assert fired == ["savepoint:a", "commit:a"]
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            tx.on_rollback(lambda: seen("rollback"))
            raise RuntimeError
    assert fired[-1] == "rollback:a"


async def test_unique_violations_name_the_column(db: Database) -> None:
    await _insert(db, "a", name="Alice")
    with pytest.raises(IntegrityError) as exc:
        await _insert(db, "b", name="ALICE")  # the index is COLLATE NOCASE
    assert exc.value.column == "name"
    with pytest.raises(IntegrityError) as exc:
        await _insert(db, "a", name="other")
    assert exc.value.column == "id"
    assert [r["id"] for r in await db.executor().fetch_all(_ids())] == ["a"]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_a_statement_over_its_time_budget_is_interrupted(kind: str, tmp_path: Path) -> None:
    database = await _open(kind, tmp_path, 0.2)
    try:
        rows = tuple((ir.Param(i),) for i in range(200))
        sources = [ir.Values(rows, ("v",), f"v{i}") for i in range(5)]  # 200^5 combinations
        joins = tuple(ir.Join("JOIN", s, ir.Raw("1")) for s in sources[1:])
        with pytest.raises(QueryTimeoutError):
            await database.executor().fetch_value(ir.Select((ir.Raw("COUNT(*)"),), sources[0], joins=joins))
        assert await database.executor().fetch_value(ir.Select((ir.Raw("1"),))) == 1  # still usable
    finally:
        await database.close()


# ------------------------------------------------------------------------------------- DDL
async def test_ddl_and_table_columns(db: Database) -> None:
    assert await db.table_columns("t") == ["id", "n", "flag", "name", "tags"]
    async with db.transaction() as tx:
        await tx.ddl(ir.AddColumn("t", ir.ColumnDef("extra", "TEXT", default="x")))
        await tx.ddl(ir.RenameColumn("t", "extra", "more"))
        await tx.ddl(ir.RenameTable("t", "t2"))
    assert await db.table_columns("t2") == ["id", "n", "flag", "name", "tags", "more"]
    assert await db.table_columns("t") == []
    async with db.transaction() as tx:
        await tx.ddl(ir.DropColumn("t2", "more"))
        await tx.ddl(ir.CreateView("v", 'SELECT "id", "n" FROM "t2"'))
    assert await db.table_columns("v") == ["id", "n"]
    assert await db.validate_select('SELECT "id" AS x, "n" FROM "t2"') == ["x", "n"]
    with pytest.raises(DatabaseError):
        await db.validate_select('SELECT 1; DELETE FROM "t2"')
    async with db.transaction() as tx:
        await tx.ddl(ir.DropView("v"))
        await tx.ddl(ir.DropTable("t2"))
    assert await db.table_columns("t2") == []


async def test_a_failed_ddl_statement_leaves_the_transaction_usable(db: Database) -> None:
    async with db.transaction() as tx:
        with pytest.raises(DatabaseError):
            await tx.ddl(ir.CreateIndex("idx_name", "t", (ir.IndexColumn("n"),)))  # the name is taken
        await tx.execute(ir.Insert("t", {"id": ir.Param("a"), "name": ir.Param("a")}))
    assert [r["id"] for r in await db.executor().fetch_all(_ids())] == ["a"]


async def test_rows_keep_insertion_order_and_show_only_their_columns(db: Database) -> None:
    for id_ in ("m", "c", "x", "a"):
        await _insert(db, id_)
    order = (ir.OrderBy(ir.InsertionOrder()),)
    assert [r["id"] for r in await db.executor().fetch_all(_ids(order=order))] == ["m", "c", "x", "a"]
    row = await db.executor().fetch_one(ir.Select((ir.Star("t"),), ir.Table("t"), limit=1))
    assert row is not None and sorted(row) == ["flag", "id", "n", "name", "tags"]
    prepared = ir.Select((ir.Star("t"),), ir.Table("t"), where=ir.eq(ir.col("t", "id"), ir.Slot(0)), limit=1)
    got = await db.executor().fetch_one_prepared(prepared, ("x",))
    assert got is not None and got["id"] == "x"


# ----------------------------------------------------------------------- comparison semantics
async def test_numbers_compare_as_sqlite_compares_them(db: Database) -> None:
    await _insert(db, "zero", n=0)
    await _insert(db, "five", n=5)
    n = ir.col("t", "n")
    assert await _ids_where(db, ir.eq(n, ir.Param(""))) == []  # a number is never ''
    assert await _ids_where(db, ir.eq(n, ir.Param("5"))) == ["five"]  # numeric text: column affinity
    assert await _ids_where(db, ir.eq(n, ir.Param(5.0))) == ["five"]
    assert await _ids_where(db, ir.Binary("<", n, ir.Param("abc"))) == ["five", "zero"]  # numbers < text
    coalesced = ir.eq(ir.Func("COALESCE", (n, ir.Param(""))), ir.Func("COALESCE", (ir.Param(5.0), ir.Param(""))))
    assert await _ids_where(db, coalesced) == ["five"]


async def test_booleans_and_text(db: Database) -> None:
    await _insert(db, "on", flag=True, name="Éa_b%c")
    await _insert(db, "off", flag=False, name="xyz")
    flag = ir.col("t", "flag")
    assert await _ids_where(db, ir.eq(flag, ir.Raw("1"))) == ["on"]
    assert await _ids_where(db, ir.eq(flag, ir.Param(0.0))) == ["off"]
    name = ir.col("t", "name")
    assert await _ids_where(db, ir.Like(name, ir.Param("%A\\_B\\%%"))) == ["on"]  # ASCII case-insensitive
    assert await _ids_where(db, ir.Like(name, ir.Param("é%"))) == []  # not beyond ASCII, as SQLite
    assert await _ids_where(db, ir.eq(ir.Func("LOWER", (name,)), ir.Param("XYZ".lower()))) == ["off"]


async def test_nulls_sort_first_and_json_values_by_type(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.ddl(
            ir.CreateTable(
                "j", (ir.ColumnDef("id", "TEXT", primary_key=True), ir.ColumnDef("v", "JSON", not_null=False))
            )
        )
        for id_, v in (("text", '"b"'), ("none", None), ("num", "10"), ("small", "2")):
            await tx.execute(ir.Insert("j", {"id": ir.Param(id_), "v": ir.Param(v)}))
    value = ir.JsonValue(ir.col("j", "v"), ())
    rows = await db.executor().fetch_all(ir.Select((ir.col("id"),), ir.Table("j"), order_by=(ir.OrderBy(value),)))
    assert [r["id"] for r in rows] == ["none", "small", "num", "text"]
    rows = await db.executor().fetch_all(ir.Select((ir.col("id"),), ir.Table("j"), where=ir.eq(value, ir.Param("b"))))
    assert [r["id"] for r in rows] == ["text"]
    count = ir.ArrayLength(ir.col("t", "tags"))
    await _insert(db, "two", tags='["a","b"]')
    assert await _ids_where(db, ir.eq(count, ir.Param(2))) == ["two"]


# ---------------------------------------------------------------------------- batch inserts
async def test_execute_many_inserts_every_row_with_its_types(db: Database) -> None:
    insert = ir.Insert("t", {"id": ir.Slot(0), "n": ir.Slot(1), "name": ir.Slot(2), "tags": ir.Slot(3)})
    rows = [(f"r{i}", i * 1.5, f"name {i}", f'["t{i}"]') for i in range(250)]
    async with db.transaction() as tx:
        assert await tx.execute_many(insert, rows) == 250
        assert await tx.execute_many(insert, []) == 0
    where = ir.Binary(">=", ir.col("n"), ir.Param(372))  # numbers compare as numbers
    assert await _ids_where(db, where) == ["r248", "r249"]
    await _insert(db, "ref", tags='["t7"]')  # the same value written by a plain insert reads the same

    def first_tag(id_: str) -> ir.Select:
        return ir.Select((ir.JsonValue(ir.col("tags"), (0,)),), ir.Table("t"), where=ir.eq(ir.col("id"), ir.Param(id_)))

    assert await db.executor().fetch_value(first_tag("r7")) == await db.executor().fetch_value(first_tag("ref"))
    assert await db.executor().fetch_value(first_tag("r7")) not in (None, '["t7"]'), "JSON, not a string of it"


async def test_execute_many_is_all_or_nothing_in_a_transaction(db: Database) -> None:
    insert = ir.Insert("t", {"id": ir.Slot(0), "name": ir.Slot(1)})
    with pytest.raises(IntegrityError):
        async with db.transaction() as tx:
            await tx.execute_many(insert, [("a", "same"), ("b", "same")])
    assert await db.executor().fetch_all(_ids()) == []
