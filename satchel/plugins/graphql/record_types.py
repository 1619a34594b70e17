"""One GraphQL object type per collection, its fields mapped from the collection's fields.

Output types follow REST's JSON, and are the same for every caller, so that a client's queries
validate whoever runs them: a hidden field is in its collection's type, nullable, and has a value
only where the records service exported it (to superusers, as REST does); anyone else reads `null`.
An auth collection's `password`/`tokenKey` are never in a type, as they are never in REST's JSON.
Relations resolve to the related records (batched, `batching`); `<field>_id(s)` keeps the raw ids.
Every collection pointed at by a relation also gets `<source>_via_<field>` back-relations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    get_nullable_type,
)

from satchel.core.collections.model import Collection
from satchel.core.fields.base import Field
from satchel.core.records.plans import NEVER_EXPORTED
from satchel.plugins.graphql import batching
from satchel.plugins.graphql.batching import Node
from satchel.plugins.graphql.names import Names, capitalized, is_enum_value, safe
from satchel.plugins.graphql.scalars import JSONScalar

SCALARS: dict[str, GraphQLOutputType] = {
    "text": GraphQLString,
    "editor": GraphQLString,
    "email": GraphQLString,
    "url": GraphQLString,
    "date": GraphQLString,
    "autodate": GraphQLString,
    "number": GraphQLFloat,
    "bool": GraphQLBoolean,
    "json": JSONScalar,
}

FileType = GraphQLObjectType(
    "File",
    {
        "name": GraphQLField(GraphQLNonNull(GraphQLString), description="The stored file name."),
        "url": GraphQLField(
            GraphQLNonNull(GraphQLString),
            description="Where to download it (a protected file also needs `?token=`, see /api/files/token).",
        ),
    },
    description="One uploaded file of a file field.",
)

GeoPointType = GraphQLObjectType(
    "GeoPoint", {"lon": GraphQLField(GraphQLNonNull(GraphQLFloat)), "lat": GraphQLField(GraphQLNonNull(GraphQLFloat))}
)


HIDDEN_NOTE = "Hidden field: superusers only (null for anyone else, as REST leaves it out)."


def output_fields(collection: Collection) -> list[Field]:
    """The fields a superuser sees in REST's JSON, in schema order (hidden ones included)."""
    return [
        f for f in collection.fields if f.type != "password" and not (collection.is_auth and f.name in NEVER_EXPORTED)
    ]


def is_multiple(f: Field) -> bool:
    return bool(getattr(f, "is_multiple", False))


@dataclass(slots=True)
class CollectionTypes:
    """The names given to one collection across the schema."""

    collection: Collection
    type_name: str
    root_field: str
    """Root field base: `posts` (`posts(id)`, `postsList`, `postsChanged`)."""
    object_type: GraphQLObjectType | None = None
    field_names: dict[str, str] = field(default_factory=dict)
    """Record field name -> GraphQL field name (input types use the same names)."""


