"""A superuser's mutations leave audit entries (`satchel.core.logs.audit_entry`), one per mutation.

The request log audits a superuser's `POST /api/graphql` as a whole, but cannot say which records
its operation touched, and a mutation sent over the WebSocket is no HTTP request at all: without
this, a superuser could change records through GraphQL and leave no trail. Each entry reads as the
REST request doing the same (`PATCH /api/collections/posts/records/ID`, its field names, the status
REST would answer), with `route` `/api/graphql` telling how it came.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from satchel.apis.errors import STATUS_BY_KIND
from satchel.core.errors import SatchelError
from satchel.core.logs.audit_entry import AuditAction, audit_entry
from satchel.plugins.graphql.context import Context

ROUTE = "/api/graphql"
T = TypeVar("T")


async def audited(
    ctx: Context, method: str, collection: str, record_id: str, body: dict[str, Any], work: Awaitable[T]
) -> T:
    """`work`'s result; when the caller is a superuser, its audit entry whatever the outcome."""
    auth = ctx.request.auth
    if auth is None or not auth.is_superuser:
        return await work
    status = 200
    try:
        result = await work
    except SatchelError as exc:
        status = STATUS_BY_KIND.get(exc.kind, 400)
        raise
    except Exception:
        status = 500
        raise
    finally:
        url = f"/api/collections/{collection}/records" + (f"/{record_id}" if record_id else "")
        if status == 200 and not record_id and isinstance(result, dict):
            record_id = str(result.get("id", ""))
        action = AuditAction(
            method=method,
            path=url,
            route=ROUTE,
            status=status,
            auth_id=auth.id,
            auth_email=str(auth.get("email") or ""),
            user_ip=ctx.request.ip,
            remote_ip=ctx.request.ip,
            collection=collection,
            record_id=record_id,
            body=body,
        )
        ctx.app.logs.add(*audit_entry(action), audit=True)
    return result
