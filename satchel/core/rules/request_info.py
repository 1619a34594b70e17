"""What a rule may know about the request: PocketBase's `@request.*` namespace.

Built once per request by the API layer (REST, realtime, GraphQL, gRPC alike) and handed to
core services, which is how one access policy serves every API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from satchel.core.records.model import Record

# `@request.context` values, as PocketBase names them.
CONTEXT_DEFAULT = "default"
CONTEXT_OAUTH2 = "oauth2"
CONTEXT_OTP = "otp"
CONTEXT_PASSWORD = "password"  # noqa: S105 - a context name, not a secret
CONTEXT_REALTIME = "realtime"
CONTEXT_PROTECTED_FILE = "protectedFile"


@dataclass(slots=True)
class RequestInfo:
    auth: Record | None = None
    method: str = "GET"
    context: str = CONTEXT_DEFAULT
    query: dict[str, Any] = field(default_factory=dict)
    """Query parameters; a repeated key keeps its last value (as PocketBase)."""
    headers: dict[str, str] = field(default_factory=dict)
    """Header names lower-cased with `-` replaced by `_` (as `@request.headers.x_token`)."""
    body: dict[str, Any] = field(default_factory=dict)
    """The submitted body (JSON or multipart fields, modifiers as sent)."""
    scopes: Mapping[str, frozenset[str]] | None = None
    """Set when an API key authenticated the request: collection id (or `*`) -> allowed record
    actions (see `core.rules.scopes`). None means no key, so nothing beyond the rules applies."""
    ip: str = ""
    """The client's address as PocketBase's RealIP finds it (auth origins); not visible to rules."""

    @property
    def is_superuser(self) -> bool:
        return self.auth is not None and self.auth.is_superuser

    @property
    def auth_id(self) -> str:
        return self.auth.id if self.auth is not None else ""
