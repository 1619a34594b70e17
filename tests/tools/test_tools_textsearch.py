"""The search query language: any text reads into a query, FTS5 accepts every query built from it,
and the values matcher (used where no index can answer) agrees with the FTS5 index."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from satchel.tools.sql import ir
from satchel.tools.sql.sqlite import ddl_steps
from satchel.tools.textsearch import MAX_TERMS, SearchQuery, index_name, matches, parse_query, to_fts5


@pytest.mark.parametrize(
    ("text", "groups", "excluded"),
    [
        ("hello world", (("hello",), ("world",)), ()),
        ('"hello world" x', (("hello world",), ("x",)), ()),
        ("a or b c", (("a", "b"), ("c",)), ()),
        ("a OR b or c", (("a", "b", "c"),), ()),
        ("or a", (("a",),), ()),
        ("a or", (("a",),), ()),
        ('a -b -"c d"', (("a",),), ("b", "c d")),
        ('"unterminated phrase', (("unterminated phrase",),), ()),
        ("!!! *** a", (("a",),), ()),
        ("", (), ()),
        ("-", (), ()),
        ('"or"', (("or",),), ()),
        ("a\x00b", (("a",), ("b",)), ()),
    ],
)
def test_parse_query(text: str, groups: tuple[tuple[str, ...], ...], excluded: tuple[str, ...]) -> None:
    assert parse_query(text) == SearchQuery(groups, excluded)


def test_terms_are_bounded() -> None:
    q = parse_query(" ".join(f"w{i}" for i in range(100)))
    assert len(q.groups) == MAX_TERMS


def test_index_names_are_identifiers() -> None:
    assert index_name("pbc_123") == "_fts_pbc_123"
    odd = index_name("weird id!")
    assert odd.startswith("_fts_") and odd.replace("_", "").isalnum()
    assert odd != index_name("weird id?")


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.execute('CREATE TABLE "docs" ("id" TEXT PRIMARY KEY, "a" TEXT, "b" TEXT)')
    for sql in ddl_steps(ir.CreateSearchIndex("_fts_docs", "docs", ("a", "b"))):
        conn.execute(sql)
    yield conn
    conn.close()


WORDS = st.sampled_from(["alpha", "beta", "Gamma", "délta", "delta", "x1", "or", "-beta", '"alpha beta"', "a@b.c"])
DOC = st.lists(
    st.sampled_from(["alpha", "beta", "gamma", "delta", "Délta", "x1", "a@b.c", ",", "beta-alpha"]), max_size=6
)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80))
def test_fts5_accepts_every_query(fts: sqlite3.Connection, text: str) -> None:
    q = parse_query(text)
    if not q.empty:
        fts.execute('SELECT rowid FROM "_fts_docs" WHERE "_fts_docs" MATCH ?', (to_fts5(q),)).fetchall()


@settings(max_examples=300, deadline=None)
@given(a=DOC, b=DOC, query=st.lists(WORDS, min_size=1, max_size=4))
def test_values_matcher_agrees_with_the_index(
    fts: sqlite3.Connection, a: list[str], b: list[str], query: list[str]
) -> None:
    text = " ".join(query)
    fts.execute('DELETE FROM "docs"')
    fts.execute('INSERT INTO "docs" VALUES (?, ?, ?)', ("1", " ".join(a), " ".join(b)))
    q = parse_query(text)
    hit = not q.empty and bool(
        fts.execute('SELECT rowid FROM "_fts_docs" WHERE "_fts_docs" MATCH ?', (to_fts5(q),)).fetchall()
    )
    assert matches(text, (" ".join(a), " ".join(b))) == hit
