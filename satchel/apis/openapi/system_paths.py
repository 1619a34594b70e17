"""Every route that is not about one collection's records: health, the collections, settings,
logs, crons, backups, files, batch, realtime, API keys, webhooks and OAuth2's redirect.

Each entry says who may call it (`SUPERUSER` or `ANYONE`), so the document shown to a caller
who is not a superuser leaves out what would only answer 403. Routes that plugins serve
(webhooks, GraphQL) are described in `plugin_paths`.
"""

from __future__ import annotations

from dataclasses import dataclass

from satchel.apis.openapi import components as c
from satchel.apis.openapi.components import Operation, Schema

SUPERUSER = "superuser"
ANYONE = "anyone"


@dataclass(frozen=True, slots=True)
class Entry:
    path: str
    method: str
    operation: Operation
    audience: str


def _loose(description: str = "", **props: Schema) -> Schema:
    out: Schema = {"type": "object"}
    if props:
        out["properties"] = props
    if description:
        out["description"] = description
    return out


_S: Schema = {"type": "string"}
_I: Schema = {"type": "integer"}
_B: Schema = {"type": "boolean"}
_RULE: Schema = {"type": ["string", "null"], "description": "A filter expression; null: superusers only."}

SCHEMAS: dict[str, Schema] = {
    "Collection": _loose(
        "A collection (PocketBase's JSON, key for key; auth collections add their auth options, views `viewQuery`).",
        id=_S,
        name=_S,
        type={"type": "string", "enum": ["base", "auth", "view"]},
        system=_B,
        fields={"type": "array", "items": {"type": "object"}},
        indexes={"type": "array", "items": _S},
        listRule=_RULE,
        viewRule=_RULE,
        createRule=_RULE,
        updateRule=_RULE,
        deleteRule=_RULE,
        created=_S,
        updated=_S,
    ),
    "CollectionInput": _loose(
        "A collection to create or the keys to change; `fields` replaces the whole field list.",
        name=_S,
        type={"type": "string", "enum": ["base", "auth", "view"]},
        fields={"type": "array", "items": {"type": "object", "properties": {"name": _S, "type": _S}}},
        indexes={"type": "array", "items": _S},
        listRule=_RULE,
        viewRule=_RULE,
        createRule=_RULE,
        updateRule=_RULE,
        deleteRule=_RULE,
        viewQuery=_S,
    ),
    "Settings": _loose(
        "The runtime settings (secrets are never shown: their keys come back empty).",
        meta=_loose(),
        smtp=_loose(),
        s3=_loose(),
        backups=_loose(),
        batch=_loose(),
        rateLimits=_loose(),
        trustedProxy=_loose(),
        logs=_loose(),
    ),
    "Log": _loose("A request or app log entry.", id=_S, created=_S, level=_I, message=_S, data=_loose()),
    "AuthMethods": _loose(
        "What an auth collection offers to sign in with.",
        password=_loose(enabled=_B, identityFields={"type": "array", "items": _S}),
        oauth2=_loose(enabled=_B, providers={"type": "array", "items": {"type": "object"}}),
        mfa=_loose(enabled=_B, duration=_I),
        otp=_loose(enabled=_B, duration=_I),
    ),
    "ApiKey": _loose(
        "An API key (its secret `key` only in the create answer).",
        id=_S,
        name=_S,
        prefix=_S,
        scopes={"type": "array", "items": _loose(collection=_S, actions={"type": "array", "items": _S})},
        expires=_S,
        lastUsed=_S,
        created=_S,
        updated=_S,
    ),
    "Webhook": _loose("A webhook: where record changes are posted, signed.", id=_S, name=_S, url=_S),
    "BatchRequest": _loose(
        "Record writes run in one transaction.",
        requests={
            "type": "array",
            "items": {
                "type": "object",
                "required": ["method", "url"],
                "properties": {
                    "method": {"type": "string", "enum": ["POST", "PATCH", "PUT", "DELETE"]},
                    "url": {"type": "string", "examples": ["/api/collections/posts/records"]},
                    "headers": {"type": "object"},
                    "body": {"type": "object"},
                },
            },
        },
    ),
}


def _ok(schema: Schema) -> Schema:
    return c.json_response(schema)


def _id(name: str = "id", description: str = "") -> Schema:
    return c.path_param(name, description)


def _loose_list(item: Schema) -> Schema:
    return _loose(
        "A paginated list.", page=_I, perPage=_I, totalItems=_I, totalPages=_I, items={"type": "array", "items": item}
    )


_FIELDS = [c.param_ref("fields")]
_LIST = [c.param_ref(n) for n in ("page", "perPage", "sort", "filter", "skipTotal", "fields")]


