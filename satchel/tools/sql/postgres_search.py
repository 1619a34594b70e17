"""Full-text search on PostgreSQL: a GIN index over a `tsvector` expression, no extra column.

The index is on `to_tsvector('simple', COALESCE(a, '') || ' ' || COALESCE(b, ''))` over the
indexed columns; a search spells exactly that expression, so the planner answers it from the index,
and the same expression evaluates a row of values (a record not stored yet) directly. The `simple`
configuration lowercases words and nothing more (no stemming, no stop words), which is what the
SQLite side does too. Each term of the client's query becomes `phraseto_tsquery('simple', $n)`:
a bound value that PostgreSQL tokenizes like the indexed text and never parses as query syntax.
"""

from __future__ import annotations

from collections.abc import Callable

from satchel.tools.textsearch import SearchQuery

CONFIG = "'simple'::regconfig"
SEPARATORS = "@./:_-+#?=&%~"
"""Read as spaces on both sides: PostgreSQL's parser would keep `a@b.com` or `x.com/path` as one
token, where SQLite's tokenizer sees words; splitting them keeps both engines finding `example`
in `ann@example.com`, and the full address still matches as a phrase."""
_SPACES = " " * len(SEPARATORS)
_TABLE = str.maketrans(SEPARATORS, _SPACES)


def _split(sql: str) -> str:
    return f"translate(COALESCE({sql}, ''), '{SEPARATORS}', '{_SPACES}')"


def document(columns: list[str]) -> str:
    """The indexed text of `columns` (already rendered as text SQL) as a tsvector."""
    body = " || ' ' || ".join(_split(c) for c in columns)
    return f"to_tsvector({CONFIG}, {body})"


def tsquery(query: SearchQuery, bind: Callable[[str], str]) -> str:
    """The query as a tsquery expression; `bind` binds one term and returns its placeholder."""

    def term(t: str) -> str:
        return f"phraseto_tsquery({CONFIG}, {bind(t.translate(_TABLE))})"

    def any_of(terms: tuple[str, ...]) -> str:
        return "(" + " || ".join(term(t) for t in terms) + ")"

    parts = [any_of(g) for g in query.groups]
    if query.excluded:
        parts.append("(!!" + any_of(query.excluded) + ")")
    return "(" + " && ".join(parts) + ")"
