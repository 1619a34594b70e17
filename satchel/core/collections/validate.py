"""Collection validation with PocketBase's error codes, messages and precedence.

Like PocketBase (ozzo-validation), each key reports only its first failing check, in PocketBase's
order, and the whole tree is returned at once. Checks that need the database (existing tables,
index names used elsewhere, view queries) run on the caller's transaction, so an import sees the
collections it has just written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from satchel.core.auth.oauth2 import config as oauth2_config
from satchel.core.auth.oauth2 import registry as oauth2_registry
from satchel.core.collections import search
from satchel.core.collections.encrypted_fields import encrypted_field_errors
from satchel.core.collections.indexes import (
    IndexColumn,
    ParsedIndex,
    definition_key,
    find_single_column_unique,
    parse,
)
from satchel.core.collections.model import Collection
from satchel.core.collections.schema_sync import ViewQueryError, derive_view_fields, keep_field_ids
from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import Field, OptionsContext
from satchel.core.fields.bool import BoolField
from satchel.core.fields.email import EmailField
from satchel.core.fields.password import PasswordField
from satchel.core.fields.text import TextField
from satchel.ports.database import Database, Executor
from satchel.tools.keyring import KeyRing
from satchel.tools.sql import ir

NAME_RE = re.compile(r"^\w+$", re.ASCII)
"""Go's `\\w` (PocketBase's name pattern) is ASCII only; Python's would take any letter."""
TABLE_NAME_RE = re.compile(r"^[A-Za-z_]")
"""A collection name is a table name: Satchel's SQL compiler takes no identifier starting with a digit."""
RESERVED_FIELD_NAMES = ("null", "true", "false", "_rowid_", "collectionId", "collectionName", "expand")
RESERVED_AUTH_FIELD_NAMES = ("passwordConfirm", "oldPassword")
RULE_KEYS = ("listRule", "viewRule", "createRule", "updateRule", "deleteRule")
WRITE_RULE_KEYS = ("createRule", "updateRule", "deleteRule")

RuleChecker = Callable[[Collection, str], str | None]
"""Returns why a rule does not parse or resolve against the collection, or None."""


@dataclass(slots=True)
class Env:
    """What validation may consult besides the collection itself."""

    collections: Callable[[], list[Collection]]
    find: Callable[[str], Collection | None]
    check_rule: RuleChecker
    db: Database
    ex: Executor
    keys: KeyRing | None = None
    """The app's encryption keys: fields may be `encrypted` only when there is a current key."""


def sentence(text: str) -> str:
    """PocketBase's message normalisation: trimmed, first letter upper-cased, final period."""
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".?!" else text + "."


def length_error(lo: int, hi: int) -> FieldError:
    return FieldError(
        "validation_length_out_of_range", f"The length must be between {lo} and {hi}.", {"max": hi, "min": lo}
    )


MATCH_ERROR = FieldError("validation_match_invalid", "Must be in a valid format.")
VIA_ERROR = FieldError("validation_found_via", 'The value cannot contain "_via_".')


def rule_error(env: Env, c: Collection, rule: str | None) -> FieldError | None:
    if not rule:
        return None
    message = env.check_rule(c, rule)
    if message is None:
        return None
    return FieldError("validation_invalid_rule", sentence("Invalid rule. Raw error: " + message))


def system_rule_error(c: Collection, old: Collection | None, key: str) -> FieldError | None:
    if old is None or not old.system or c.rule(key) == old.rule(key):
        return None
    return FieldError("validation_collection_system_rule_change", "System collection API rule cannot be changed.")


# ----------------------------------------------------------------------------- id, type, name
async def _id_error(c: Collection, old: Collection | None, env: Env) -> FieldError | None:
    if not c.id:
        return required()
    if old is not None:
        return None if c.id == old.id else FieldError("validation_values_mismatch", "Values don't match.")
    if len(c.id) > 100:
        return length_error(1, 100)
    if not NAME_RE.match(c.id):
        return MATCH_ERROR
    if any(other.id == c.id for other in env.collections()):
        return FieldError("validation_invalid_or_existing_id", "The model id is invalid or already exists.")
    return None


def _type_error(c: Collection, old: Collection | None) -> FieldError | None:
    if not c.type:
        return required()
    if c.type not in ("base", "auth", "view"):
        return FieldError("validation_in_invalid", "Must be a valid value.")
    if old is not None and c.type != old.type:
        return FieldError("validation_collection_type_change", "Collection type cannot be changed.")
    return None