def _collections() -> list[Entry]:
    t = "collections"
    col = c.ref("Collection")
    name = _id("collection", "Collection id or name.")
    body = c.json_body(c.ref("CollectionInput"))
    return [
        Entry(
            "/api/collections",
            "get",
            c.operation("collections.list", "List collections", t, ok=_ok(_loose_list(col)), parameters=_LIST),
            SUPERUSER,
        ),
        Entry(
            "/api/collections",
            "post",
            c.operation("collections.create", "Create a collection", t, ok=_ok(col), parameters=_FIELDS, body=body),
            SUPERUSER,
        ),
        Entry(
            "/api/collections/import",
            "put",
            c.operation(
                "collections.import",
                "Import collections",
                t,
                status="204",
                body=c.json_body(
                    _loose(collections={"type": "array", "items": c.ref("CollectionInput")}, deleteMissing=_B)
                )
                | {"required": True},
            ),
            SUPERUSER,
        ),
        Entry(
            "/api/collections/meta/scaffolds",
            "get",
            c.operation(
                "collections.scaffolds",
                "New-collection templates by type",
                t,
                ok=_ok(_loose(base=col, auth=col, view=col)),
            ),
            SUPERUSER,
        ),
        Entry(
            "/api/collections/meta/rule-check",
            "post",
            c.operation(
                "collections.ruleCheck",
                "Check an API rule as a save would (Satchel's addition for rule editors)",
                t,
                status="204",
                body=c.json_body(
                    {
                        "type": "object",
                        "required": ["rule", "collection"],
                        "properties": {
                            "rule": _S,
                            "collection": {
                                "anyOf": [_S, c.ref("CollectionInput")],
                                "description": "An existing collection's id or name, or a draft being edited.",
                            },
                        },
                    }
                ),
                description="204 when the rule would be accepted; the save's `validation_invalid_rule` otherwise.",
            ),
            SUPERUSER,
        ),
        Entry(
            "/api/collections/{collection}",
            "get",
            c.operation("collections.view", "View a collection", t, ok=_ok(col), parameters=[name, *_FIELDS]),
            SUPERUSER,
        ),
        Entry(
            "/api/collections/{collection}",
            "patch",
            c.operation(
                "collections.update", "Update a collection", t, ok=_ok(col), parameters=[name, *_FIELDS], body=body
            ),
            SUPERUSER,
        ),
        Entry(
            "/api/collections/{collection}",
            "delete",
            c.operation("collections.delete", "Delete a collection", t, status="204", parameters=[name]),
            SUPERUSER,
        ),
        Entry(
            "/api/collections/{collection}/truncate",
            "delete",
            c.operation(
                "collections.truncate", "Delete every record of a collection", t, status="204", parameters=[name]
            ),
            SUPERUSER,
        ),
    ]


def _settings_and_logs() -> list[Entry]:
    t, lt, ct = "settings", "logs", "crons"
    return [
        Entry(
            "/api/settings",
            "get",
            c.operation("settings.get", "The runtime settings", t, ok=_ok(c.ref("Settings"))),
            SUPERUSER,
        ),
        Entry(
            "/api/settings",
            "patch",
            c.operation(
                "settings.update",
                "Change runtime settings",
                t,
                ok=_ok(c.ref("Settings")),
                body=c.json_body(c.ref("Settings")),
            ),
            SUPERUSER,
        ),
        Entry(
            "/api/settings/test/email",
            "post",
            c.operation(
                "settings.testEmail",
                "Send a test email",
                t,
                status="204",
                body=c.json_body(
                    {
                        "type": "object",
                        "required": ["email", "template"],
                        "properties": {
                            "email": {"type": "string", "format": "email"},
                            "collection": _S,
                            "template": {
                                "type": "string",
                                "enum": ["verification", "password-reset", "email-change", "otp", "login-alert"],
                            },
                        },
                    }
                ),
            ),
            SUPERUSER,
        ),
        Entry(
            "/api/settings/test/s3",
            "post",
            c.operation(
                "settings.testS3",
                "Check the S3 settings",
                t,
                status="204",
                body=c.json_body(
                    {"type": "object", "properties": {"filesystem": {"type": "string", "enum": ["storage", "backups"]}}}
                ),
            ),
            SUPERUSER,
        ),
        Entry(
            "/api/logs",
            "get",
            c.operation("logs.list", "List logs", lt, ok=_ok(_loose_list(c.ref("Log"))), parameters=_LIST),
            SUPERUSER,
        ),
        Entry(
            "/api/logs",
            "delete",
            c.operation(
                "logs.delete",
                "Delete logs (all, or those matching `filter`)",
                lt,
                ok=_ok(_loose(deleted=_I)),
                parameters=[c.param_ref("filter")],
            ),
            SUPERUSER,
        ),
        Entry(
            "/api/logs/stats",
            "get",
            c.operation(
                "logs.stats",
                "Log counts per hour",
                lt,
                ok=_ok({"type": "array", "items": _loose(total=_I, date=_S)}),
                parameters=[c.param_ref("filter")],
            ),
            SUPERUSER,
        ),
        Entry(
            "/api/logs/{id}",
            "get",
            c.operation("logs.view", "View a log entry", lt, ok=_ok(c.ref("Log")), parameters=[_id(), *_FIELDS]),
            SUPERUSER,
        ),
        Entry(
            "/api/crons",
            "get",
            c.operation(
                "crons.list", "List cron jobs", ct, ok=_ok({"type": "array", "items": _loose(id=_S, expression=_S)})
            ),
            SUPERUSER,
        ),
        Entry(
            "/api/crons/{id}",
            "post",
            c.operation("crons.run", "Run a cron job now (not waited for)", ct, status="204", parameters=[_id()]),
            SUPERUSER,
        ),
    ]


