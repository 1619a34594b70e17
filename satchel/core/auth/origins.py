"""Auth origins and the new-location alert (PocketBase's `_authOrigins` and `authAlert`).

Each successful sign-in of a collection with `authAlert.enabled` leaves an origin: a fingerprint
of the client's IP and user agent, per record. When a record that already has origins signs in
from one it has not used, its owner gets the `authAlert` mail; a first sign-in never alerts.

As in PocketBase: the fingerprint is the MD5 of the IP and the (cut) user agent, so the origins of
an instance moved over from PocketBase keep matching; the origin is saved only once the alert went
out, so a failed alert is tried again at the next sign-in from there; at most five origins are
kept per record (the least recently used go); a password change forgets them all, since a new
password is the answer to an alert; and none of this can fail a sign-in (problems are logged).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import TYPE_CHECKING

from satchel.core import mails
from satchel.core.auth import refs
from satchel.core.errors import SatchelError
from satchel.core.records.model import Record
from satchel.core.records.upsert import PasswordInput, validate_fields
from satchel.ports.database import DatabaseError, Executor
from satchel.ports.mailer import MailError
from satchel.tools.datetime import now_str
from satchel.tools.ids import random_id

if TYPE_CHECKING:
    from satchel.core.app import App

log = logging.getLogger("satchel.auth.origins")

COLLECTION = "_authOrigins"
TEMPLATE = ("authAlert", "emailTemplate")
MAX_ORIGINS = 5
ALERT_TIMEOUT_S = 15.0
"""How long a sign-in waits for the alert mail (PocketBase's bound) before giving up on it."""
MAX_USER_AGENT = 200
SILENT_METHODS = ("", "refresh", "impersonate")
"""Token answers that are not a sign-in: PocketBase passes no auth method for them."""


def _user_agent_bytes(user_agent: str) -> bytes:
    # header values arrive latin-1 decoded; PocketBase cuts the raw bytes
    raw = user_agent.encode("latin-1", errors="replace")
    return raw[:MAX_USER_AGENT] + b"..." if len(raw) > MAX_USER_AGENT else raw


def fingerprint(ip: str, user_agent: str) -> str:
    digest = hashlib.md5(ip.encode() + _user_agent_bytes(user_agent), usedforsecurity=False)
    return digest.hexdigest()


def alert_info(ip: str, user_agent: str) -> str:
    """`{ALERT_INFO}`: "2006-01-02 15:04:05.000Z - IP USER_AGENT", as PocketBase writes it."""
    return f"{now_str()} - {ip} {_user_agent_bytes(user_agent).decode('utf-8', errors='replace')}"


def alerts_enabled(record: Record, method: str) -> bool:
    return method not in SILENT_METHODS and bool(record.collection.auth.get("authAlert", {}).get("enabled"))


async def track(app: App, record: Record, method: str, ip: str, user_agent: str) -> None:
    """Record this sign-in's origin and alert on a new one; never raises for the caller's sake."""
    if not alerts_enabled(record, method):
        return
    try:
        await _track(app, record, ip, user_agent)
    except (MailError, DatabaseError, SatchelError, TimeoutError) as exc:
        log.warning("auth origin of %s %s not recorded: %s", record.collection_name, record.id, exc)


async def find_all(app: App, record: Record, ex: Executor | None = None) -> list[Record]:
    """The record's origins, most recently created first."""
    return await refs.find_all(app, refs.AUTH_ORIGINS, record, ex)


async def _track(app: App, record: Record, ip: str, user_agent: str) -> None:
    collection = app.collections.get(COLLECTION)
    if collection is None:
        return
    origins = await find_all(app, record)
    fp = fingerprint(ip, user_agent)
    current = next((o for o in origins if o.get("fingerprint") == fp), None)
    if current is None and origins and record.get("email"):
        info = alert_info(ip, user_agent)
        await asyncio.wait_for(mails.send_record_mail(app, record, TEMPLATE, ALERT_INFO=info), ALERT_TIMEOUT_S)
    async with app.db.transaction() as tx:
        if current is None:
            for old in origins[MAX_ORIGINS - 1 :]:
                await app.records.delete_record(old, tx)
            current = Record(collection, {f.name: f.zero() for f in collection.fields})
            current.data.update(id=random_id(), collectionRef=record.collection_id, recordRef=record.id, fingerprint=fp)
        # saved even when known: `updated` tells when the origin was last used
        await validate_fields(current, app.records.value_context(current, tx), PasswordInput())
        await app.records.save_record(current, tx)


async def forget(app: App, record: Record, ex: Executor) -> None:
    """Delete every origin of `record` (inside the caller's transaction)."""
    for origin in await find_all(app, record, ex):
        await app.records.delete_record(origin, ex)
