"""PocketBase's index strings (`CREATE UNIQUE INDEX `idx` ON `t` (`a`, b COLLATE NOCASE DESC)`).

Indexes travel as SQL text in the collection JSON (the wire format), so they are parsed as leniently
as PocketBase parses them (its validation codes depend on what that parse finds) and rebuilt in its
canonical form when the table name changes. Only identifier columns and the `col != ''` partial
form can be turned into the SQL tree that actually runs; anything else is reported as invalid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal, cast

from satchel.tools.sql import ir

# Same shape as PocketBase's (unanchored, greedy column group): what it accepts, we accept.
_INDEX_RE = re.compile(
    r"create\s+(unique\s+)?\s*index\s*(if\s+not\s+exists\s+)?(\S*)\s+on\s+(\S*)\s*\(([\s\S]*)\)"
    r"(?:\s*where\s+([\s\S]*))?",
    re.IGNORECASE | re.MULTILINE,
)
_COLUMN_RE = re.compile(r"^([\s\S]+?)(?:\s+collate\s+(\w+))?(?:\s+(asc|desc))?$", re.IGNORECASE | re.MULTILINE)
_TRIM = "`\"'[]\r\n\t\f\v "
_WHITESPACE = "\t\n\v\f\r \x85\xa0"
_QUOTES = "'\"`"
_IDENT_RE = re.compile(r"^[A-Za-z_]\w*$")
_QUOTED = r"(?:`([^`]+)`|\"([^\"]+)\"|\[([^\]]+)\]|([A-Za-z_]\w*))"
_NOT_EMPTY_RE = re.compile(r"^\(?\s*" + _QUOTED + r"\s*(?:!=|<>)\s*''\s*\)?$")
_COLLATIONS = ("NOCASE", "BINARY", "RTRIM")


class IndexError_(ValueError):
    """An index string Satchel cannot (or will not) run."""


class SplitError(ValueError):
    """Unbalanced parenthesis or quotes while splitting SQL text."""


def split_top_level(text: str, separators: str = ",", *, keep_separator: bool = False) -> list[str]:
    """Split on separators outside quotes and parentheses; empty parts are dropped, parts trimmed.

    Behaves like PocketBase's tokenizer so that index and view-query parsing see the same pieces.
    """
    trim = "".join(c for c in _WHITESPACE if c not in separators)
    parts: list[str] = []
    buf: list[str] = []
    depth = 0
    quote = ""
    prev = ""
    for ch in text:
        if prev != "\\":
            if ch == "(" and not quote:
                depth += 1
            elif ch == ")" and depth > 0 and not quote:
                depth -= 1
            elif ch in _QUOTES:
                if quote == ch:
                    quote = ""
                elif not quote:
                    quote = ch
        if ch in separators and depth == 0 and not quote:
            if keep_separator:
                buf.append(ch)
            _flush(parts, buf, trim)
            buf = []
            prev = ""
            continue
        prev = ch
        buf.append(ch)
    if depth > 0 or quote:
        raise SplitError(f"unbalanced parenthesis or quoted expression: {''.join(buf)!r}")
    _flush(parts, buf, trim)
    return parts


def _flush(parts: list[str], buf: list[str], trim: str) -> None:
    token = "".join(buf).strip(trim)
    if token:
        parts.append(token)


@dataclass(frozen=True, slots=True)
class IndexColumn:
    name: str
    """An identifier or (when it has a space or a parenthesis) an expression."""
    collate: str = ""
    sort: str = ""


@dataclass(frozen=True, slots=True)
class ParsedIndex:
    name: str = ""
    table: str = ""
    columns: tuple[IndexColumn, ...] = ()
    unique: bool = False
    optional: bool = False
    """`IF NOT EXISTS`."""
    schema: str = ""
    where: str = ""

    @property
    def is_valid(self) -> bool:
        return bool(self.name and self.table and self.columns)

    def build(self) -> str:
        """The canonical text PocketBase writes back (empty when invalid)."""
        if not self.is_valid:
            return ""
        out = ["CREATE ", "UNIQUE " if self.unique else "", "INDEX ", "IF NOT EXISTS " if self.optional else ""]
        if self.schema:
            out.append(f"`{self.schema}`.")
        out.append(f"`{self.name}` ON `{self.table}` (")
        multi = len(self.columns) > 1
        cols = []
        for c in self.columns:
            name = c.name.strip()
            if not name:
                continue
            text = name if ("(" in c.name or " " in c.name) else f"`{name}`"
            if c.collate:
                text += f" COLLATE {c.collate}"
            if c.sort:
                text += f" {c.sort.upper()}"
            cols.append(text)
        if multi:
            out.append("\n  " + ",\n  ".join(cols) + ("\n" if cols else ""))
        else:
            out.append("".join(cols))
        out.append(")")
        if self.where:
            out.append(f" WHERE {self.where}")
        return "".join(out)

    def with_table(self, table: str) -> ParsedIndex:
        return replace(self, table=table)


def parse(sql: str) -> ParsedIndex:
    """Lenient parse: never raises; an unparsable string gives an invalid (`not is_valid`) index."""
    m = _INDEX_RE.search(sql)
    if not m:
        return ParsedIndex()
    unique_raw, optional_raw, name_raw, table_raw, cols_raw, where_raw = m.groups()
    try:
        name_parts = split_top_level(name_raw, ".")
        raw_columns = split_top_level(cols_raw, ",")
    except SplitError:
        name_parts, raw_columns = [name_raw], []
    schema = ""
    if len(name_parts) == 2:
        schema, name = name_parts[0].strip(_TRIM), name_parts[1].strip(_TRIM)
    else:
        name = name_parts[0].strip(_TRIM) if name_parts else ""
    columns = []
    for raw in raw_columns:
        cm = _COLUMN_RE.match(raw)
        if not cm:
            continue
        col_name = cm.group(1).strip(_TRIM)
        if col_name:
            columns.append(IndexColumn(col_name, (cm.group(2) or "").strip(), (cm.group(3) or "").upper()))
    return ParsedIndex(
        name=name,
        table=table_raw.strip(_TRIM),
        columns=tuple(columns),
        unique=bool((unique_raw or "").strip()),
        optional=bool((optional_raw or "").strip()),
        schema=schema,
        where=(where_raw or "").strip(),
    )


def parse_index(sql: str) -> ParsedIndex:
    """Strict parse: raises `IndexError_` for an index PocketBase would call invalid."""
    idx = parse(sql)
    if not idx.is_valid:
        raise IndexError_("Invalid CREATE INDEX expression.")
    return idx


def find_single_column_unique(indexes: list[str], column: str) -> ParsedIndex | None:
    """The first UNIQUE index over exactly `column` (case-insensitive; WHERE ignored)."""
    for sql in indexes:
        idx = parse(sql)
        if idx.unique and len(idx.columns) == 1 and idx.columns[0].name.lower() == column.lower():
            return idx
    return None


def normalize_table(sql: str, table: str) -> str:
    """The index text pointing at `table`, rebuilt canonically only when the table differs."""
    idx = parse(sql)
    if idx.table == table:
        return sql
    rebuilt = idx.with_table(table).build()
    return rebuilt or sql


def definition_key(idx: ParsedIndex) -> str:
    """The index text with its name and schema blanked, to spot duplicate definitions."""
    return replace(idx, name="validator", schema="validator", table="validator").build()


def _where_not_empty(where: str) -> str | None:
    if not where:
        return None
    m = _NOT_EMPTY_RE.match(where.strip())
    if not m:
        raise IndexError_(f"unsupported index WHERE clause: {where}")
    return next(g for g in m.groups() if g)


def to_ddl(index: ParsedIndex, table: str) -> ir.CreateIndex:
    """The SQL tree for the index on `table`; raises `IndexError_` for forms Satchel cannot express."""
    if not index.is_valid:
        raise IndexError_("Invalid CREATE INDEX expression.")
    cols = []
    for c in index.columns:
        if not _IDENT_RE.match(c.name):
            raise IndexError_(f"unsupported index expression: {c.name}")
        collate = c.collate.upper() or None
        if collate is not None and collate not in _COLLATIONS:
            raise IndexError_(f"unsupported collation: {c.collate}")
        cols.append(
            ir.IndexColumn(
                c.name, desc=c.sort == "DESC", collate=cast(Literal["NOCASE", "BINARY", "RTRIM"] | None, collate)
            )
        )
    return ir.CreateIndex(index.name, table, tuple(cols), index.unique, _where_not_empty(index.where))