def _backups_and_files() -> list[Entry]:
    t, ft = "backups", "files"
    key = _id("key", "The backup file name.")
    binary: Schema = {"type": "string", "format": "binary"}
    return [
        Entry(
            "/api/backups",
            "get",
            c.operation(
                "backups.list",
                "List backups",
                t,
                ok=_ok({"type": "array", "items": _loose(key=_S, size=_I, modified=_S)}),
            ),
            SUPERUSER,
        ),
        Entry(
            "/api/backups",
            "post",
            c.operation(
                "backups.create",
                "Create a backup",
                t,
                status="204",
                body=c.json_body(_loose(name={"type": "string", "pattern": "^[a-z0-9_-]+\\.zip$"}), required=False),
            ),
            SUPERUSER,
        ),
        Entry(
            "/api/backups/upload",
            "post",
            c.operation(
                "backups.upload",
                "Upload a backup archive",
                t,
                status="204",
                body={
                    "required": True,
                    "content": {
                        c.MULTIPART: {
                            "schema": {"type": "object", "required": ["file"], "properties": {"file": binary}}
                        }
                    },
                },
            ),
            SUPERUSER,
        ),
        Entry(
            "/api/backups/{key}",
            "get",
            c.operation(
                "backups.download",
                "Download a backup",
                t,
                ok={"description": "The archive.", "content": {"application/zip": {"schema": binary}}},
                parameters=[key, c.query_param("token", "A superuser file token (POST /api/files/token).")],
                security=[{}],
            ),
            SUPERUSER,
        ),
        Entry(
            "/api/backups/{key}",
            "delete",
            c.operation("backups.delete", "Delete a backup", t, status="204", parameters=[key]),
            SUPERUSER,
        ),
        Entry(
            "/api/backups/{key}/restore",
            "post",
            c.operation(
                "backups.restore", "Restore a backup (the server restarts on it)", t, status="204", parameters=[key]
            ),
            SUPERUSER,
        ),
        Entry(
            "/api/files/token",
            "post",
            c.operation(
                "files.token",
                "Issue a short-lived file token",
                ft,
                ok=_ok({"type": "object", "properties": {"token": _S}, "required": ["token"]}),
            ),
            ANYONE,
        ),
        Entry(
            "/api/files/{collection}/{recordId}/{filename}",
            "get",
            c.operation(
                "files.download",
                "Download a record's file (or a thumbnail of an image)",
                ft,
                ok={"description": "The file.", "content": {"application/octet-stream": {"schema": binary}}},
                parameters=[
                    _id("collection", "Collection id or name."),
                    _id("recordId"),
                    _id("filename"),
                    c.query_param("thumb", "`WxH`, `WxHt`, `WxHb`, `WxHf`, `0xH` or `Wx0`, one of the field's thumbs."),
                    c.query_param("token", "A file token, for protected files."),
                    c.query_param("download", "`1` to send it as an attachment."),
                ],
                security=c.OPTIONAL_AUTH,
            ),
            ANYONE,
        ),
    ]


