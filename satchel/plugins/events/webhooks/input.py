"""Validating what a superuser submits for a webhook; errors carry PocketBase field codes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from satchel.core.errors import ErrorTree, FieldError, ValidationError
from satchel.core.sealed_columns import looks_sealed

ACTIONS = ("create", "update", "delete")
MIN_SECRET = 16
MAX_SECRET = 256
MAX_NAME = 100
MAX_URL = 2000
MAX_COLLECTIONS = 100
INVALID = "An error occurred while validating the submitted data."


def _required() -> FieldError:
    return FieldError("validation_required", "Missing required value.")


def _url(value: Any) -> FieldError | None:
    if not isinstance(value, str) or not value:
        return _required()
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and len(value) <= MAX_URL
    except ValueError:
        ok = False
    return None if ok else FieldError("validation_invalid_url", "Must be a valid http(s) url.")


def _names(value: Any, allowed: tuple[str, ...] | None, known: set[str]) -> FieldError | None:
    if not isinstance(value, list) or len(value) > MAX_COLLECTIONS or not all(isinstance(v, str) for v in value):
        return FieldError("validation_invalid_value", "Must be a list of names.")
    if allowed is not None and any(v not in allowed for v in value):
        return FieldError("validation_invalid_value", f"Must be a list of: {', '.join(allowed)}.")
    if allowed is None and any(v not in known for v in value):
        return FieldError("validation_missing_collection", "Unknown collection.")
    return None


def parse(body: dict[str, Any], current: dict[str, Any] | None, collections: set[str]) -> dict[str, Any]:
    """The webhook's new values (`current` merged with `body`), or a ValidationError.

    `collections` holds every existing collection name and id: a filter naming none of them
    would silently never match.
    """
    merged = dict(current or {"name": "", "collections": [], "actions": [], "active": True})
    for key in ("name", "url", "collections", "actions", "secret", "active"):
        if key in body:
            merged[key] = body[key]
    errors: ErrorTree = {}
    checks: dict[str, FieldError | None] = {
        "url": _url(merged.get("url")),
        "collections": _names(merged.get("collections"), None, collections),
        "actions": _names(merged.get("actions"), ACTIONS, collections),
    }
    name = merged.get("name")
    if not isinstance(name, str) or len(name) > MAX_NAME:
        checks["name"] = FieldError(
            "validation_max_text_constraint", f"Must be a string of at most {MAX_NAME} characters."
        )
    secret = merged.get("secret")
    if not isinstance(secret, str) or not secret:
        checks["secret"] = _required()
    elif not MIN_SECRET <= len(secret) <= MAX_SECRET:
        checks["secret"] = FieldError(
            "validation_length_out_of_range", f"The length must be between {MIN_SECRET} and {MAX_SECRET}."
        )
    elif looks_sealed(secret):  # stored in clear (no key), it would be read back as a sealed one
        checks["secret"] = FieldError("validation_invalid_value", "Must not be an encrypted value.")
    if not isinstance(merged.get("active"), bool):
        checks["active"] = FieldError("validation_invalid_bool", "Must be a boolean.")
    errors.update({k: v for k, v in checks.items() if v is not None})
    if errors:
        raise ValidationError(INVALID, errors)
    merged["collections"] = list(dict.fromkeys(merged["collections"]))
    merged["actions"] = [a for a in ACTIONS if a in merged["actions"]]
    return merged