async def _name_error(c: Collection, old: Collection | None, env: Env) -> FieldError | None:
    name = c.name
    if not name:
        return required()
    if len(name) > 255:
        return length_error(1, 255)
    if "_via_" in name.lower():
        return VIA_ERROR
    if not NAME_RE.match(name) or not TABLE_NAME_RE.match(name):
        return MATCH_ERROR
    if old is not None and old.system and name != old.name:
        return FieldError("validation_collection_system_name_change", "System collection name cannot be changed.")
    others = env.collections()
    self_id = old.id if old is not None else ""
    if any(o.name.lower() == name.lower() and o.id != self_id for o in others):
        return FieldError("validation_collection_name_exists", "Collection name must be unique (case insensitive).")
    if any(o.id == name for o in others):
        return FieldError(
            "validation_collection_name_id_duplicate", "The name must not match an existing collection id."
        )
    renamed = old is None or old.name != name
    if renamed and not any(o.name.lower() == name.lower() for o in others) and await env.db.table_columns(name):
        return FieldError(
            "validation_collection_name_invalid", "The name shouldn't match with an existing internal table."
        )
    return None


# ------------------------------------------------------------------------------------ fields
def _duplicates(fields: list[Field]) -> ErrorTree | None:
    ids: set[str] = set()
    names: set[str] = set()
    for i, f in enumerate(fields):
        if f.id in ids:
            message = f'Duplicated or invalid field id "{f.id}".'
            return {str(i): {"id": FieldError("validation_duplicated_field_id", message)}}
        if f.name.lower() in names:
            message = f"Duplicated or invalid field name {f.name}."
            return {str(i): {"name": FieldError("validation_duplicated_field_name", message, {"fieldName": f.name})}}
        ids.add(f.id)
        names.add(f.name.lower())
    return None


_AUTH_REQUIRED: tuple[tuple[str, type[Field], bool], ...] = (
    ("password", PasswordField, True),
    ("tokenKey", TextField, True),
    ("email", EmailField, False),
    ("emailVisibility", BoolField, False),
    ("verified", BoolField, False),
)


def _min_fields(c: Collection) -> FieldError | ErrorTree | None:
    if not c.fields:
        return required()
    pk = c.field("id")
    if not isinstance(pk, TextField) or not pk.primary_key:
        return FieldError("validation_missing_primary_key", 'Missing or invalid "id" PK field.')
    if not c.is_auth:
        return None
    for name, cls, hidden in _AUTH_REQUIRED:
        f = c.field(name)
        if not isinstance(f, cls):
            return FieldError(f"validation_missing_{name}_field", f'System "{name}" field is required.')
        if hidden and not (f.hidden and f.system):
            msg = 'The field must be marked as "System" and "Hidden".'
            return {name: FieldError("validation_must_be_system_and_hidden", msg)}
        if not f.system:
            return {name: FieldError("validation_must_be_system", 'The field must be marked as "System".')}
    return None


def _system_fields_changed(c: Collection, old: Collection | None) -> FieldError | None:
    if old is None:
        return None
    for f in old.fields:
        if not f.system:
            continue
        new = c.field_by_id(f.id)
        if new is None or new.name != f.name:
            return FieldError("validation_system_field_change", "System fields cannot be deleted or renamed.")
    return None


def _type_changes(c: Collection, old: Collection | None) -> ErrorTree | None:
    if old is None:
        return None
    errors: ErrorTree = {}
    for i, f in enumerate(c.fields):
        before = old.field_by_id(f.id)
        if before is not None and before.type != f.type:
            errors[str(i)] = FieldError("validation_field_type_change", "Field type cannot be changed.")
    return errors or None


def _reserved_auth(c: Collection) -> ErrorTree | None:
    errors: ErrorTree = {}
    for i, f in enumerate(c.fields):
        if f.name in RESERVED_AUTH_FIELD_NAMES:
            msg = "The field name is reserved and cannot be used."
            errors[str(i)] = {"name": FieldError("validation_reserved_field_name", msg)}
    return errors or None


