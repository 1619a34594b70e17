"""A superuser's mutations leave audit entries (`satchel.core.logs.audit_entry`), one per mutation.

The request log cannot say which records a `POST /api/graphql` touched (so it leaves that request to
this module: `AUDITED_BY_HANDLER`, and a query is not audited at all), and a mutation sent over the
WebSocket is no HTTP request at all: without this, a superuser could change records through GraphQL
and leave no trail. Each entry reads as the REST request doing the same
(`PATCH /api/collections/posts/records/ID`, its field names, the status REST would answer), with
`route` `/api/graphql` telling how it came and `action.graphql` what the operation was: its transport
(`http`, `websocket`), operation name, the mutation's root field and the names of the variables the
operation declares, never their values (a `data` variable may hold a password).

Its `requestId` is the HTTP request's, or over the WebSocket the session's (whose own request entry
is written only when the session ends), so the entry leads to the connection it came on. A mutation
whose operation the client `complete`s (or whose socket goes away) while it runs is audited with
status 499, as gRPC logs a cancelled call: it may have written by then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from graphql import GraphQLResolveInfo

from satchel.apis.errors import STATUS_BY_KIND
from satchel.core.errors import SatchelError
from satchel.core.logs.audit_entry import MAX_NAME, AuditAction, audit_entry, field_names
from satchel.plugins.graphql.context import Context

ROUTE = "/api/graphql"
CANCELLED = 499
"""The client completed the operation (or left) while the mutation ran."""
T = TypeVar("T")


async def audited(
    ctx: Context,
    info: GraphQLResolveInfo[Any],
    method: str,
    collection: str,
    record_id: str,
    body: dict[str, Any],
    work: Awaitable[T],
) -> T:
    """`work`'s result; when the caller is a superuser, its audit entry whatever the outcome."""
    auth = ctx.request.auth
    if auth is None or not auth.is_superuser:
        return await work
    status = 500
    created_id = ""
    try:
        result = await work
        status = 200
        if not record_id and isinstance(result, dict):
            created_id = str(result.get("id", ""))
        return result
    except SatchelError as exc:
        status = STATUS_BY_KIND.get(exc.kind, 400)
        raise
    except asyncio.CancelledError:
        status = CANCELLED
        raise
    finally:
        url = f"/api/collections/{collection}/records" + (f"/{record_id}" if record_id else "")
        action = AuditAction(
            method=method,
            path=url,
            route=ROUTE,
            status=status,
            auth_id=auth.id,
            auth_email=str(auth.get("email") or ""),
            user_ip=ctx.request.ip,
            remote_ip=ctx.remote_ip,
            request_id=ctx.request_id,
            api_key_id=ctx.api_key_id,
            collection=collection,
            record_id=record_id or created_id,
            body=body,
            details={"graphql": operation(ctx, info)},
        )
        ctx.app.logs.add(*audit_entry(action), audit=True)


def operation(ctx: Context, info: GraphQLResolveInfo[Any]) -> dict[str, Any]:
    """`action.graphql`: how the operation came, its name, the root field and the variables' names."""
    name = info.operation.name
    declared = {d.variable.name.value: None for d in info.operation.variable_definitions or ()}
    return {
        "transport": ctx.transport,
        "operationName": name.value[:MAX_NAME] if name is not None else "",
        "field": info.field_name[:MAX_NAME],
        "variables": field_names(declared),  # as the document declares them: names only
    }
