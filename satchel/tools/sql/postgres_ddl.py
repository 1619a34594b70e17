"""DDL for PostgreSQL: SQLite's column types, defaults and index collations in PostgreSQL's terms.

Text columns use the "C" collation, so text sorts and compares byte-wise as SQLite's BINARY does
whatever the database's locale; every table gets the hidden `$rowid` identity column standing for
SQLite's rowid (insertion order); `COLLATE NOCASE` index columns become `lower()` expressions
(ASCII-only under "C", as NOCASE is).
"""

from __future__ import annotations

from satchel.tools.sql import ir
from satchel.tools.sql.postgres import ROWID_SQL
from satchel.tools.sql.postgres_search import document
from satchel.tools.sql.sqlite import SqlCompileError, quote_ident

COLUMN_TYPES = {
    "TEXT": 'text COLLATE "C"',
    "NUMERIC": "double precision",
    "REAL": "double precision",
    "INTEGER": "bigint",
    "BOOLEAN": "boolean",
    "JSON": "jsonb",
}


def _literal(value: str | float | bool | None, typ: str) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(float(value)) if typ != "INTEGER" else str(int(value))
    text = "'" + value.replace("'", "''") + "'"
    return f"{text}::jsonb" if typ == "JSON" else text


def column_def(c: ir.ColumnDef) -> str:
    sql = f"{quote_ident(c.name)} {COLUMN_TYPES[c.type]}"
    if c.primary_key:
        sql += " PRIMARY KEY"
    if c.not_null:
        sql += " NOT NULL"
    if c.default is not None:
        sql += f" DEFAULT {_literal(c.default, c.type)}"
    return sql


def _index_column(c: ir.IndexColumn) -> str:
    name = quote_ident(c.name)
    if c.collate == "NOCASE":
        name = f"lower({name})"
    elif c.collate == "RTRIM":
        name = f"rtrim({name})"
    # SQLite's NULL order (smallest), which every ORDER BY asks for: the index can serve the sort
    return name + (" DESC NULLS LAST" if c.desc else " NULLS FIRST")


def _search_ddl(d: ir.CreateSearchIndex | ir.DropSearchIndex) -> str:
    if isinstance(d, ir.DropSearchIndex):
        return f"DROP INDEX IF EXISTS {quote_ident(d.name)}"
    expr = document([quote_ident(c) for c in d.columns])
    return f"CREATE INDEX {quote_ident(d.name)} ON {quote_ident(d.table)} USING GIN (({expr}))"


def compile_ddl(d: ir.DDL) -> str:
    match d:
        case ir.CreateTable(name, columns):
            defs = [column_def(c) for c in columns]
            defs.append(f"{ROWID_SQL} bigint GENERATED ALWAYS AS IDENTITY")
            table = quote_ident(name)
            # default list order and tie-breaks read it: indexed, as SQLite's rowid is its table's key
            # (unnamed: PostgreSQL picks a free name, which a renamed table cannot later collide with)
            return f"CREATE TABLE {table} ({', '.join(defs)}); CREATE INDEX ON {table} ({ROWID_SQL} NULLS FIRST)"
        case ir.DropTable(name):
            return f"DROP TABLE IF EXISTS {quote_ident(name)}"
        case ir.RenameTable(old, new):
            return f"ALTER TABLE {quote_ident(old)} RENAME TO {quote_ident(new)}"
        case ir.AddColumn(table, column):
            return f"ALTER TABLE {quote_ident(table)} ADD COLUMN {column_def(column)}"
        case ir.DropColumn(table, column):
            return f"ALTER TABLE {quote_ident(table)} DROP COLUMN {quote_ident(column)}"
        case ir.RenameColumn(table, old, new):
            return f"ALTER TABLE {quote_ident(table)} RENAME COLUMN {quote_ident(old)} TO {quote_ident(new)}"
        case ir.CreateIndex(name, table, columns, unique, where_not_empty):
            cols = ", ".join(_index_column(c) for c in columns)
            kw = "CREATE UNIQUE INDEX" if unique else "CREATE INDEX"
            where = f" WHERE {quote_ident(where_not_empty)} <> ''" if where_not_empty else ""
            return f"{kw} {quote_ident(name)} ON {quote_ident(table)} ({cols}){where}"
        case ir.DropIndex(name):
            return f"DROP INDEX IF EXISTS {quote_ident(name)}"
        case ir.CreateView(name, select_sql):
            return f"CREATE VIEW {quote_ident(name)} AS {select_sql}"
        case ir.DropView(name):
            return f"DROP VIEW IF EXISTS {quote_ident(name)}"
        case ir.CreateSearchIndex() | ir.DropSearchIndex():
            return _search_ddl(d)
    raise SqlCompileError(f"cannot compile DDL {type(d).__name__}")
