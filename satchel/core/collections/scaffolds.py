"""Blank collections, submitted JSON laid over them, and the defaults every save re-asserts.

PocketBase builds a new collection from a type-specific blank (system fields, auth options, the
auth unique indexes), decodes the request body on top of it with Go's JSON rules (present keys
replace, nested option objects merge, `fields` is replaced wholesale, unknown keys are ignored,
wrong JSON types fail the whole body), and before every save re-adds any system field that went
missing and re-asserts its flags. `GET /api/collections/meta/scaffolds` is just those blanks.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from satchel.core.collections.indexes import find_single_column_unique, normalize_table
from satchel.core.collections.model import Collection, CollectionType, default_auth_options
from satchel.core.collections.system import auth_system_fields, id_field
from satchel.core.errors import BadRequestError
from satchel.core.fields.base import Field, FieldOptionsError
from satchel.core.fields.bool import BoolField
from satchel.core.fields.email import EmailField
from satchel.core.fields.options import read_option
from satchel.core.fields.password import PasswordField
from satchel.core.fields.registry import field_from_json
from satchel.core.fields.text import TextField
from satchel.tools.ids import DEFAULT_RECORD_ID_PATTERN, collection_id, field_id, random_id

TYPES: tuple[CollectionType, ...] = ("base", "auth", "view")


def add_field(fields: list[Field], new: Field) -> None:
    """Add `new` as PocketBase's FieldsList does.

    A field without id gets `type + crc32(name)` (suffixed 2, 3... when taken) and replaces a
    same-named field in place, inheriting its id; a field with an id replaces the field with that
    id; otherwise it is appended.
    """
    if not new.id:
        base = field_id(new.type, new.name)
        candidate = base
        taken = {f.id for f in fields}
        for i in range(2, 1000):
            if candidate not in taken:
                break
            candidate = f"{base}{i}"
        new.id = candidate
        for i, f in enumerate(fields):
            if new.name and f.name == new.name:
                new.id = f.id
                fields[i] = new
                return
    else:
        for i, f in enumerate(fields):
            if f.id == new.id:
                fields[i] = new
                return
    fields.append(new)


def fields_list(fields: list[Field]) -> list[Field]:
    out: list[Field] = []
    for f in fields:
        add_field(out, f)
    return out


def field_index_name(c: Collection, field_name: str) -> str:
    name = f"idx_{field_name}_{c.id or c.name or random_id(10)}"
    return name[:64]


def _default(name: str) -> Field:
    """A system field without an id, so that adding it takes over a same-named field's id (as PocketBase)."""
    f = next(f for f in auth_system_fields() if f.name == name)
    f.id = ""
    return f


def _init_id_field(c: Collection) -> None:
    current = c.field("id")
    if not isinstance(current, TextField):
        c.fields = fields_list([id_field(), *c.fields])
        return
    current.system = current.required = current.primary_key = True
    current.hidden = False
    if not current.pattern:
        current.pattern = DEFAULT_RECORD_ID_PATTERN


def _ensure_unique_index(c: Collection, field_name: str, where: str = "") -> None:
    if find_single_column_unique(c.indexes, field_name) is not None:
        return
    sql = f"CREATE UNIQUE INDEX `{field_index_name(c, field_name)}` ON `{c.name}` (`{field_name}`)"
    c.indexes.append(sql + (f" WHERE {where}" if where else ""))


def _init_auth_fields(c: Collection) -> None:
    password = c.field("password")
    if isinstance(password, PasswordField):
        password.system = password.hidden = password.required = True
    else:
        add_field(c.fields, _default("password"))
    token_key = c.field("tokenKey")
    if isinstance(token_key, TextField):
        token_key.system = token_key.hidden = token_key.required = True
    else:
        add_field(c.fields, _default("tokenKey"))
    _ensure_unique_index(c, "tokenKey")
    email = c.field("email")
    if isinstance(email, EmailField):
        email.system = True
        email.hidden = False
    else:
        add_field(c.fields, _default("email"))
    _ensure_unique_index(c, "email", "`email` != ''")
    for name in ("emailVisibility", "verified"):
        flag = c.field(name)
        if isinstance(flag, BoolField):
            flag.system = True
        else:
            add_field(c.fields, _default(name))


def init_default_fields(c: Collection) -> None:
    """Re-add missing system fields (and auth indexes) and re-assert their flags."""
    if c.type == "base":
        _init_id_field(c)
    elif c.type == "auth":
        _init_id_field(c)
        _init_auth_fields(c)


def new_collection(type_: str, name: str = "", id_: str = "") -> Collection:
    """A blank collection as PocketBase's factory makes it (unknown types become base)."""
    ctype: CollectionType = "auth" if type_ == "auth" else "view" if type_ == "view" else "base"
    c = Collection(id=id_ or collection_id(ctype, name), name=name, type=ctype)
    init_default_fields(c)
    if ctype == "auth":
        c.auth = default_auth_options(name)
    return c


