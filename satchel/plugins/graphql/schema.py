"""The schema, generated from the live collections: queries, mutations and subscriptions per collection.

Per collection `posts` (type `Posts`):

    query        posts(id: ID!): Posts
                 postsList(filter, sort, page, perPage, skipTotal): PostsList!
    mutation     createPosts(data: PostsCreateInput!): Posts
                 updatePosts(id: ID!, data: PostsUpdateInput!): Posts
                 deletePosts(id: ID!): Boolean!
    subscription postsChanged(id: ID, filter: String): PostsChange!

Every resolver calls the records service exactly as the REST endpoint doing the same would
(same rules, same hooks, same errors); nothing here reads the database itself.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
)

from satchel.core.collections.model import Collection
from satchel.core.errors import NotFoundError
from satchel.core.records.service import ListParams
from satchel.plugins.graphql.audit import audited
from satchel.plugins.graphql.batching import Group, Node
from satchel.plugins.graphql.context import Context
from satchel.plugins.graphql.input_types import InputTypes
from satchel.plugins.graphql.limits import selects_totals
from satchel.plugins.graphql.names import Names
from satchel.plugins.graphql.record_types import CollectionTypes, RecordTypes
from satchel.plugins.graphql.subscriptions import RecordChanges

BUILT_IN_TYPES = ("String", "Int", "Float", "Boolean", "ID")
LIST_ARGS = {
    "filter": GraphQLArgument(GraphQLString, description="PocketBase filter syntax, as REST's `filter`."),
    "sort": GraphQLArgument(GraphQLString, description="As REST's `sort`, e.g. `-created,title`."),
    "page": GraphQLArgument(GraphQLInt, default_value=1),
    "perPage": GraphQLArgument(GraphQLInt, default_value=30, description="1 to 1000."),
    "skipTotal": GraphQLArgument(GraphQLBoolean, default_value=False, description="Skip the count: totals are -1."),
}


def build_schema(collections: list[Collection]) -> GraphQLSchema:
    type_names = Names(
        {*BUILT_IN_TYPES, "Query", "Mutation", "Subscription", "JSON", "File", "GeoPoint", "GeoPointInput"}
    )
    types = RecordTypes(collections, type_names)
    query: dict[str, GraphQLField] = {}
    mutation: dict[str, GraphQLField] = {}
    subscription: dict[str, GraphQLField] = {}
    root = Names()
    for entry in types.by_id.values():
        _queries(entry, query, type_names, root)
        if not entry.collection.is_view:
            _mutations(entry, mutation, type_names, root)
        _subscription(entry, subscription, type_names, root)
    if not query:
        query["_empty"] = GraphQLField(GraphQLBoolean, resolve=lambda *_: None)
    return GraphQLSchema(
        query=GraphQLObjectType("Query", query),
        mutation=GraphQLObjectType("Mutation", mutation) if mutation else None,
        subscription=GraphQLObjectType("Subscription", subscription) if subscription else None,
    )


def _queries(entry: CollectionTypes, out: dict[str, GraphQLField], type_names: Names, root: Names) -> None:
    record_type = entry.object_type
    assert record_type is not None
    page_type = GraphQLObjectType(
        type_names.take(f"{entry.type_name}List"),
        {
            "items": GraphQLField(GraphQLNonNull(GraphQLList(GraphQLNonNull(record_type)))),
            "page": GraphQLField(GraphQLNonNull(GraphQLInt)),
            "perPage": GraphQLField(GraphQLNonNull(GraphQLInt)),
            "totalItems": GraphQLField(GraphQLNonNull(GraphQLInt), description="-1 with skipTotal."),
            "totalPages": GraphQLField(GraphQLNonNull(GraphQLInt), description="-1 with skipTotal."),
        },
    )
    collection_id = entry.collection.id

    async def view(_: Any, info: Any, id: str) -> Node | None:
        ctx: Context = info.context
        try:
            item = await ctx.app.records.view(collection_id, id, ctx.request_for("GET"))
        except NotFoundError:
            return None  # missing or not viewable: null, as REST's 404
        return _adopt(ctx, collection_id, [item])[0]

    async def list_(_: Any, info: Any, **args: Any) -> dict[str, Any]:
        ctx: Context = info.context
        query = _query_strings(args)
        params = ListParams.from_query(query)
        if not any(selects_totals(node.selection_set, info.fragments.get, frozenset()) for node in info.field_nodes):
            params.skip_total = True  # nobody reads the count: do not run it (REST's skipTotal)
        result = await ctx.app.records.list(collection_id, ctx.request_for("GET", query), params)
        return {**result, "items": _adopt(ctx, collection_id, result["items"])}

    out[root.take(entry.root_field)] = GraphQLField(
        record_type, {"id": GraphQLArgument(GraphQLNonNull(GraphQLID))}, view
    )
    out[root.take(f"{entry.root_field}List")] = GraphQLField(GraphQLNonNull(page_type), LIST_ARGS, list_)


def _mutations(entry: CollectionTypes, out: dict[str, GraphQLField], type_names: Names, root: Names) -> None:
    record_type = entry.object_type
    assert record_type is not None
    inputs = InputTypes(entry, type_names)
    collection_id = entry.collection.id
    capital = entry.type_name

    name = entry.collection.name

    async def create(_: Any, info: Any, data: dict[str, Any]) -> Node:
        ctx: Context = info.context
        body = inputs.body(data)
        work = ctx.app.records.create(collection_id, body, ctx.request_for("POST", body=body))
        item = await audited(ctx, info, "POST", name, "", body, work)
        return _adopt(ctx, collection_id, [item])[0]

    async def update(_: Any, info: Any, id: str, data: dict[str, Any]) -> Node:
        ctx: Context = info.context
        body = inputs.body(data)
        work = ctx.app.records.update(collection_id, id, body, ctx.request_for("PATCH", body=body))
        item = await audited(ctx, info, "PATCH", name, id, body, work)
        return _adopt(ctx, collection_id, [item])[0]

    async def delete(_: Any, info: Any, id: str) -> bool:
        ctx: Context = info.context
        work = ctx.app.records.delete(collection_id, id, ctx.request_for("DELETE"))
        await audited(ctx, info, "DELETE", name, id, {}, work)
        return True

    id_arg = GraphQLArgument(GraphQLNonNull(GraphQLID))
    out[root.take(f"create{capital}")] = GraphQLField(
        record_type, {"data": GraphQLArgument(GraphQLNonNull(inputs.create))}, create
    )
    if inputs.update is not None:
        out[root.take(f"update{capital}")] = GraphQLField(
            record_type, {"id": id_arg, "data": GraphQLArgument(GraphQLNonNull(inputs.update))}, update
        )
    out[root.take(f"delete{capital}")] = GraphQLField(GraphQLNonNull(GraphQLBoolean), {"id": id_arg}, delete)


def _subscription(entry: CollectionTypes, out: dict[str, GraphQLField], type_names: Names, root: Names) -> None:
    record_type = entry.object_type
    assert record_type is not None
    change_type = GraphQLObjectType(
        type_names.take(f"{entry.type_name}Change"),
        {
            "action": GraphQLField(GraphQLNonNull(GraphQLString), description="create, update or delete."),
            "record": GraphQLField(GraphQLNonNull(record_type)),
        },
    )
    collection = entry.collection

    async def subscribe(_: Any, info: Any, id: str | None = None, filter: str | None = None) -> RecordChanges:
        ctx: Context = info.context
        return await RecordChanges.open(ctx, collection, id or "", filter or "")

    def resolve(event: Any, _: Any, **__: Any) -> Any:
        return event

    out[root.take(f"{entry.root_field}Changed")] = GraphQLField(
        GraphQLNonNull(change_type),
        {"id": GraphQLArgument(GraphQLID), "filter": GraphQLArgument(GraphQLString)},
        resolve,
        subscribe=subscribe,
        description=f"Changes of `{collection.name}` records the caller may see (as realtime's list/view rules).",
    )


def _adopt(ctx: Context, collection_id: str, items: list[dict[str, Any]]) -> list[Node]:
    collection = ctx.app.collections.get(collection_id)
    if collection is None:
        raise NotFoundError()
    return Group(collection, ctx).adopt(items)


def _query_strings(args: dict[str, Any]) -> dict[str, str]:
    """List arguments as the query string REST would have received."""
    out: dict[str, str] = {}
    for key, value in args.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out
