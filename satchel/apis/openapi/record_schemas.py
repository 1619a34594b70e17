"""JSON Schemas of one collection's records: the shape a client reads, and the bodies it may send.

Read from the live field definitions, one small function per field type, so a field added to a
collection is in the document as soon as the collection is saved. Response shapes list no
required keys: `?fields=` may leave any of them out. Input shapes are as lenient as the server
(a number may come as a string in multipart), but carry the limits a client should respect:
enums of selects, lengths, ranges, how many values a multiple field takes.
"""

from __future__ import annotations

from typing import Any

from satchel.core.collections.model import Collection
from satchel.core.fields.base import Field
from satchel.core.fields.file import FileField
from satchel.core.fields.number import NumberField
from satchel.core.fields.password import PasswordField
from satchel.core.fields.relation import RelationField
from satchel.core.fields.select import SelectField
from satchel.core.fields.text import TextField

Schema = dict[str, Any]

NEVER_EXPORTED = frozenset({"password", "tokenKey"})
"""Fields of auth collections never present in a record's JSON."""
AUTH_MANAGED = frozenset({"tokenKey"})
"""Fields of auth collections no client writes."""
GEO_POINT: Schema = {
    "type": "object",
    "properties": {"lon": {"type": "number"}, "lat": {"type": "number"}},
    "additionalProperties": False,
}
_STRINGS = frozenset({"text", "editor", "email", "url", "date", "autodate", "password"})


def _with_help(schema: Schema, field: Field) -> Schema:
    if field.help:
        schema = {**schema, "description": field.help}
    return schema


def _many(schema: Schema, field: Any) -> Schema:
    """A list field (select, relation, file): an array when it takes more than one value."""
    if field.is_multiple:
        out: Schema = {"type": "array", "items": schema, "uniqueItems": True}
        if field.max_select > 1:
            out["maxItems"] = field.max_select
        return out
    return schema


def read_schema(field: Field) -> Schema:
    """The value of `field` in a record's JSON."""
    kind = field.type
    schema: Schema
    if kind in _STRINGS:
        schema = {"type": "string"}
        if kind in ("date", "autodate"):
            schema["description"] = "`YYYY-MM-DD HH:MM:SS.sssZ` (UTC), or empty."
    elif kind == "number":
        schema = {"type": "number"}
    elif kind == "bool":
        schema = {"type": "boolean"}
    elif kind in ("select", "relation", "file"):
        schema = _many({"type": "string"}, field)
        if isinstance(field, SelectField) and field.values:
            schema["description"] = "One of: " + ", ".join(f"`{v}`" for v in field.values) + "."
    elif kind == "geoPoint":
        schema = dict(GEO_POINT)
    else:  # json: any JSON value, null included
        schema = {}
    return _with_help(schema, field)


def _text_input(field: TextField) -> Schema:
    schema: Schema = {"type": "string"}
    if field.max > 0:
        schema["maxLength"] = field.max
    notes = []
    if field.min > 0 and field.required and not field.autogenerate_pattern:
        schema["minLength"] = field.min  # an optional field may also be left empty
    elif field.min > 0:
        notes.append(f"at least {field.min} characters when set")
    if field.pattern:
        notes.append(f"must match `{field.pattern}`")
    if field.autogenerate_pattern:
        notes.append(f"generated from `{field.autogenerate_pattern}` when empty")
    if notes:
        schema["description"] = "; ".join(notes).capitalize() + "."
    return schema


def _number_input(field: NumberField) -> Schema:
    schema: Schema = {"type": "integer" if field.only_int else "number"}
    if field.min is not None:
        schema["minimum"] = field.min
    if field.max is not None:
        schema["maximum"] = field.max
    return schema


GEO_POINT_INPUT: Schema = {
    "type": "object",
    "properties": {
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
    },
    "additionalProperties": False,
}
_PLAIN_INPUTS: dict[str, Schema] = {
    "email": {"type": "string", "format": "email"},
    "url": {"type": "string", "format": "uri"},
    "editor": {"type": "string"},
    "date": {"type": "string"},
    "geoPoint": GEO_POINT_INPUT,
}


def _password_input(field: PasswordField) -> Schema:
    schema: Schema = {"type": "string"}
    if field.min > 0:
        schema["minLength"] = field.min
    if field.max > 0:
        schema["maxLength"] = field.max
    return schema


def _option_input(field: Field, multipart: bool) -> Schema | None:
    """Inputs shaped by the field's options; None for the types without any that matter here."""
    if isinstance(field, TextField):
        return _text_input(field)
    if isinstance(field, NumberField):
        return _number_input(field)
    if isinstance(field, PasswordField):
        return _password_input(field)
    if isinstance(field, SelectField):
        choice: Schema = {"type": "string", "enum": list(field.values)} if field.values else {"type": "string"}
        return _many(choice, field)
    if isinstance(field, FileField):
        one: Schema = (
            {"type": "string", "format": "binary"}
            if multipart
            else {"type": "string", "description": "The name of a file the record has already."}
        )
        return _many(one, field)
    if isinstance(field, RelationField):
        return _many({"type": "string", "description": "A record id."}, field)
    return None


