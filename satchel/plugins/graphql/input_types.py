"""Input types of the create and update mutations: a collection's writable fields.

Every input field is optional and loosely typed (select options and relation ids as strings), so
that what is missing or wrong is judged by the same record validation as REST and comes back
with the same `validation_*` codes, not as a GraphQL coercion error. Left out: autodate fields
(set by the server), file fields (upload files through REST's multipart endpoints), an auth
collection's `tokenKey`. Auth collections take `password`, `passwordConfirm` and (update)
`oldPassword`, as REST does. Hidden fields are inputs too: as in REST, only a superuser's value is
kept (the record service ignores anyone else's).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLFloat,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLString,
)

from satchel.core.collections.model import Collection
from satchel.core.fields.base import Field
from satchel.plugins.graphql.names import Names
from satchel.plugins.graphql.record_types import CollectionTypes, is_multiple
from satchel.plugins.graphql.scalars import JSONScalar

SKIPPED_TYPES = frozenset({"autodate", "file"})
INPUT_SCALARS: dict[str, GraphQLInputType] = {"number": GraphQLFloat, "bool": GraphQLBoolean, "json": JSONScalar}
AUTH_EXTRA = ("password", "passwordConfirm")

GeoPointInput = GraphQLInputObjectType(
    "GeoPointInput",
    {"lon": GraphQLInputField(GraphQLNonNull(GraphQLFloat)), "lat": GraphQLInputField(GraphQLNonNull(GraphQLFloat))},
)


def writable_fields(collection: Collection) -> list[Field]:
    return [
        f
        for f in collection.fields
        if f.type not in SKIPPED_TYPES and not (collection.is_auth and f.name in ("tokenKey", "password"))
    ]


def _input_type(f: Field) -> GraphQLInputType:
    if f.type == "geoPoint":
        return GeoPointInput
    item = INPUT_SCALARS.get(f.type, GraphQLString)
    return GraphQLList(GraphQLNonNull(item)) if is_multiple(f) and f.type in ("select", "relation") else item


def _description(f: Field) -> str | None:
    if not f.hidden:
        return f.help or None
    note = "Hidden field: set by superusers only (ignored for anyone else, as REST does)."
    return f"{f.help} {note}" if f.help else note


class InputTypes:
    """`<Type>CreateInput` and `<Type>UpdateInput`, and the way back from their names to field names."""

    def __init__(self, entry: CollectionTypes, type_names: Names) -> None:
        self.entry = entry
        self.to_field: dict[str, str] = {}
        fields: dict[str, GraphQLInputField] = {}
        taken = Names(set(entry.field_names.values()) - {"password"})  # an auth collection's own field
        for f in writable_fields(entry.collection):
            name = entry.field_names[f.name]
            self.to_field[name] = f.name
            fields[name] = GraphQLInputField(_input_type(f), description=_description(f))
        if entry.collection.is_auth:
            for extra in AUTH_EXTRA:
                name = taken.take(extra)
                self.to_field[name] = extra
                fields[name] = GraphQLInputField(GraphQLString)
        update_fields = dict(fields)
        if entry.collection.is_auth:
            name = taken.take("oldPassword")
            self.to_field[name] = "oldPassword"
            update_fields[name] = GraphQLInputField(GraphQLString, description="Required to change one's own password.")
        update_fields.pop(entry.field_names.get("id", "id"), None)  # ids are immutable
        self.create = GraphQLInputObjectType(type_names.take(f"{entry.type_name}CreateInput"), fields)
        # an input type needs a field: a collection with nothing settable but its id has no update
        self.update = (
            GraphQLInputObjectType(type_names.take(f"{entry.type_name}UpdateInput"), update_fields)
            if update_fields
            else None
        )

    def body(self, data: dict[str, Any]) -> dict[str, Any]:
        """The REST body the mutation's input stands for (field names, JSON values)."""
        return {self.to_field.get(k, k): v for k, v in data.items()}