def common_field_errors(f: Field) -> ErrorTree:
    """The id/name/help checks every PocketBase field type runs before its own."""
    errors: ErrorTree = {}
    if not f.id:
        errors["id"] = required()
    elif len(f.id) > 100:
        errors["id"] = length_error(1, 100)
    name_error: FieldError | None = None
    if not f.name:
        name_error = required()
    elif len(f.name) > 100:
        name_error = length_error(1, 100)
    elif not NAME_RE.match(f.name):
        name_error = MATCH_ERROR
    elif f.name in RESERVED_FIELD_NAMES:
        name_error = FieldError("validation_not_in_invalid", "Must not be in list.")
    elif "_via_" in f.name.lower():
        name_error = VIA_ERROR
    if name_error is not None:
        errors["name"] = name_error
    if len(f.help) > 300:
        errors["help"] = length_error(1, 300)
    return errors


def field_settings_errors(c: Collection, old: Collection | None, env: Env) -> ErrorTree:
    ctx = OptionsContext(collection=c, old=old, find_collection=env.find)
    errors: ErrorTree = {}
    for i, f in enumerate(c.fields):
        fe = {**f.validate_options(ctx), **common_field_errors(f)}
        if fe:
            errors[str(i)] = fe
    return errors


def _fields_error(c: Collection, old: Collection | None, env: Env) -> FieldError | ErrorTree | None:
    checks: list[Callable[[], FieldError | ErrorTree | None]] = [
        lambda: _duplicates(c.fields),
        lambda: _min_fields(c),
    ]
    if not c.is_view:
        checks += [lambda: _system_fields_changed(c, old), lambda: _type_changes(c, old)]
    if c.is_auth:
        checks.append(lambda: _reserved_auth(c))
    checks.append(lambda: field_settings_errors(c, old, env) or None)
    checks.append(lambda: encrypted_field_errors(c, env.keys))
    for check in checks:
        problem = check()
        if problem:
            return problem
    return None


# ----------------------------------------------------------------------------------- indexes
def _lower(e: ir.Expr) -> ir.Expr:
    return ir.Func("LOWER", (e,))


async def _index_owner(env: Env, c: Collection, old: Collection | None, index_name: str) -> str:
    table = ir.Table("sqlite_master")
    where = ir.Binary(
        "AND",
        ir.eq(ir.col("type"), ir.Param("index")),
        ir.Binary(
            "AND",
            ir.eq(_lower(ir.col("name")), _lower(ir.Param(index_name))),
            ir.InList(
                _lower(ir.col("tbl_name")),
                (_lower(ir.Param(c.name)), _lower(ir.Param(old.name if old else ""))),
                negate=True,
            ),
        ),
    )
    value = await env.ex.fetch_value(ir.Select((ir.col("tbl_name"),), table, where=where, limit=1))
    return str(value or "")


async def _indexes_error(c: Collection, old: Collection | None, env: Env) -> FieldError | ErrorTree | None:
    if c.is_view and c.indexes:
        return FieldError("validation_indexes_not_supported", "View collections don't support indexes.")
    names: set[str] = set()
    definitions: set[str] = set()
    for i, sql in enumerate(c.indexes):
        idx = parse(sql).with_table("validator")
        if not idx.is_valid:
            return {str(i): FieldError("validation_invalid_index_expression", "Invalid CREATE INDEX expression.")}
        if idx.name.lower() in names:
            return {str(i): FieldError("validation_duplicated_index_name", "The index name already exists.")}
        names.add(idx.name.lower())
        owner = await _index_owner(env, c, old, idx.name)
        if owner:
            msg = f"The index name is already used in {owner} collection."
            return {str(i): FieldError("validation_existing_index_name", msg, {"usedTableName": owner})}
        key = definition_key(idx)
        if key in definitions:
            return {
                str(i): FieldError("validation_duplicated_index_definition", "The index definition already exists.")
            }
        definitions.add(key)
    problem = _system_unique_indexes(c, old)
    if problem is not None:
        return problem
    if c.is_auth:
        for name in ("tokenKey", "email"):
            if find_single_column_unique(c.indexes, name) is None:
                msg = f'Missing required unique index for field "{name}".'
                return FieldError("validation_missing_required_unique_index", msg, {"fieldName": name})
    return None


def _unique_shape(sql: str, like: ParsedIndex) -> str:
    """The index text with collation/sort dropped and name, table and WHERE taken from `like`."""
    idx = parse(sql)
    cols = tuple(IndexColumn(col.name) for col in idx.columns)
    return replace(idx, name=like.name, table=like.table, schema=like.schema, where=like.where, columns=cols).build()


