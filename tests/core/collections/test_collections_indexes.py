"""Index strings parsed, rebuilt and compiled the way PocketBase treats them."""

from __future__ import annotations

import pytest

from satchel.core.collections.indexes import (
    IndexError_,
    definition_key,
    find_single_column_unique,
    normalize_table,
    parse,
    parse_index,
    split_top_level,
    to_ddl,
)
from satchel.tools.sql import ir
from satchel.tools.sql.sqlite import compile_ddl


def test_parse_quoting_styles_and_options() -> None:
    idx = parse('create unique index if not exists "idx_a" ON [posts] (`title` COLLATE NOCASE DESC, b asc)')
    assert (idx.name, idx.table, idx.unique, idx.optional) == ("idx_a", "posts", True, True)
    assert [(c.name, c.collate, c.sort) for c in idx.columns] == [("title", "NOCASE", "DESC"), ("b", "", "ASC")]
    assert parse("CREATE INDEX idx_b ON t (x) WHERE `x` != ''").where == "`x` != ''"
    assert parse("CREATE INDEX main.idx_c ON t (x)").schema == "main"


@pytest.mark.parametrize(
    "sql",
    ["", "CREATE INDEX ON t (a)", "CREATE INDEX i ON  (a)", "CREATE INDEX i ON t ()", "DROP INDEX i", "create table t"],
)
def test_invalid_indexes(sql: str) -> None:
    assert not parse(sql).is_valid
    with pytest.raises(IndexError_):
        parse_index(sql)


def test_build_is_pocketbase_canonical_form() -> None:
    one = parse("create index idx_t on posts (title)").with_table("articles").build()
    assert one == "CREATE INDEX `idx_t` ON `articles` (`title`)"
    many = parse("create unique index idx_m on posts (a collate nocase, lower(b) desc)").build()
    assert many == "CREATE UNIQUE INDEX `idx_m` ON `posts` (\n  `a` COLLATE nocase,\n  lower(b) DESC\n)"


def test_normalize_table_only_rewrites_when_needed() -> None:
    sql = "create index idx_t on posts (title)"
    assert normalize_table(sql, "posts") == sql
    assert normalize_table(sql, "news") == "CREATE INDEX `idx_t` ON `news` (`title`)"
    assert normalize_table("garbage", "news") == "garbage"


def test_definition_key_ignores_names() -> None:
    a = parse("CREATE INDEX a1 ON t (x)")
    b = parse("CREATE INDEX `b2` ON `t` (`x`)")
    c = parse("CREATE UNIQUE INDEX c3 ON t (x)")
    assert definition_key(a) == definition_key(b) != definition_key(c)


def test_find_single_column_unique() -> None:
    indexes = [
        "CREATE INDEX i1 ON t (email)",
        "CREATE UNIQUE INDEX i2 ON t (a, email)",
        "CREATE UNIQUE INDEX i3 ON t (EMAIL)",
    ]
    found = find_single_column_unique(indexes, "email")
    assert found is not None and found.name == "i3"
    assert find_single_column_unique(indexes, "a") is None


def test_to_ddl_compiles_identifier_indexes() -> None:
    d = to_ddl(parse("CREATE UNIQUE INDEX `i` ON `x` (`email` COLLATE NOCASE DESC) WHERE `email` != ''"), "users")
    assert d == ir.CreateIndex("i", "users", (ir.IndexColumn("email", desc=True, collate="NOCASE"),), True, "email")
    assert compile_ddl(d) == 'CREATE UNIQUE INDEX "i" ON "users" ("email" COLLATE NOCASE DESC) WHERE "email" != \'\''


@pytest.mark.parametrize(
    "sql",
    ["CREATE INDEX i ON t (lower(a))", "CREATE INDEX i ON t (a) WHERE a > 1", "CREATE INDEX i ON t (a COLLATE x)"],
)
def test_to_ddl_refuses_what_the_tree_cannot_express(sql: str) -> None:
    with pytest.raises(IndexError_):
        to_ddl(parse(sql), "t")


def test_split_top_level_respects_quotes_and_parentheses() -> None:
    assert split_top_level("a, f(b, c), 'x,y', `p,q`") == ["a", "f(b, c)", "'x,y'", "`p,q`"]
    assert split_top_level("a b", " ", keep_separator=True) == ["a ", "b"]
