"""Reading the small JSON forms of the auth flows the way PocketBase binds them.

A field that is present but not a string cannot be bound to PocketBase's form struct, so the
whole body "cannot be loaded" (400 without field errors); absent or null reads as "".
"""

from __future__ import annotations

from typing import Any

from satchel.core.errors import BadRequestError, ErrorTree, FieldError, ValidationError, required

LOAD_ERROR = "An error occurred while loading the submitted data."
INVALID = "An error occurred while validating the submitted data."


def strings(body: dict[str, Any], *keys: str) -> list[str]:
    out: list[str] = []
    for key in keys:
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise BadRequestError(LOAD_ERROR)
        out.append(value or "")
    return out


def length_error(lo: int, hi: int) -> FieldError:
    return FieldError(
        "validation_length_out_of_range", f"The length must be between {lo} and {hi}.", {"max": hi, "min": lo}
    )


def check_length(errors: ErrorTree, name: str, value: str, hi: int) -> None:
    """ozzo's Required + Length(1, hi) on one field."""
    if not value:
        errors[name] = required()
    elif len(value) > hi:
        errors[name] = length_error(1, hi)


def raise_errors(errors: ErrorTree) -> None:
    if errors:
        raise ValidationError(INVALID, errors)
