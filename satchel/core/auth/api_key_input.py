"""Validation of an API key's editable fields: name, scopes and expiry.

Every problem is reported at once with a field code, in PocketBase's error shape (`scopes.1.actions`
and so on), and nothing is stored unless all of it is valid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from satchel.core.auth.api_key_store import StoredScope
from satchel.core.collections.model import Collection
from satchel.core.errors import ErrorTree, FieldError, invalid, required
from satchel.core.rules.scopes import ACTIONS, ANY
from satchel.tools.datetime import format_dt, parse_dt

MAX_NAME = 100
MAX_SCOPES = 50

UNKNOWN_COLLECTION = FieldError("validation_unknown_collection", "Missing or invalid collection.")
BAD_ACTION = FieldError("validation_in_invalid", f"Must be one of {', '.join(ACTIONS)} or {ANY}.")
INVALID_DATE = FieldError("validation_invalid_date", "Must be a valid date.")
DATE_IN_PAST = FieldError("validation_date_in_past", "Must be a date in the future.")

Finder = Callable[[str], Collection | None]


@dataclass(slots=True)
class KeyInput:
    """The submitted values; None for a field that was not sent (a PATCH keeps the stored one)."""

    name: str | None = None
    scopes: tuple[StoredScope, ...] | None = None
    expires: str | None = None
    """"" for "never expires"."""


def parse_key_input(body: dict[str, Any], find: Finder, *, partial: bool) -> tuple[KeyInput, ErrorTree]:
    """The valid values and the errors; with `partial` (PATCH) absent fields are not required."""
    out = KeyInput()
    errors: ErrorTree = {}
    if "name" in body or not partial:
        name, problem = _name(body.get("name"))
        out.name = name
        if problem is not None:
            errors["name"] = problem
    if "scopes" in body or not partial:
        scopes, problems = _scopes(body.get("scopes"), find)
        out.scopes = scopes
        if problems is not None:
            errors["scopes"] = problems
    if "expires" in body:
        expires, problem = _expires(body.get("expires"))
        out.expires = expires
        if problem is not None:
            errors["expires"] = problem
    elif not partial:
        out.expires = ""
    return out, errors


def _name(value: Any) -> tuple[str, FieldError | None]:
    if value is not None and not isinstance(value, str):
        return "", invalid("Must be a string.")
    name = (value or "").strip()
    if not name:
        return "", required()
    if len(name) > MAX_NAME:
        return "", FieldError(
            "validation_max_text_constraint", f"Must be no more than {MAX_NAME} character(s).", {"max": MAX_NAME}
        )
    return name, None


def _scopes(value: Any, find: Finder) -> tuple[tuple[StoredScope, ...], FieldError | ErrorTree | None]:
    if value is None or value == []:
        return (), required()
    if not isinstance(value, list):
        return (), invalid("Must be a list of {collection, actions} objects.")
    if len(value) > MAX_SCOPES:
        return (), FieldError("validation_too_many_values", f"Must have no more than {MAX_SCOPES} items.")
    merged: dict[str, set[str]] = {}
    errors: ErrorTree = {}
    for i, item in enumerate(value):
        parsed = _scope(item, find)
        if isinstance(parsed, tuple):
            merged.setdefault(parsed[0], set()).update(parsed[1])
        else:
            errors[str(i)] = parsed
    if errors:
        return (), errors
    return tuple(StoredScope(c, _canonical(actions)) for c, actions in merged.items()), None


def _scope(item: Any, find: Finder) -> tuple[str, set[str]] | FieldError | ErrorTree:
    """(collection id or `*`, actions) for one scope object, else its errors."""
    if not isinstance(item, dict):
        return invalid("Must be an object with collection and actions.")
    errors: ErrorTree = {}
    ref = item.get("collection")
    target = ""
    if not isinstance(ref, str) or not ref.strip():
        errors["collection"] = required()
    elif ref.strip() == ANY:
        target = ANY
    elif (collection := find(ref.strip())) is None:
        errors["collection"] = UNKNOWN_COLLECTION
    else:
        target = collection.id  # stored by id so a rename keeps the key working
    actions = item.get("actions")
    if not isinstance(actions, list) or not actions:
        errors["actions"] = required()
    elif not all(isinstance(a, str) and (a in ACTIONS or a == ANY) for a in actions):
        errors["actions"] = BAD_ACTION
    if errors:
        return errors
    return target, {str(a) for a in actions or ()}


def _canonical(actions: set[str]) -> tuple[str, ...]:
    return (ANY,) if ANY in actions else tuple(a for a in ACTIONS if a in actions)


def _expires(value: Any) -> tuple[str, FieldError | None]:
    if value is None or value == "":
        return "", None
    if not isinstance(value, str):
        return "", INVALID_DATE
    when = parse_dt(value)
    if when is None:
        return "", INVALID_DATE
    if when <= datetime.now(UTC):
        return "", DATE_IN_PAST
    return format_dt(when), None
