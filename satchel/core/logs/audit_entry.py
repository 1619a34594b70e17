"""What a superuser's action leaves in `_logs`: who, what, when and from where, never a value.

A superuser can read and change everything, so what one did is kept apart from the request log:
an entry of its own (`data.type = "audit"`, `data.audit = true`, level WARN) for every request that
may change something (any method but GET, HEAD and OPTIONS), whatever its outcome. It names the
superuser (id and email, and the API key when one was used), the route and its collection and record,
the names of the body fields the request sent (a password or an SMTP password is named, its value is
never read), the status, and the client address resolved through `trustedProxy`. Unlike request
entries it ignores `logAuthId`/`logIP` (an audit trail without its "who" and "where" is no trail) and
`minLevel`; like them it is kept only while log retention is on (`logs.maxDays` > 0).

Filter them in the dashboard or through `/api/logs?filter=data.audit=true` (and, say,
`data.action.collection="posts"` or `data.actor.email="admin@example.com"`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from satchel.core.logs.model import WARN

AUDIT_TYPE = "audit"
MAX_FIELDS = 200
"""Field names kept per entry (a body with more names is hostile or a bulk import: the count is kept)."""
MAX_NAME = 100
MAX_BATCH = 100
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SIGN_IN_ROUTES = frozenset(
    f"/api/collections/{{collection}}/{name}" for name in ("auth-with-password", "auth-with-otp", "auth-with-oauth2")
)
"""Sign-ins into `_superusers` are audited too, successful or not: the caller is not a superuser
yet, so `actor` holds the identity it claimed (never the password) and `action.status` the outcome."""


@dataclass(slots=True)
class AuditAction:
    """One request of a superuser, as the HTTP layer saw it."""

    method: str
    path: str
    route: str
    status: int
    auth_id: str
    auth_email: str
    user_ip: str
    remote_ip: str
    request_id: str = ""
    api_key_id: str = ""
    collection: str = ""
    record_id: str = ""
    body: dict[str, Any] = field(default_factory=dict)
    sign_in: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    """Added to `action`: what an action that is not a plain REST request adds to its entry (a
    GraphQL mutation's operation and root field)."""


def is_audited(method: str, is_superuser: bool) -> bool:
    return is_superuser and method.upper() not in SAFE_METHODS


def is_superuser_sign_in(method: str, route: str) -> bool:
    """A sign-in route (the caller checks the collection is `_superusers`)."""
    return method == "POST" and route in SIGN_IN_ROUTES


def field_names(body: object) -> list[str]:
    """The sorted top-level names of a request body (never its values)."""
    if not isinstance(body, dict):
        return []
    return sorted(str(name)[:MAX_NAME] for name in body)[:MAX_FIELDS]


def _batch(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The sub-requests of a batch: method, URL without query string, and field names."""
    requests = body.get("requests")
    if not isinstance(requests, list):
        return []
    out = []
    for item in requests[:MAX_BATCH]:
        if isinstance(item, dict):
            url = str(item.get("url", ""))
            out.append(
                {
                    "method": str(item.get("method", ""))[:10].upper(),
                    "url": url.partition("?")[0][:300],
                    "fields": field_names(item.get("body")),
                }
            )
    return out


def audit_entry(action: AuditAction) -> tuple[int, str, dict[str, Any]]:
    """(level, message, data) of the `_logs` entry for `action`.

    The details sit under `actor` and `action`, not at the top level where request entries keep their
    `status`, `method` and `url`: a filter written for request entries never picks up audit entries.
    """
    method = action.method.upper()[:10]
    record_id = action.record_id or str(action.body.get("id", ""))[:MAX_NAME]
    actor: dict[str, Any] = {
        "collection": "_superusers",
        "id": action.auth_id,
        "email": action.auth_email,
        "userIP": action.user_ip,
        "remoteIP": action.remote_ip,
    }
    if action.api_key_id:
        actor["apiKeyId"] = action.api_key_id
    what: dict[str, Any] = {
        "method": method,
        "route": action.route,
        "url": action.path[:3000],  # no query string: it may carry a token
        "status": action.status,
        "collection": action.collection,
        "recordId": record_id,
        "fields": field_names(action.body),
        "fieldCount": len(action.body),
    }
    if action.route == "/api/batch":
        what["batch"] = _batch(action.body)
    what.update(action.details)
    data: dict[str, Any] = {"type": AUDIT_TYPE, "audit": True, "actor": actor, "action": what}
    if action.request_id:
        data["requestId"] = action.request_id
    what_kind = "sign-in" if action.sign_in else "action"
    if action.sign_in:
        what["signIn"] = True
    return WARN, f"Superuser {what_kind}: {method} {action.path}", data
