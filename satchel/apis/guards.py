"""Route guards shared by endpoint modules (PocketBase's RequireAuth / RequireSuperuserAuth)."""

from __future__ import annotations

from starlette.requests import Request

from satchel.core.errors import ForbiddenError, UnauthorizedError
from satchel.core.records.model import Record


def require_auth(request: Request) -> Record:
    auth: Record | None = getattr(request.state, "auth", None)
    if auth is None:
        raise UnauthorizedError()
    return auth


def require_superuser(request: Request) -> Record:
    auth = require_auth(request)
    if not auth.is_superuser:
        raise ForbiddenError("The authorized record is not allowed to perform this action.")
    return auth
