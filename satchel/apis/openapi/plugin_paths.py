"""Routes served by plugins: webhooks (the events plugin, always on with `satchel serve`) and
GraphQL (on unless `SATCHEL_GRAPHQL=0`). Described here, listed only when the server has their routes."""

from __future__ import annotations

from satchel.apis.openapi import components as c
from satchel.apis.openapi.components import Schema
from satchel.apis.openapi.system_paths import _B, _I, _S, ANYONE, SUPERUSER, Entry, _id, _loose, _loose_list, _ok


def _webhooks() -> list[Entry]:
    t = "webhooks"
    hook = c.ref("Webhook")
    body = c.json_body(
        _loose(
            name=_S,
            url=_S,
            secret=_S,
            collections={"type": "array", "items": _S},
            events={"type": "array", "items": _S},
            enabled=_B,
        )
    )
    return [
        Entry(
            "/api/webhooks",
            "get",
            c.operation("webhooks.list", "List webhooks", t, ok=_ok(_loose_list(hook))),
            SUPERUSER,
        ),
        Entry(
            "/api/webhooks",
            "post",
            c.operation("webhooks.create", "Create a webhook", t, ok=_ok(hook), body=body),
            SUPERUSER,
        ),
        Entry(
            "/api/webhooks/{id}",
            "get",
            c.operation("webhooks.view", "View a webhook", t, ok=_ok(hook), parameters=[_id()]),
            SUPERUSER,
        ),
        Entry(
            "/api/webhooks/{id}",
            "patch",
            c.operation("webhooks.update", "Change a webhook", t, ok=_ok(hook), parameters=[_id()], body=body),
            SUPERUSER,
        ),
        Entry(
            "/api/webhooks/{id}",
            "delete",
            c.operation("webhooks.delete", "Delete a webhook", t, status="204", parameters=[_id()]),
            SUPERUSER,
        ),
        Entry(
            "/api/webhooks/{id}/attempts",
            "get",
            c.operation(
                "webhooks.attempts",
                "Delivery attempts",
                t,
                ok=_ok(_loose_list(_loose())),
                parameters=[_id(), c.param_ref("page"), c.param_ref("perPage")],
            ),
            SUPERUSER,
        ),
        Entry(
            "/api/webhooks/{id}/dead-letters",
            "get",
            c.operation(
                "webhooks.deadLetters", "Deliveries that gave up", t, ok=_ok(_loose_list(_loose())), parameters=[_id()]
            ),
            SUPERUSER,
        ),
        Entry(
            "/api/webhooks/{id}/dead-letters/replay",
            "post",
            c.operation(
                "webhooks.replayAll",
                "Send every dead letter again, oldest first, stopping at the first refusal",
                t,
                ok=_ok(_loose(delivered=_I, failed=_I, remaining=_I, attempts={"type": "array"})),
                parameters=[_id()],
            ),
            SUPERUSER,
        ),
        Entry(
            "/api/webhooks/{id}/dead-letters/{letter}/replay",
            "post",
            c.operation(
                "webhooks.replay", "Send a dead letter again", t, ok=_ok(_loose()), parameters=[_id(), _id("letter")]
            ),
            SUPERUSER,
        ),
    ]


def _graphql() -> list[Entry]:
    """The GraphQL plugin's endpoint (listed when the server runs it); its own schema is introspectable."""
    query: Schema = _loose(
        "A GraphQL request.", query=_S, variables={"type": "object"}, operationName={"type": ["string", "null"]}
    )
    answer = _ok(_loose("A GraphQL answer (errors inside it, status 200).", data={}, errors={"type": "array"}))
    refused = c.json_response(
        _loose("GraphQL's error list, not PocketBase's shape.", errors={"type": "array"}),
        "Not a GraphQL request (400), or a mutation sent with GET (405).",
    )
    extra = {"400": refused, "405": refused}
    return [
        Entry(
            "/api/graphql",
            "post",
            c.operation(
                "graphql",
                "Run a GraphQL query or mutation",
                "graphql",
                ok=answer,
                body=c.json_body(query),
                security=c.OPTIONAL_AUTH,
                extra={"400": refused},
            ),
            ANYONE,
        ),
        Entry(
            "/api/graphql",
            "get",
            c.operation(
                "graphql.get",
                "Run a GraphQL query from the URL",
                "graphql",
                ok=answer,
                parameters=[
                    c.query_param("query", "The query."),
                    c.query_param("variables", "JSON variables."),
                    c.query_param("operationName", "Which operation of the query to run."),
                ],
                security=c.OPTIONAL_AUTH,
                extra=extra,
            ),
            ANYONE,
        ),
    ]


def plugin_entries() -> list[Entry]:
    return [*_webhooks(), *_graphql()]