def _misc() -> list[Entry]:
    text: Schema = {"type": "string"}
    return [
        Entry(
            "/api/health",
            "get",
            c.operation(
                "health",
                "Health check",
                "health",
                ok=_ok({"type": "object", "properties": {"message": _S, "code": _I, "data": {"type": "object"}}}),
                security=[{}],
            ),
            ANYONE,
        ),
        Entry(
            "/api/batch",
            "post",
            c.operation(
                "batch",
                "Several record writes in one transaction",
                "batch",
                ok=_ok({"type": "array", "items": _loose(status=_I, body={})}),
                body=c.json_body(c.ref("BatchRequest")),
                security=c.OPTIONAL_AUTH,
            ),
            ANYONE,
        ),
        Entry(
            "/api/realtime",
            "get",
            c.operation(
                "realtime.connect",
                "Open the realtime event stream (SSE)",
                "realtime",
                ok={
                    "description": "A `text/event-stream`; the first event, `PB_CONNECT`, carries the `clientId`.",
                    "content": {"text/event-stream": {"schema": text}},
                },
                security=[{}],
            ),
            ANYONE,
        ),
        Entry(
            "/api/realtime",
            "post",
            c.operation(
                "realtime.subscribe",
                "Set the subscriptions of a realtime client",
                "realtime",
                status="204",
                body=c.json_body(
                    {
                        "type": "object",
                        "required": ["clientId"],
                        "properties": {"clientId": _S, "subscriptions": {"type": "array", "items": _S}},
                    }
                ),
                security=c.OPTIONAL_AUTH,
            ),
            ANYONE,
        ),
        Entry(
            "/api/oauth2-redirect",
            "get",
            c.operation(
                "oauth2.redirect",
                "Where OAuth2 providers send the browser",
                "oauth2",
                ok={
                    "description": "A short page for the popup.",
                    "content": {"text/html": {"schema": text}, "text/plain": {"schema": text}},
                },
                parameters=[
                    c.query_param("state", "The state the flow started with."),
                    c.query_param("code", "The code."),
                    c.query_param("error", "The provider's error."),
                ],
                security=[{}],
            ),
            ANYONE,
        ),
        Entry(
            "/api/oauth2-redirect",
            "post",
            c.operation(
                "oauth2.redirectPost",
                "Where OAuth2 providers post the browser (`response_mode=form_post`)",
                "oauth2",
                ok={
                    "description": "A short page for the popup.",
                    "content": {"text/html": {"schema": text}, "text/plain": {"schema": text}},
                },
                body={
                    "required": False,
                    "content": {"application/x-www-form-urlencoded": {"schema": _loose(state=_S, code=_S, error=_S)}},
                },
                security=[{}],
            ),
            ANYONE,
        ),
    ]


def _keys() -> list[Entry]:
    t = "api keys"
    key = c.ref("ApiKey")
    body = c.json_body(
        _loose(
            name=_S,
            expires=_S,
            scopes={
                "type": "array",
                "items": _loose(
                    collection=_S,
                    actions={
                        "type": "array",
                        "items": {"type": "string", "enum": ["list", "view", "create", "update", "delete"]},
                    },
                ),
            },
        )
    )
    note = "With an auth token (not with an API key)."
    return [
        Entry(
            "/api/keys",
            "get",
            c.operation(
                "keys.list", "List your API keys", t, ok=_ok(_loose_list(key)), parameters=_LIST, description=note
            ),
            ANYONE,
        ),
        Entry(
            "/api/keys",
            "post",
            c.operation("keys.create", "Create an API key", t, ok=_ok(key), body=body, description=note),
            ANYONE,
        ),
        Entry(
            "/api/keys/{id}",
            "get",
            c.operation("keys.view", "View an API key", t, ok=_ok(key), parameters=[_id()], description=note),
            ANYONE,
        ),
        Entry(
            "/api/keys/{id}",
            "patch",
            c.operation(
                "keys.update", "Change an API key", t, ok=_ok(key), parameters=[_id()], body=body, description=note
            ),
            ANYONE,
        ),
        Entry(
            "/api/keys/{id}",
            "delete",
            c.operation("keys.revoke", "Revoke an API key", t, status="204", parameters=[_id()], description=note),
            ANYONE,
        ),
    ]


def _self() -> list[Entry]:
    return [
        Entry(
            "/api/openapi.json",
            "get",
            c.operation(
                "openapi",
                "This document",
                "docs",
                ok=_ok({"type": "object"}),
                security=c.OPTIONAL_AUTH,
                description="Superusers see every collection and route; others the operations they may call.",
            ),
            ANYONE,
        ),
        Entry(
            "/api/docs",
            "get",
            c.operation(
                "docs",
                "Interactive API documentation",
                "docs",
                ok={"description": "An HTML page.", "content": {"text/html": {"schema": {"type": "string"}}}},
                security=[{}],
            ),
            ANYONE,
        ),
    ]


def system_entries() -> list[Entry]:
    return [
        *_misc(),
        *_collections(),
        *_settings_and_logs(),
        *_backups_and_files(),
        *_keys(),
        *_self(),
    ]
