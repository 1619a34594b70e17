"""Turning a record into the JSON a given caller may see.

PocketBase's visibility rules: hidden fields only for superusers, `password` and `tokenKey`
never; an auth record's `email` only for the owner, superusers, managers, or when the
record's `emailVisibility` is on.
"""

from __future__ import annotations

from typing import Any

from satchel.core.records.model import Record
from satchel.core.records.plans import MASKED, visible_fields
from satchel.core.rules.request_info import RequestInfo


def can_see_email(record: Record, request: RequestInfo | None, *, manager: bool = False) -> bool:
    if not record.collection.is_auth:
        return True
    if request is not None and (request.is_superuser or manager):
        return True
    if record.get("emailVisibility") is True:
        return True
    auth = request.auth if request is not None else None
    return auth is not None and auth.collection_id == record.collection_id and auth.id == record.id


def export_record(
    record: Record,
    request: RequestInfo | None,
    *,
    manager: bool = False,
    show_hidden: bool | None = None,
) -> dict[str, Any]:
    """The record's public JSON object (without `expand`; the caller adds it)."""
    superuser = request is not None and request.is_superuser
    reveal_hidden = superuser if show_hidden is None else show_hidden
    data = record.data
    out: dict[str, Any] = {
        name: "" if zero is MASKED else data.get(name, zero)
        for name, zero in visible_fields(record.collection, reveal_hidden)
    }
    if record.collection.is_auth and "email" in out and not can_see_email(record, request, manager=manager):
        del out["email"]
    out["collectionId"] = record.collection.id
    out["collectionName"] = record.collection.name
    if record.expand:
        out["expand"] = record.expand
    return out
