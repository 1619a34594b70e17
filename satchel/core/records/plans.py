"""Per-collection precomputed plans for the two per-record hot loops: row decoding and export.

Listing 20 records used to re-derive, for every record and field, which converter applies and
which fields the caller may see. Both only depend on the collection (and the caller's class),
so they are computed once per collection object and reused until the collection is replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from satchel.core.collections.model import Collection

PLAIN_TEXT = frozenset({"text", "editor", "email", "url", "password"})
NEVER_EXPORTED = frozenset({"password", "tokenKey"})


class _Masked(str):
    """The exported value of a password field: an empty string that export recognises by identity."""

    __slots__ = ()


MASKED = _Masked("")

Decoder = tuple[tuple[str, Callable[[Any], Any] | None], ...]

_MAX = 512
_decoders: dict[int, tuple[Collection, Decoder]] = {}
_exports: dict[tuple[int, bool], tuple[Collection, tuple[tuple[str, Any], ...]]] = {}


def decoder(collection: Collection) -> Decoder:
    """(field name, converter) pairs; None where the stored text is already the value."""
    hit = _decoders.get(id(collection))
    if hit is not None and hit[0] is collection:
        return hit[1]
    plan = tuple((f.name, None if f.type in PLAIN_TEXT else f.from_db) for f in collection.fields)
    if len(_decoders) >= _MAX:
        _decoders.clear()
    _decoders[id(collection)] = (collection, plan)
    return plan


def visible_fields(collection: Collection, reveal_hidden: bool) -> tuple[tuple[str, Any], ...]:
    """(field name, zero value) of the fields a caller of this class may see, in schema order.

    A zero value of `MASKED` means the key is shown but never its value: password fields outside
    an auth record's own `password` export as "" for everyone, superusers included (PocketBase).
    """
    key = (id(collection), reveal_hidden)
    hit = _exports.get(key)
    if hit is not None and hit[0] is collection:
        return hit[1]
    plan = tuple(
        (f.name, MASKED if f.type == "password" else f.zero())
        for f in collection.fields
        if not (collection.is_auth and f.name in NEVER_EXPORTED) and (reveal_hidden or not f.hidden)
    )
    if len(_exports) >= _MAX:
        _exports.clear()
    _exports[key] = (collection, plan)
    return plan
