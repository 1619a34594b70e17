"""File tokens: short-lived proofs of identity that fit in a URL (`?token=`), for protected files.

An `<img src>` cannot carry an Authorization header, so PocketBase hands out a separate token
of type `file` that is good for nothing else and expires after the collection's `fileToken`
duration (3 minutes by default). It is signed with the record's tokenKey like every record token,
so a password change (or any tokenKey rotation) revokes it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from satchel.core.auth.email_flows import find_by_token
from satchel.core.auth.tokens import TYPE_FILE, issue_record_token
from satchel.core.errors import UnauthorizedError
from satchel.core.hooks import FileTokenRequestEvent
from satchel.core.records.model import Record

if TYPE_CHECKING:
    from satchel.core.app import App


async def issue_file_token(app: App, auth: Record | None) -> str:
    """A file token for the caller; 401 for guests (PocketBase's RequireAuth)."""
    if auth is None or not auth.collection.is_auth:
        raise UnauthorizedError()

    async def issue(e: FileTokenRequestEvent) -> None:
        e.token = issue_record_token(app.secret, e.record, TYPE_FILE)

    event = FileTokenRequestEvent(record=auth)
    await app.hooks.on_file_token_request.trigger(event, issue)
    return event.token


async def file_token_record(app: App, token: str) -> Record | None:
    """The auth record a valid, unexpired, unrevoked file token was issued to; None otherwise."""
    return await find_by_token(app, token, TYPE_FILE) if token else None
