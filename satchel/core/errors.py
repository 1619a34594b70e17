"""Domain errors.

Core code raises these; only `satchel.apis` turns them into PocketBase's `{status, message, data}`
envelope (and GraphQL/gRPC map them their own way). Each carries a safe, client-facing message and,
for validation failures, per-field codes in PocketBase's shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldError:
    """One field's validation failure, rendered as `{"code": ..., "message": ...}`."""

    code: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.params:
            out["params"] = self.params
        return out


# Nested error maps: a key maps to a FieldError or to another map (e.g. `fields.3.name`).
ErrorTree = dict[str, "FieldError | ErrorTree"]


def errors_to_json(tree: ErrorTree) -> dict[str, Any]:
    return {k: v.to_json() if isinstance(v, FieldError) else errors_to_json(v) for k, v in tree.items()}


class SatchelError(Exception):
    """Base of every error a client may see; `message` is safe to show."""

    kind = "bad_request"
    default_message = "Something went wrong while processing your request."

    def __init__(self, message: str | None = None, data: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.data: dict[str, Any] = data or {}
        super().__init__(self.message)


class BadRequestError(SatchelError):
    kind = "bad_request"


class ValidationError(BadRequestError):
    """Input failed validation; `errors` holds the per-field codes."""

    def __init__(self, message: str | None, errors: ErrorTree) -> None:
        self.errors = errors
        super().__init__(message, errors_to_json(errors))


class NotFoundError(SatchelError):
    kind = "not_found"
    default_message = "The requested resource wasn't found."


class ForbiddenError(SatchelError):
    kind = "forbidden"
    default_message = "You are not allowed to perform this request."


class UnauthorizedError(SatchelError):
    kind = "unauthorized"
    default_message = "The request requires valid record authorization token."


class TooLargeError(SatchelError):
    kind = "too_large"
    default_message = "Request entity too large."


class RequestTimeoutError(SatchelError):
    """The client stalled while sending its request body (a slow-client attack holds a worker slot)."""

    kind = "request_timeout"
    default_message = "Request timeout."


class TooManyRequestsError(SatchelError):
    kind = "too_many_requests"
    default_message = "Too Many Requests."

    def __init__(self, message: str | None = None, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds the client should wait at most (sent as `Retry-After`); None when unknown."""


def required() -> FieldError:
    return FieldError("validation_required", "Cannot be blank.")


def invalid(message: str = "Invalid value.", code: str = "validation_invalid_value") -> FieldError:
    return FieldError(code, message)