def write_schema(field: Field, *, multipart: bool = False) -> Schema | None:
    """The value a client may send for `field`; None when it takes no input (autodate)."""
    if field.type == "autodate":
        return None
    schema = _option_input(field, multipart)
    if schema is None:
        plain = _PLAIN_INPUTS.get(field.type)
        schema = dict(plain) if plain is not None else read_schema(field)
    return _with_help(schema, field)


HIDDEN_READ = "Hidden field: returned to superusers only."
HIDDEN_WRITE = "Hidden field: set by superusers only (ignored in anyone else's body)."


def _hidden_note(schema: Schema, note: str) -> Schema:
    """The superuser's document says which fields no one else gets, so a client generated from it
    does not count on them in code that may run for other users."""
    described = schema.get("description")
    return {**schema, "description": f"{described} {note}" if described else note}


def record_schema(collection: Collection, *, reveal_hidden: bool) -> Schema:
    """A record's JSON as a caller sees it (hidden fields only for superusers, as the server does)."""
    props: dict[str, Schema] = {}
    for field in collection.fields:
        if collection.is_auth and field.name in NEVER_EXPORTED:
            continue
        if field.hidden and not reveal_hidden:
            continue
        schema = read_schema(field)
        props[field.name] = _hidden_note(schema, HIDDEN_READ) if field.hidden else schema
    if collection.is_auth and "email" in props:
        props["email"] = {
            **props["email"],
            "description": "Present for the record itself, superusers, managers, or when `emailVisibility` is on.",
        }
    props["collectionId"] = {"type": "string", "const": collection.id}
    props["collectionName"] = {"type": "string", "const": collection.name}
    props["expand"] = {
        "type": "object",
        "description": "Expanded relations (with `?expand=`): a record, or a list of records, by relation field name.",
    }
    return {
        "type": "object",
        "title": f"{collection.name} record",
        "properties": props,
        "additionalProperties": False,
    }


def _writable(collection: Collection) -> list[Field]:
    return [f for f in collection.fields if not (collection.is_auth and f.name in AUTH_MANAGED)]


def _required_on_create(field: Field) -> bool:
    if not field.required or field.type == "autodate":
        return False
    return not (isinstance(field, TextField) and field.autogenerate_pattern)


def write_body_schema(collection: Collection, *, create: bool, reveal_hidden: bool, multipart: bool = False) -> Schema:
    """A create or update body; on update every key is optional and `id` cannot change. Hidden
    fields only for superusers: the server ignores anyone else's value for them."""
    props: dict[str, Schema] = {}
    required: list[str] = []
    for field in _writable(collection):
        if field.name == "id" and not create:
            continue
        if field.hidden and not reveal_hidden:
            continue
        schema = write_schema(field, multipart=multipart)
        if schema is None:
            continue
        if field.hidden:
            schema = _hidden_note(schema, HIDDEN_WRITE)
        props[field.name] = schema
        if create and _required_on_create(field):
            required.append(field.name)
        if not create and field.type in ("select", "relation", "file", "number"):
            _add_modifiers(props, field, schema)
    if collection.is_auth:
        _auth_keys(props, required, create)
    out: Schema = {
        "type": "object",
        "title": f"{collection.name} {'create' if create else 'update'}",
        "properties": props,
    }
    if required:
        out["required"] = required
    return out


def _add_modifiers(props: dict[str, Schema], field: Field, schema: Schema) -> None:
    """`field+` / `+field` / `field-`: append, prepend, remove (PocketBase's update modifiers)."""
    if field.type == "number":
        props[f"{field.name}+"] = {"type": "number", "description": f"Add to `{field.name}`."}
        props[f"{field.name}-"] = {"type": "number", "description": f"Subtract from `{field.name}`."}
        return
    if not getattr(field, "is_multiple", False):
        return
    item = schema.get("items", {"type": "string"})
    operand: Schema = {"anyOf": [item, {"type": "array", "items": item}]}
    props[f"{field.name}+"] = {**operand, "description": f"Append to `{field.name}`."}
    props[f"+{field.name}"] = {**operand, "description": f"Prepend to `{field.name}`."}
    props[f"{field.name}-"] = {**operand, "description": f"Remove from `{field.name}`."}


def _auth_keys(props: dict[str, Schema], required: list[str], create: bool) -> None:
    props["passwordConfirm"] = {"type": "string", "description": "Must equal `password`."}
    if "password" in props:
        props["password"] = {**props["password"], "writeOnly": True}
    if create:
        for key in ("password", "passwordConfirm"):
            if key in props and key not in required:
                required.append(key)
    else:
        props["oldPassword"] = {
            "type": "string",
            "description": "The current password, needed to change `password` unless a superuser or manager.",
        }


def has_files(collection: Collection) -> bool:
    return any(f.type == "file" for f in collection.fields)
