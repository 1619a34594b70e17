"""Full-text search on SQLite: an FTS5 external-content table kept in step by triggers.

The FTS5 table stores only the index (the text stays in the records table, read back through
`content=`), keyed by the records table's rowid; three triggers mirror every insert, delete and
update of an indexed column, inside the writing statement's transaction. A search on stored rows
asks the index for rowids; a search on a row of values (a record not stored yet, a realtime event)
calls `SATCHEL_SEARCH`, the adapter's SQL function over `satchel.tools.textsearch.matches`.
"""

from __future__ import annotations

from collections.abc import Callable

from satchel.tools import textsearch
from satchel.tools.sql import ir

MATCH_FUNCTION = "SATCHEL_SEARCH"
TOKENIZER = "unicode61 remove_diacritics 2"

Quote = Callable[[str], str]


def _triggers(name: str, table: str, columns: tuple[str, ...], q: Quote) -> list[str]:
    cols = ", ".join(q(c) for c in columns)
    new = ", ".join(f"new.{q(c)}" for c in columns)
    old = ", ".join(f"old.{q(c)}" for c in columns)
    insert = f"INSERT INTO {q(name)}(rowid, {cols}) VALUES (new.rowid, {new});"
    delete = f"INSERT INTO {q(name)}({q(name)}, rowid, {cols}) VALUES ('delete', old.rowid, {old});"
    return [
        f"CREATE TRIGGER {q(name + '_ai')} AFTER INSERT ON {q(table)} BEGIN {insert} END",
        f"CREATE TRIGGER {q(name + '_ad')} AFTER DELETE ON {q(table)} BEGIN {delete} END",
        f"CREATE TRIGGER {q(name + '_au')} AFTER UPDATE OF {cols} ON {q(table)} BEGIN {delete} {insert} END",
    ]


def create_steps(d: ir.CreateSearchIndex, q: Quote) -> list[str]:
    cols = ", ".join(q(c) for c in d.columns)
    table = "'" + d.table.replace("'", "''") + "'"  # validated by `q` above as an identifier too
    q(d.table)
    return [
        f"CREATE VIRTUAL TABLE {q(d.name)} USING fts5({cols}, content={table}, content_rowid='rowid', "
        f"tokenize='{TOKENIZER}')",
        *_triggers(d.name, d.table, d.columns, q),
        f"INSERT INTO {q(d.name)}({q(d.name)}) VALUES ('rebuild')",
    ]


def drop_steps(d: ir.DropSearchIndex, q: Quote) -> list[str]:
    triggers = [f"DROP TRIGGER IF EXISTS {q(d.name + s)}" for s in ("_ai", "_ad", "_au")]
    return [*triggers, f"DROP TABLE IF EXISTS {q(d.name)}"]


def search_expr(e: ir.TextSearch) -> ir.Expr | tuple[str, str, str]:
    """The condition as a plain tree (values form, or no term to look for), or the index form's
    (rowid column, index table, FTS5 query) for the compiler to spell."""
    query = textsearch.parse_query(e.query)
    if query.empty:
        return ir.Raw("0")
    if e.index is None:
        return ir.Func(MATCH_FUNCTION, (ir.Param(e.query), *(ir.col(e.table, c) for c in e.columns)))
    text = textsearch.to_fts5(query)
    if e.columns != e.indexed:
        text = "{" + " ".join('"' + c + '"' for c in e.columns) + "} : (" + text + ")"
    return (e.table, e.index, text)
