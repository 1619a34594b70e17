"""The SQLite compiler: values only as parameters, identifiers validated, closed sets of ops/functions."""

from __future__ import annotations

import sqlite3

import pytest

from satchel.tools.sql import ir
from satchel.tools.sql.sqlite import SqlCompileError, compile_ddl, compile_expr, compile_statement, quote_ident


def test_select_with_params_and_quoting() -> None:
    st = ir.Select(
        (ir.Star("posts"),),
        ir.Table("posts"),
        where=ir.Binary(
            "AND",
            ir.eq(ir.col("posts", "title"), ir.Param("x' OR 1=1 --")),
            ir.Binary(">", ir.col("posts", "views"), ir.Param(10)),
        ),
        order_by=(ir.OrderBy(ir.col("posts", "views"), desc=True),),
        limit=20,
        offset=40,
    )
    sql, params = compile_statement(st)
    assert sql == (
        'SELECT "posts".* FROM "posts" WHERE (("posts"."title" = ?) AND ("posts"."views" > ?)) '
        'ORDER BY "posts"."views" DESC LIMIT 20 OFFSET 40'
    )
    assert params == ["x' OR 1=1 --", 10]


@pytest.mark.parametrize("name", ['a"b', "a b", "1abc", "", "a;drop", "ä", "a-b"])
def test_bad_identifiers_are_refused(name: str) -> None:
    with pytest.raises(SqlCompileError):
        quote_ident(name)
    with pytest.raises(SqlCompileError):
        compile_expr(ir.col(name))


def test_unknown_function_is_refused() -> None:
    with pytest.raises(SqlCompileError):
        compile_expr(ir.Func("load_extension", (ir.Param("x"),)))


def test_json_path_is_a_parameter() -> None:
    sql, params = compile_expr(ir.JsonExtract(ir.col("t", "meta"), ('a"b', 0)))
    assert sql == 'JSON_EXTRACT("t"."meta", ?)'
    assert params == ['$."a\\"b"[0]']


def test_like_and_in_and_exists_execute_on_sqlite() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (id TEXT PRIMARY KEY, tags JSON, title TEXT)")
    db.executemany(
        "INSERT INTO t VALUES (?, ?, ?)", [("a", '["x","y"]', "Hello"), ("b", "z", "World"), ("c", None, "")]
    )
    je = ir.JsonEach(ir.col("t", "tags"), "je")
    has_x = ir.Exists(ir.Select((ir.Raw("1"),), je, where=ir.eq(ir.col("je", "value"), ir.Param("x"))))
    has_z = ir.Exists(ir.Select((ir.Raw("1"),), je, where=ir.eq(ir.col("je", "value"), ir.Param("z"))))
    for cond, expected in [
        (has_x, ["a"]),
        (has_z, ["b"]),  # a plain (non-array) value behaves as a one-item array
        (ir.Like(ir.col("t", "title"), ir.Param("%ell%")), ["a"]),
        (ir.InList(ir.col("t", "id"), (ir.Param("b"), ir.Param("c"))), ["b", "c"]),
        (ir.InList(ir.col("t", "id"), ()), []),
    ]:
        sql, params = compile_statement(
            ir.Select((ir.col("t", "id"),), ir.Table("t"), where=cond, order_by=(ir.OrderBy(ir.col("t", "id")),))
        )
        assert [r[0] for r in db.execute(sql, params)] == expected, sql


def test_insert_update_delete() -> None:
    sql, params = compile_statement(ir.Insert("t", {"id": ir.Param("a"), "n": ir.Param(1)}))
    assert sql == 'INSERT INTO "t" ("id", "n") VALUES (?, ?)' and params == ["a", 1]
    sql, params = compile_statement(ir.Update("t", {"n": ir.Param(2)}, ir.eq(ir.col("id"), ir.Param("a"))))
    assert sql == 'UPDATE "t" SET "n" = ? WHERE ("id" = ?)' and params == [2, "a"]
    sql, params = compile_statement(ir.Delete("t", ir.eq(ir.col("id"), ir.Param("a"))))
    assert sql == 'DELETE FROM "t" WHERE ("id" = ?)' and params == ["a"]


def test_ddl_defaults_are_escaped() -> None:
    sql = compile_ddl(
        ir.CreateTable(
            "t",
            (
                ir.ColumnDef("id", "TEXT", primary_key=True),
                ir.ColumnDef("s", "TEXT", default="it's"),
                ir.ColumnDef("b", "BOOLEAN", default=False),
                ir.ColumnDef("j", "JSON", not_null=False),
            ),
        )
    )
    assert sql == (
        'CREATE TABLE "t" ("id" TEXT PRIMARY KEY NOT NULL, "s" TEXT NOT NULL DEFAULT \'it\'\'s\', '
        '"b" BOOLEAN NOT NULL DEFAULT FALSE, "j" JSON)'
    )
    sqlite3.connect(":memory:").execute(sql)