def _system_unique_indexes(c: Collection, old: Collection | None) -> FieldError | None:
    if old is None:
        return None
    system_names = {f.name.lower(): f.name for f in old.fields if f.system}
    for sql in old.indexes:
        before = parse(sql)
        if not before.unique:
            continue
        wanted = _unique_shape(sql, before)
        for col in before.columns:
            field_name = system_names.get(col.name.lower())
            if field_name is None:
                continue
            if not any(_unique_shape(new_sql, before) == wanted for new_sql in c.indexes):
                msg = f"Unique index definition on system fields ({field_name}) is invalid or missing."
                return FieldError("validation_invalid_unique_system_field_index", msg, {"fieldName": field_name})
            break
    return None


# -------------------------------------------------------------------------------------- view
async def _view_query_error(c: Collection, env: Env) -> FieldError | None:
    """Derives the view's fields from its query (as PocketBase does) and reports a bad query."""
    if not c.is_view:
        return None
    given, c.fields = c.fields, []
    if not c.view_query:
        return required()
    try:
        c.fields, _ = await derive_view_fields(env.db, env.ex, c.view_query, env.find, check_sample=True)
        keep_field_ids(c.fields, given)
    except ViewQueryError as exc:
        c.fields = exc.fields
        return FieldError("validation_invalid_view_query", sentence("Invalid query - " + str(exc)[:500]))
    return None


# -------------------------------------------------------------------------------------- main
async def validate_collection(c: Collection, old: Collection | None, env: Env) -> ErrorTree:
    """All validation errors of `c` (`old` is its saved state; None when new)."""
    errors: ErrorTree = {}
    view_error = await _view_query_error(c, env)
    checks: list[tuple[str, FieldError | ErrorTree | None]] = [
        ("id", await _id_error(c, old, env)),
        ("system", _system_flag_error(c, old)),
        ("type", _type_error(c, old)),
        ("name", await _name_error(c, old, env)),
        ("fields", _fields_error(c, old, env)),
    ]
    for key in RULE_KEYS:
        rule_problem: FieldError | None = None
        if c.is_view and key in WRITE_RULE_KEYS and c.rule(key) is not None:
            rule_problem = FieldError("validation_nil", "Must be blank.")
        rule_problem = rule_problem or rule_error(env, c, c.rule(key)) or system_rule_error(c, old, key)
        checks.append((key, rule_problem))
    checks.append(("indexes", await _indexes_error(c, old, env)))
    checks.append(("search", search.validate(c)))
    for key, problem in checks:
        if problem:
            errors[key] = problem
    if c.is_view:
        view_problem = view_error
        if view_problem is not None:
            errors["viewQuery"] = view_problem
    elif c.is_auth:
        errors.update(validate_auth_options(c, old, env))
    return errors


def _system_flag_error(c: Collection, old: Collection | None) -> FieldError | None:
    if old is not None and c.system != old.system:
        return FieldError("validation_collection_system_flag_change", "System collection state cannot be changed.")
    return None


# ------------------------------------------------------------------------------ auth options
def _duration(value: Any, lo: int, hi: int) -> FieldError | None:
    if not isinstance(value, int) or isinstance(value, bool) or value == 0:
        return required()
    if value < lo:
        return FieldError(
            "validation_min_greater_equal_than_required", f"Must be no less than {lo}.", {"threshold": lo}
        )
    if value > hi:
        msg = f"Must be no greater than {hi}."
        return FieldError("validation_max_less_equal_than_required", msg, {"threshold": hi})
    return None


def _template(value: Any, *, must_exist: bool) -> ErrorTree | FieldError | None:
    tpl = value if isinstance(value, dict) else {}
    if must_exist and not tpl.get("subject") and not tpl.get("body"):
        return required()
    errors: ErrorTree = {k: required() for k in ("subject", "body") if not tpl.get(k)}
    return errors or None


def _section(auth: dict[str, Any], key: str) -> dict[str, Any]:
    value = auth.get(key)
    return value if isinstance(value, dict) else {}


