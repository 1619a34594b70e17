"""Loading a submitted body into a record and validating it (PocketBase's record upsert form).

Order matters for compatible errors: auth form checks (email/verified changes, password
confirmation, old password) come first and alone; only when they pass are the fields validated.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from satchel.core.errors import ErrorTree, FieldError, ValidationError, required
from satchel.core.fields.base import ValueContext
from satchel.core.fields.file import FileField
from satchel.core.fields.password import PasswordField
from satchel.core.records.file_values import apply_modifier, current_items, file_error, set_items, without_uploads
from satchel.core.records.model import Record
from satchel.tools.ids import random_string_by_regex
from satchel.tools.passwords import hash_password, verify_password

FORM_ONLY_AUTH_KEYS = ("passwordConfirm", "oldPassword")


class Access(IntEnum):
    DEFAULT = 0
    MANAGER = 1
    SUPERUSER = 2


@dataclass(slots=True)
class PasswordInput:
    password: str = ""
    confirm: str = ""
    old: str = ""
    given: bool = False


def _as_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def split_modifier(key: str) -> tuple[str, str | None]:
    """`views+` -> ("views", "append"), `+tags` -> ("tags", "prepend"), `tags-` -> ("tags", "remove")."""
    if key.endswith("+"):
        return key[:-1], "append"
    if key.startswith("+"):
        return key[1:], "prepend"
    if key.endswith("-"):
        return key[:-1], "remove"
    return key, None


def load_body(record: Record, body: dict[str, Any], access: Access) -> PasswordInput:
    """Apply submitted values (with modifiers) to `record`; returns the auth password inputs."""
    collection = record.collection
    pw = PasswordInput()
    if collection.is_auth:
        if "password" in body:
            pw.password, pw.given = _as_str(body["password"]), True
        pw.confirm = _as_str(body.get("passwordConfirm", ""))
        pw.old = _as_str(body.get("oldPassword", ""))
    is_auth = collection.is_auth
    # plain keys first, then modifiers, so `{"tags": [...], "tags+": "x"}` works as in PocketBase
    plain: list[tuple[str, str | None, Any]] = []
    modified: list[tuple[str, str | None, Any]] = []
    for key, raw in body.items():
        if key in ("expand", "collectionId", "collectionName") or (is_auth and key in FORM_ONLY_AUTH_KEYS):
            continue
        name, modifier = split_modifier(key)
        (plain if modifier is None else modified).append((name, modifier, raw))
    for name, modifier, raw in (*plain, *modified):
        field = collection.field(name)
        if field is None or field.type == "autodate":
            continue
        if is_auth and name == "password":
            continue  # hashed after validation
        if field.hidden and access < Access.SUPERUSER:
            continue
        if isinstance(field, FileField):
            set_items(record, field, apply_modifier(field, current_items(record, field), modifier, raw))
            continue
        raw, given = without_uploads(raw)
        if not given:
            continue  # only files under a key that is not a file field: PocketBase never sees them
        if modifier is None:
            record.set(name, field.coerce(raw))
        else:
            record.set(name, field.modify(record.get(name, field.zero()), modifier, raw))
    return pw


def resolved_body(record: Record, body: dict[str, Any]) -> dict[str, Any]:
    """The body as rules see it (`@request.body.*`): every key naming a field, modifiers included,
    replaced by that field's final coerced value under its plain name, as PocketBase does."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        name, _ = split_modifier(key)
        field = record.collection.field(name)
        if field is None or (record.collection.is_auth and name == "password"):
            kept, given = without_uploads(value)
            if given:
                out[key] = kept
        else:
            out[name] = record.get(name, field.zero())
    return out


def _mismatch() -> FieldError:
    return FieldError("validation_values_mismatch", "Values don't match.")


def validate_auth_form(record: Record, pw: PasswordInput, access: Access) -> None:
    if not record.collection.is_auth:
        return
    original = record.original or {}
    is_new = record.is_new
    manage = access >= Access.MANAGER
    errors: ErrorTree = {}
    if not is_new and not manage and record.get("email") != original.get("email"):
        errors["email"] = _mismatch()
    original_verified = bool(original.get("verified", False))
    if not manage and bool(record.get("verified")) != original_verified:
        errors["verified"] = _mismatch()
    if (is_new or pw.confirm or pw.old) and not pw.password:
        errors["password"] = required()
    if (is_new or pw.password or pw.old) and not pw.confirm:
        errors["passwordConfirm"] = required()
    elif pw.confirm != pw.password:
        errors["passwordConfirm"] = _mismatch()
    if not is_new and not manage and (pw.password or pw.confirm):
        if not pw.old:
            errors["oldPassword"] = required()
        elif not verify_password(str(original.get("password", "")), pw.old):
            errors["oldPassword"] = FieldError("validation_invalid_old_password", "Missing or invalid old password.")
    if errors:
        raise ValidationError(None, errors)


async def validate_fields(record: Record, ctx: ValueContext, pw: PasswordInput) -> None:
    """Fill derived values, then validate each field; raises ValidationError with every failing field."""
    errors: ErrorTree = {}
    for field in record.collection.fields:
        record.set(field.name, field.before_save(record.get(field.name, field.zero()), ctx))
    new_secrets: list[tuple[str, str]] = []
    for field in record.collection.fields:
        if record.collection.is_auth and field.name == "password":
            err = _validate_password(record, field, pw)
        elif isinstance(field, PasswordField):
            err, plain = _validate_secret(record, field)
            if plain:
                new_secrets.append((field.name, plain))
        elif isinstance(field, FileField):
            err = await file_error(record, field, ctx)
        else:
            err = await field.validate(record.get(field.name, field.zero()), ctx)
        if err is not None:
            errors[field.name] = err
    if errors:
        raise ValidationError(None, errors)
    for name, plain in new_secrets:
        record.set(name, hash_password(plain))


def _validate_secret(record: Record, field: PasswordField) -> tuple[FieldError | None, str]:
    """A password field other than an auth record's own: a changed value is a new plaintext to hash.

    (error, the plaintext to hash or ""). The stored value is always a hash and is exported as ""
    (PocketBase), so a client that sends back what it read leaves the secret as it was.
    """
    value = str(record.get(field.name) or "")  # already text: numbers are cast on input, as PocketBase
    stored = (record.original or {}).get(field.name, "")
    if value == "" or value == stored:
        record.set(field.name, stored or "")
        return (required() if field.required and not stored else None), ""
    return field.validate_plain(value), value


def _validate_password(record: Record, field: Any, pw: PasswordInput) -> FieldError | None:
    if pw.password:
        err: FieldError | None = field.validate_plain(pw.password)
        return err
    if field.required and not record.get("password"):
        return required()
    return None


def finalize_password(record: Record, pw: PasswordInput) -> None:
    """Hash a new password; on that or an email change rotate tokenKey, revoking every earlier token.

    The email counts too (PocketBase 0.40.6, probed): a token issued to the old address must not
    outlive a change made by a manager or a superuser.
    """
    if not record.collection.is_auth:
        return
    email_changed = not record.is_new and record.get("email") != (record.original or {}).get("email")
    if not pw.password and not email_changed:
        return
    if pw.password:
        record.set("password", hash_password(pw.password))
    token_key = record.collection.field("tokenKey")
    pattern = getattr(token_key, "autogenerate_pattern", "") or "[a-zA-Z0-9]{50}"
    record.set("tokenKey", random_string_by_regex(pattern))
