"""Creating or updating superusers outside any request (CLI, first-run setup)."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from satchel.core.collections.model import SUPERUSERS
from satchel.core.errors import NotFoundError, ValidationError
from satchel.core.records.model import Record
from satchel.core.records.upsert import Access, finalize_password, load_body, validate_fields
from satchel.tools.ids import random_id
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App


async def find_superuser(app: App, email: str) -> Record | None:
    from satchel.core.records import storage

    collection = app.collections.get(SUPERUSERS)
    if collection is None:
        raise NotFoundError("Missing _superusers collection.")
    cond = ir.eq(ir.Func("LOWER", (ir.col(SUPERUSERS, "email"),)), ir.Func("LOWER", (ir.Param(email),)))
    row = await app.db.executor().fetch_one(
        ir.Select((ir.Star(SUPERUSERS),), ir.Table(SUPERUSERS), where=cond, limit=1)
    )
    return storage.record_from_row(collection, row) if row is not None else None


async def upsert_superuser(app: App, email: str, password: str) -> Record:
    """Create the superuser, or reset its password (which also revokes its tokens)."""
    collection = app.collections.get(SUPERUSERS)
    if collection is None:
        raise NotFoundError("Missing _superusers collection.")
    record = await find_superuser(app, email)
    if record is None:
        record = Record(collection, {f.name: f.zero() for f in collection.fields})
        record.set("id", random_id())
    body = {"email": email, "password": password, "passwordConfirm": password, "verified": True}
    pw = load_body(record, body, Access.SUPERUSER)
    async with app.db.transaction() as tx:
        await validate_fields(record, app.records.value_context(record, tx), pw)
        finalize_password(record, pw)
        await app.records.save_record(record, tx)
    return record


async def delete_superuser(app: App, email: str) -> bool:
    record = await find_superuser(app, email)
    if record is None:
        return False
    async with app.db.transaction() as tx:
        await app.records.delete_record(record, tx)
    return True


__all__ = ["ValidationError", "delete_superuser", "find_superuser", "upsert_superuser"]


def superuser_ip_allowed(settings: dict[str, Any], ip: str) -> bool:
    """Whether a superuser may act from `ip` under the `superuserIPs` setting (empty: anywhere).

    Entries are addresses or CIDR subnets; an unparsable entry or address never matches.
    """
    allowed = settings.get("superuserIPs") or []
    if not allowed:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for item in allowed:
        try:
            if address in ipaddress.ip_network(str(item), strict=False):
                return True
        except ValueError:
            continue
    return False