def scaffolds() -> dict[str, Any]:
    """The blanks of each type, with a fresh random suffix in the auth index names and no id."""
    suffix = random_id(10)
    out: dict[str, Any] = {}
    for t in TYPES:
        c = new_collection(t, "", suffix)
        c.id = ""
        out[t] = c.to_json()
    return out


# ------------------------------------------------------------------------------ JSON binding
LOAD_ERROR = "Failed to load the submitted data due to invalid formatting."

_TEMPLATE = {"subject": "str", "body": "str"}
_TOKEN = {"duration": "int"}
AUTH_SCHEMA: dict[str, Any] = {
    "authRule": "rule",
    "manageRule": "rule",
    "authAlert": {"enabled": "bool", "emailTemplate": _TEMPLATE},
    "oauth2": {
        "providers": "objects",
        "mappedFields": {"id": "str", "name": "str", "username": "str", "avatarURL": "str"},
        "enabled": "bool",
    },
    "passwordAuth": {"enabled": "bool", "identityFields": "strlist"},
    "mfa": {"enabled": "bool", "duration": "int", "rule": "str"},
    "otp": {"enabled": "bool", "duration": "int", "length": "int", "emailTemplate": _TEMPLATE},
    "authToken": _TOKEN,
    "passwordResetToken": _TOKEN,
    "emailChangeToken": _TOKEN,
    "verificationToken": _TOKEN,
    "fileToken": _TOKEN,
    "verificationTemplate": _TEMPLATE,
    "resetPasswordTemplate": _TEMPLATE,
    "confirmEmailChangeTemplate": _TEMPLATE,
}


def load_error() -> BadRequestError:
    return BadRequestError(LOAD_ERROR)


def _merge(target: dict[str, Any], data: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Go's decoding into an existing struct: null leaves scalars and objects alone."""
    for key, kind in schema.items():
        if key not in data:
            continue
        value = data[key]
        if isinstance(kind, Mapping):
            if value is None:
                continue
            if not isinstance(value, Mapping):
                raise load_error()
            sub = target.get(key)
            if not isinstance(sub, dict):
                sub = target[key] = {}
            _merge(sub, value, kind)
        elif kind in ("rule", "objects", "strlist") or value is not None:
            target[key] = _decode(value, kind)


def _decode(value: Any, kind: str) -> Any:
    if kind == "rule":
        if value is not None and not isinstance(value, str):
            raise load_error()
        return value
    if kind == "objects":
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value)):
            raise load_error()
        return copy.deepcopy(list(value or []))
    return _read(value, kind)


def _read(value: Any, kind: str) -> Any:
    try:
        return read_option(value, kind)  # type: ignore[arg-type]
    except ValueError as exc:
        raise load_error() from exc


def _scalar(data: Mapping[str, Any], key: str, kind: str) -> Any:
    """A present, non-null scalar (Go keeps the current value for null); None when absent."""
    value = data.get(key)
    return None if value is None else _read(value, kind)


def bind_fields(raw: Any) -> list[Field]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise load_error()
    fields: list[Field] = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise load_error()
        try:
            add_field(fields, field_from_json(item))
        except FieldOptionsError as exc:
            raise load_error() from exc
    return fields


def bind(c: Collection, data: Mapping[str, Any]) -> None:
    """Decode a request body over `c` in place; raises BadRequestError (LOAD_ERROR) on bad JSON types."""
    if not isinstance(data, Mapping):
        raise load_error()
    for key, attr, kind in (("id", "id", "str"), ("name", "name", "str"), ("type", "type", "str")):
        value = _scalar(data, key, kind)
        if value is not None:
            setattr(c, attr, value)
    system = _scalar(data, "system", "bool")
    if system is not None:
        c.system = system
    for key in ("listRule", "viewRule", "createRule", "updateRule", "deleteRule"):
        if key in data:
            value = data[key]
            if value is not None and not isinstance(value, str):
                raise load_error()
            setattr(c, key, value)
    if "fields" in data:
        c.fields = bind_fields(data["fields"])
    if "indexes" in data:
        c.indexes = list(_read(data["indexes"], "strlist"))
    _bind_options(c, data)
    auth = copy.deepcopy(c.auth) if c.auth else default_auth_options(c.name)
    _merge(auth, data, AUTH_SCHEMA)
    if c.type == "auth":
        c.auth = auth


def _bind_options(c: Collection, data: Mapping[str, Any]) -> None:
    view_query = _scalar(data, "viewQuery", "str")
    if view_query is not None:
        c.view_query = view_query
    if "search" in data:
        c.search = copy.deepcopy(data["search"])  # checked by `collections.search.validate`


def prepare_for_save(c: Collection) -> None:
    """PocketBase's pre-save normalisation (system fields, OAuth2 mapped fields, index tables)."""
    if not c.type:
        c.type = "base"
    c.fields = fields_list(c.fields)
    init_default_fields(c)
    if c.type == "auth":
        mapped = c.auth.get("oauth2", {}).get("mappedFields", {})
        for key, name in list(mapped.items()):
            if name and c.field(name) is None:
                mapped[key] = ""
    c.indexes = [normalize_table(sql, c.name) for sql in c.indexes]
