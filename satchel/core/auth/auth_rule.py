"""The collection's `authRule`, checked before a flow answers with a token (PocketBase's CanAccessRecord).

The rule is evaluated with the request as it came (its `@request.auth` is whoever sent a token,
usually nobody) against the record about to sign in; null means superusers only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from satchel.core.auth.superusers import superuser_ip_allowed
from satchel.core.errors import ForbiddenError
from satchel.core.records.model import Record
from satchel.core.rules.request_info import RequestInfo
from satchel.core.rules.resolver import FilterError

if TYPE_CHECKING:
    from satchel.core.app import App

REFUSED = "The request doesn't satisfy the collection requirements to authenticate."


async def require(app: App, record: Record, request: RequestInfo) -> None:
    if record.is_superuser and not superuser_ip_allowed(app.settings.current, request.ip):
        raise ForbiddenError()  # PocketBase's empty-message 403: the whitelist is not advertised
    rule = record.collection.auth.get("authRule", "")
    try:
        allowed = await app.records.matches_rule(record.collection, record.id, rule, request)
    except FilterError as exc:
        raise ForbiddenError(REFUSED) from exc
    if not allowed:
        raise ForbiddenError(REFUSED)
