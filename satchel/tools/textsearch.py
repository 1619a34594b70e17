"""The query language of full-text search, independent of any engine.

A client's search text is read the forgiving way web search boxes read it (and PostgreSQL's
`websearch_to_tsquery` does): words are all required, `"quoted words"` are a phrase, `or`
between two terms accepts either, and a leading `-` excludes a term. Nothing is ever a syntax
error: unbalanced quotes end at the end of the text, and terms without a letter or digit are
dropped. Each engine receives the result in its own terms (an FTS5 query string, PostgreSQL
`phraseto_tsquery` calls), always as bound values, so the engine's own query syntax is never
exposed to the client and no input can make the engine fail.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

MAX_TERMS = 32
"""Terms kept from one query; a longer query keeps its first ones (bounds the engine's work)."""

_SAFE_ID = re.compile(r"^[A-Za-z0-9_]{1,40}$")


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """`groups` must all match (each group: any of its terms); no term of `excluded` may match."""

    groups: tuple[tuple[str, ...], ...]
    excluded: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """Nothing to look for: such a query matches no record."""
        return not self.groups


def index_name(collection_id: str) -> str:
    """The name of a collection's search index (FTS5 table or GIN index); stable across renames."""
    if _SAFE_ID.match(collection_id):
        return "_fts_" + collection_id
    return "_fts_" + hashlib.sha256(collection_id.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def _clean(text: str) -> str:
    # NUL cannot travel to PostgreSQL and lone surrogates cannot be encoded: neither is searchable
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", " ")


def _has_token(term: str) -> bool:
    return any(ch.isalnum() for ch in term)


def _scan(text: str) -> list[tuple[str, bool, bool]]:
    """(term, negated, quoted) in order; an unquoted `or` is returned as the term "or", unquoted."""
    out: list[tuple[str, bool, bool]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        negated = ch == "-"
        if negated:
            i += 1
        if i < n and text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            out.append((text[i + 1 : end], negated, True))
            i = end + 1
            continue
        start = i
        while i < n and not text[i].isspace() and text[i] != '"':
            i += 1
        out.append((text[start:i], negated, False))
    return out


@lru_cache(maxsize=512)
def parse_query(text: str) -> SearchQuery:
    """Read a search text (any string) into a SearchQuery; never raises."""
    groups: list[list[str]] = []
    excluded: list[str] = []
    pending_or = False
    for term, negated, quoted in _scan(_clean(text)):
        if not quoted and not negated and term.lower() == "or":
            pending_or = bool(groups)
            continue
        if not _has_token(term) or len(groups) + len(excluded) >= MAX_TERMS:
            continue
        if negated:
            excluded.append(term)
        elif pending_or:
            groups[-1].append(term)
        else:
            groups.append([term])
        pending_or = False
    return SearchQuery(tuple(tuple(g) for g in groups), tuple(excluded))


# ----------------------------------------------------------------------------------- SQLite FTS5
def _fts5_string(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def to_fts5(query: SearchQuery) -> str:
    """The FTS5 query string: every term a quoted string, so FTS5 only ever tokenizes it."""
    positive = " AND ".join("(" + " OR ".join(_fts5_string(t) for t in g) + ")" for g in query.groups)
    if not query.excluded:
        return positive
    return f"({positive}) NOT (" + " OR ".join(_fts5_string(t) for t in query.excluded) + ")"


# ------------------------------------------------------------------------ matching plain values
def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    """Words as FTS5's `unicode61 remove_diacritics 2` tokenizer sees them (letters and digits)."""
    return re.findall(r"[^\W_]+", _fold(text))


def _contains(haystack: list[str], phrase: list[str]) -> bool:
    if not phrase:
        return False
    k = len(phrase)
    return any(haystack[i : i + k] == phrase for i in range(len(haystack) - k + 1))


def matches(text: str, values: tuple[object, ...]) -> bool:
    """Whether stored values meet a search text, as the FTS5 index would answer.

    Serves checks on values that are not (or no longer) in the table: realtime filters and
    rules evaluated on a record's values, create rules before the insert.
    """
    query = parse_query(text)
    if query.empty:
        return False
    columns = [tokens(v) for v in values if isinstance(v, str) and v]

    def hit(term: str) -> bool:
        phrase = tokens(term)
        return any(_contains(col, phrase) for col in columns)

    return all(any(hit(t) for t in g) for g in query.groups) and not any(hit(t) for t in query.excluded)
