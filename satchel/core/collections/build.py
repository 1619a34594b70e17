"""Turning submitted collection JSON into a Collection (create and update).

Submitted data is merged over the existing collection (or a fresh one of the given type); the
system fields, auth options and auth indexes an auth collection needs are filled in; new
fields get PocketBase's derived ids. Validation happens afterwards, on the built object.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from satchel.core.collections.model import RULE_KEYS, Collection, CollectionType, default_auth_options
from satchel.core.collections.system import auth_indexes, auth_system_fields, id_field
from satchel.core.errors import BadRequestError, ErrorTree, FieldError, ValidationError
from satchel.core.fields.base import Field, FieldOptionsError
from satchel.core.fields.registry import field_from_json
from satchel.tools.ids import collection_id, field_id

LOAD_ERROR = "Failed to load the submitted data due to invalid formatting."
AUTH_SYSTEM_NAMES = ("password", "tokenKey", "email", "emailVisibility", "verified")


def _merge(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in patch.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _rule(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _fields(raw: Any, existing: list[Field], errors: ErrorTree) -> list[Field]:
    if not isinstance(raw, list):
        errors["fields"] = FieldError("validation_invalid_value", "Invalid value.")
        return list(existing)
    by_id = {f.id: f for f in existing}
    by_name = {f.name: f for f in existing}
    out: list[Field] = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise BadRequestError(LOAD_ERROR)
        data = dict(item)
        type_ = data.get("type")
        name = data.get("name")
        old = by_id.get(str(data.get("id", ""))) if data.get("id") else by_name.get(str(name))
        if old is not None and (type_ is None or type_ == old.type):
            data = {**old.to_json(), **data, "id": old.id}
        elif not data.get("id") and isinstance(type_, str) and isinstance(name, str):
            data["id"] = field_id(type_, name)
        try:
            field = field_from_json(data)
        except FieldOptionsError as exc:
            raise BadRequestError(LOAD_ERROR) from exc
        # a repeated name replaces the earlier definition in place, keeping its id (as PocketBase)
        same = next((i for i, f in enumerate(out) if f.name == field.name), None)
        if same is None:
            out.append(field)
        else:
            field.id = out[same].id
            out[same] = field
    return out


def _ensure_system_fields(c: Collection) -> None:
    names = {f.name for f in c.fields}
    if "id" not in names:
        c.fields.insert(0, id_field())
    if c.is_auth:
        pos = 1
        for sys_field in auth_system_fields():
            current = c.field(sys_field.name)
            if current is None:
                c.fields.insert(pos, sys_field)
            elif current.type != sys_field.type:
                c.fields[c.fields.index(current)] = sys_field
            pos += 1
        for sql in auth_indexes(c.id, c.name):
            marker = sql.split("`")[1].split("_")[1]  # tokenKey / email
            if not any(f"idx_{marker}_" in existing for existing in c.indexes):
                c.indexes.append(sql)


def _start(data: Mapping[str, Any], existing: Collection | None, errors: ErrorTree) -> Collection:
    """A fresh collection of the submitted type, or a copy of the existing one."""
    if existing is not None:
        c = existing.clone()
        if data.get("type", c.type) != c.type:
            errors["type"] = FieldError("validation_collection_type_change", "Collection type cannot be changed.")
        if isinstance(data.get("name"), str):
            c.name = data["name"]
        return c
    type_ = data.get("type") or "base"
    name = data.get("name") if isinstance(data.get("name"), str) else ""
    ctype: CollectionType = "auth" if type_ == "auth" else "view" if type_ == "view" else "base"
    c = Collection(id="", name=str(name), type=ctype)
    given_id = data.get("id")
    c.id = given_id if isinstance(given_id, str) and given_id else collection_id(c.type, c.name)
    if type_ not in ("base", "auth", "view"):
        errors["type"] = FieldError("validation_in_invalid", "Must be a valid value.")
    if c.is_auth:
        c.auth = default_auth_options(c.name)
    return c


def _apply_auth_options(c: Collection, data: Mapping[str, Any]) -> None:
    patch = {k: v for k, v in data.items() if k in c.auth}
    c.auth = _merge(c.auth, patch)
    for key in ("authRule", "manageRule"):
        if key in data:
            c.auth[key] = _rule(data[key])


def build_collection(data: Mapping[str, Any], existing: Collection | None) -> Collection:
    """Raises ValidationError (without a message; the caller sets it) for structurally bad JSON."""
    errors: ErrorTree = {}
    c = _start(data, existing, errors)
    for key in RULE_KEYS:
        if key in data:
            setattr(c, key, _rule(data[key]))
    if "fields" in data:
        c.fields = _fields(data["fields"], c.fields if existing else [], errors)
    if isinstance(data.get("indexes"), list):
        c.indexes = [str(i) for i in data["indexes"]]
    if c.is_view and "viewQuery" in data:
        c.view_query = str(data["viewQuery"] or "")
    if c.is_auth:
        _apply_auth_options(c, data)
    if not c.is_view:
        _ensure_system_fields(c)
    if errors:
        raise ValidationError(None, errors)
    return c