class RecordTypes:
    """Builds the object types of every collection (types refer to each other: fields are thunks)."""

    def __init__(self, collections: list[Collection], type_names: Names) -> None:
        self.type_names = type_names
        root = Names()
        self.by_id: dict[str, CollectionTypes] = {}
        for c in collections:
            entry = CollectionTypes(c, type_names.take(capitalized(c.name)), root.take(safe(c.name)))
            field_names = Names({"collectionId", "collectionName"})
            entry.field_names = {f.name: field_names.take(safe(f.name)) for f in c.fields}
            self.by_id[c.id] = entry
        for entry in self.by_id.values():
            entry.object_type = GraphQLObjectType(
                entry.type_name,
                self._fields_thunk(entry),
                description=f"A record of the `{entry.collection.name}` collection.",
            )

    def object_type(self, collection_id: str) -> GraphQLObjectType:
        t = self.by_id[collection_id].object_type
        assert t is not None
        return t

    def _fields_thunk(self, entry: CollectionTypes) -> Callable[[], dict[str, GraphQLField]]:
        return lambda: self._fields(entry)

    def _fields(self, entry: CollectionTypes) -> dict[str, GraphQLField]:
        c = entry.collection
        names = Names({"collectionId", "collectionName", *entry.field_names.values()})
        out: dict[str, GraphQLField] = {}
        for f in output_fields(c):
            name = entry.field_names[f.name]
            out[name] = _superuser_only(f, self._field(entry, f))
            if f.type == "relation" and f.name != "id":
                raw = names.take(f"{name}_ids" if is_multiple(f) else f"{name}_id")
                out[raw] = _superuser_only(f, self._raw_ids(f))
        out["collectionId"] = GraphQLField(GraphQLNonNull(GraphQLString), resolve=_key("collectionId"))
        out["collectionName"] = GraphQLField(GraphQLNonNull(GraphQLString), resolve=_key("collectionName"))
        for source_entry in self.by_id.values():
            for f in output_fields(source_entry.collection):
                if f.type == "relation" and getattr(f, "collection_id", "") == c.id:
                    name = names.take(f"{safe(source_entry.collection.name)}_via_{safe(f.name)}")
                    out[name] = self._back_relation(source_entry, f)
        return out

    def _field(self, entry: CollectionTypes, f: Field) -> GraphQLField:
        if f.name == "id":
            return GraphQLField(GraphQLNonNull(GraphQLID), resolve=_key("id"))
        if f.type == "relation":
            return self._relation(f)
        if f.type == "file":
            return GraphQLField(_maybe_list(FileType, is_multiple(f)), resolve=_files(f.name, is_multiple(f)))
        if f.type == "select":
            return self._select(entry, f)
        if f.type == "geoPoint":
            return GraphQLField(GeoPointType, resolve=_key(f.name))
        scalar = SCALARS.get(f.type, GraphQLString)
        return GraphQLField(scalar, resolve=_key(f.name), description=f.help or None)

    def _select(self, entry: CollectionTypes, f: Field) -> GraphQLField:
        values = list(getattr(f, "values", []))
        item: GraphQLOutputType = GraphQLString
        if values and all(is_enum_value(v) for v in values):
            enum_name = self.type_names.take(f"{entry.type_name}_{safe(f.name)}")
            item = GraphQLEnumType(enum_name, {v: GraphQLEnumValue(v) for v in values})
        multiple = is_multiple(f)
        return GraphQLField(_maybe_list(item, multiple), resolve=_select_value(f.name, multiple))

    def _relation(self, f: Field) -> GraphQLField:
        target_id = str(getattr(f, "collection_id", ""))
        target_entry = self.by_id.get(target_id)
        if target_entry is None:  # a dangling relation: its ids only
            return self._raw_ids(f)
        target_type = self.object_type(target_id)
        multiple = is_multiple(f)
        name = f.name
        target = target_entry.collection

        async def resolve(node: Node, _: Any) -> Any:
            group = node.group
            found: dict[str, Node] = await group.once(
                ("relation", name), lambda: batching.load_targets(group, name, target)
            )
            ids = batching.relation_ids(node.data.get(name))
            if multiple:
                return [found[i] for i in ids if i in found]
            return found.get(ids[0]) if ids else None

        return GraphQLField(
            _maybe_list(target_type, multiple), resolve=resolve, description=f"Relation to `{target.name}`."
        )

    def _raw_ids(self, f: Field) -> GraphQLField:
        multiple = is_multiple(f)
        name = f.name

        def resolve(node: Node, _: Any) -> Any:
            ids = batching.relation_ids(node.data.get(name))
            return ids if multiple else (ids[0] if ids else None)

        return GraphQLField(
            _maybe_list(GraphQLString, multiple), resolve=resolve, description=f"The ids `{name}` holds."
        )

    def _back_relation(self, source_entry: CollectionTypes, f: Field) -> GraphQLField:
        source = source_entry.collection
        name = f.name
        hidden = f.hidden

        async def resolve(node: Node, _: Any) -> list[Node] | None:
            group = node.group
            if hidden and not group.ctx.request.is_superuser:
                return None  # which records point here through a hidden field is the field's value
            by_parent: dict[str, list[Node]] = await group.once(
                ("via", source.id, name), lambda: batching.load_referencing(group, source, name)
            )
            return by_parent.get(str(node.data.get("id", "")), [])

        items = GraphQLList(GraphQLNonNull(self.object_type(source.id)))
        description = f"Records of `{source.name}` whose `{name}` points here (at most 1000, as ?expand=)."
        if hidden:
            return GraphQLField(items, resolve=resolve, description=f"{description} {HIDDEN_NOTE}")
        return GraphQLField(GraphQLNonNull(items), resolve=resolve, description=description)


def _superuser_only(f: Field, out: GraphQLField) -> GraphQLField:
    """A hidden field's GraphQL field: nullable, and null unless the caller's record has the key.

    The exported record (REST's JSON for this caller) is what decides, not a second check here:
    the records service leaves hidden fields out for anyone but a superuser, in queries,
    mutations, relations and subscription events alike.
    """
    if not f.hidden:
        return out
    resolve = out.resolve
    key = f.name

    def guarded(node: Node, info: Any) -> Any:
        if key not in node.data:
            return None
        return resolve(node, info) if resolve is not None else None

    description = f"{out.description} {HIDDEN_NOTE}" if out.description else HIDDEN_NOTE
    nullable = cast(GraphQLOutputType, get_nullable_type(out.type))
    return GraphQLField(nullable, resolve=guarded, description=description)


def _maybe_list(item: GraphQLOutputType, multiple: bool) -> GraphQLOutputType:
    return GraphQLNonNull(GraphQLList(GraphQLNonNull(item))) if multiple else item


def _key(key: str) -> Callable[[Node, Any], Any]:
    def resolve(node: Node, _: Any) -> Any:
        return node.data.get(key)

    return resolve


def _select_value(key: str, multiple: bool) -> Callable[[Node, Any], Any]:
    def resolve(node: Node, _: Any) -> Any:
        value = node.data.get(key)
        if multiple:
            return list(value) if isinstance(value, list) else []
        return value or None  # "" is "nothing selected", never an enum value

    return resolve


def _files(key: str, multiple: bool) -> Callable[[Node, Any], Any]:
    def resolve(node: Node, _: Any) -> Any:
        value = node.data.get(key)
        names = [value] if isinstance(value, str) and value else list(value) if isinstance(value, list) else []
        base = f"{node.group.ctx.base_url}/api/files/{node.data.get('collectionId')}/{node.data.get('id')}/"
        files = [{"name": n, "url": base + n} for n in names]
        return files if multiple else (files[0] if files else None)

    return resolve