def _auth_struct_errors(c: Collection, old: Collection | None, env: Env) -> ErrorTree:
    auth = c.auth
    errors: ErrorTree = {}
    problems: dict[str, FieldError | ErrorTree | None] = {
        "authRule": rule_error(env, c, auth.get("authRule")) or system_rule_error(c, old, "authRule"),
        "manageRule": (
            FieldError("validation_nil_or_not_empty_required", "Cannot be blank.")
            if auth.get("manageRule") == ""
            else rule_error(env, c, auth.get("manageRule")) or system_rule_error(c, old, "manageRule")
        ),
    }
    alert = _template(_section(auth, "authAlert").get("emailTemplate"), must_exist=False)
    problems["authAlert"] = {"emailTemplate": alert} if alert else None
    password_auth = _section(auth, "passwordAuth")
    if password_auth.get("enabled") and not password_auth.get("identityFields"):
        problems["passwordAuth"] = {"identityFields": required()}
    problems["oauth2"] = _oauth2_errors(_section(auth, "oauth2"))
    otp = _section(auth, "otp")
    otp_errors: ErrorTree = {}
    if otp.get("enabled"):
        duration = _duration(otp.get("duration"), 10, 86400)
        length = otp.get("length")
        if duration:
            otp_errors["duration"] = duration
        if not isinstance(length, int) or not length:
            otp_errors["length"] = required()
        elif length < 4:
            otp_errors["length"] = FieldError(
                "validation_min_greater_equal_than_required", "Must be no less than 4.", {"threshold": 4}
            )
    otp_tpl = _template(otp.get("emailTemplate"), must_exist=False)
    if otp_tpl:
        otp_errors["emailTemplate"] = otp_tpl
    problems["otp"] = otp_errors or None
    mfa = _section(auth, "mfa")
    mfa_duration = _duration(mfa.get("duration"), 10, 86400) if mfa.get("enabled") else None
    problems["mfa"] = {"duration": mfa_duration} if mfa_duration else None
    for key in ("authToken", "passwordResetToken", "emailChangeToken", "verificationToken", "fileToken"):
        token_problem = _duration(_section(auth, key).get("duration"), 10, 94670856)
        problems[key] = {"duration": token_problem} if token_problem else None
    for key in ("verificationTemplate", "resetPasswordTemplate", "confirmEmailChangeTemplate"):
        problems[key] = _template(auth.get(key), must_exist=True)
    for key, problem in problems.items():
        if problem:
            errors[key] = problem
    return errors


def _oauth2_errors(oauth2: dict[str, Any]) -> ErrorTree | None:
    if not oauth2.get("enabled"):
        return None
    providers = oauth2.get("providers") or []
    seen: set[str] = set()
    items: ErrorTree = {}
    for i, p in enumerate(providers if isinstance(providers, list) else []):
        p = p if isinstance(p, dict) else {}
        pe = oauth2_config.entry_errors(p, oauth2_registry.KNOWN)
        name = p.get("name") or ""
        if name and name in seen and "name" not in pe:
            msg = f"The provider {name} is already registered."
            return {"providers": {str(i): {"name": FieldError("validation_duplicated_provider", msg, {"name": name})}}}
        seen.add(name)
        if pe:
            items[str(i)] = pe
    return {"providers": items} if items else None


def validate_auth_options(c: Collection, old: Collection | None, env: Env) -> ErrorTree:
    errors = _auth_struct_errors(c, old, env)
    if errors:
        return errors
    auth = c.auth
    mfa = _section(auth, "mfa")
    if mfa.get("enabled"):
        enabled = sum(1 for k in ("passwordAuth", "oauth2", "otp") if _section(auth, k).get("enabled"))
        if enabled < 2:
            msg = "MFA requires at least 2 auth methods to be enabled."
            return {"mfa": {"enabled": FieldError("validation_mfa_not_enough_auths", msg)}}
        rule = mfa.get("rule") or ""
        old_rule = _section(old.auth, "mfa").get("rule", "") if old is not None else ""
        problem = rule_error(env, c, rule)
        if problem is None and old is not None and old.system and rule != old_rule:
            problem = FieldError(
                "validation_collection_system_rule_change", "System collection API rule cannot be changed."
            )
        if problem is not None:
            return {"mfa": {"rule": problem}}
    password_auth = _section(auth, "passwordAuth")
    if password_auth.get("enabled"):
        for name in password_auth.get("identityFields") or []:
            if c.field(name) is None:
                problem = FieldError(
                    "validation_missing_field", f"Invalid or missing field {name}.", {"fieldName": name}
                )
            elif find_single_column_unique(c.indexes, name) is None:
                msg = f"The field {name} doesn't have a UNIQUE constraint."
                problem = FieldError("validation_missing_unique_constraint", msg, {"fieldName": name})
            else:
                continue
            return {"passwordAuth": {"identityFields": problem}}
    return {}
