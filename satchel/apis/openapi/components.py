"""Building blocks every part of the OpenAPI document shares: the error shape, the bearer
security scheme, the list query parameters, and small constructors for operations and bodies.

Kept apart from the path builders so the records, auth and system parts describe errors,
security and `?fields=` the same way (one shape for one wire behaviour).
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]
Operation = dict[str, Any]
Paths = dict[str, dict[str, Operation]]

JSON = "application/json"
MULTIPART = "multipart/form-data"
BEARER = "bearerAuth"
SUPERUSER_NOTE = "Superusers only."


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def param_ref(name: str) -> Schema:
    return {"$ref": f"#/components/parameters/{name}"}


ERROR_SCHEMAS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "description": "PocketBase's error shape, for every 4xx and 5xx answer.",
        "required": ["status", "message", "data"],
        "properties": {
            "status": {"type": "integer", "examples": [400]},
            "message": {"type": "string", "examples": ["Failed to create record."]},
            "data": {
                "type": "object",
                "description": "Field errors by field name (nested for nested values, e.g. a collection's "
                "`fields.0.name`); empty when the error is not about fields.",
                "additionalProperties": {"anyOf": [ref("FieldError"), {"type": "object"}]},
            },
        },
    },
    "FieldError": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "examples": ["validation_required"]},
            "message": {"type": "string", "examples": ["Cannot be blank."]},
            "params": {"type": "object"},
        },
    },
    "MFARequired": {
        "type": "object",
        "description": "The first factor passed but the collection requires a second one (401, not an error body).",
        "required": ["mfaId"],
        "properties": {"mfaId": {"type": "string"}},
        "additionalProperties": False,
    },
}

_PAGE_HELP = "Page number (1-based); out-of-range values are clamped."

LIST_PARAMETERS: dict[str, Schema] = {
    "page": {"name": "page", "in": "query", "description": _PAGE_HELP, "schema": {"type": "integer", "minimum": 1}},
    "perPage": {
        "name": "perPage",
        "in": "query",
        "description": "Items per page (default 30, at most 1000).",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
    },
    "sort": {
        "name": "sort",
        "in": "query",
        "description": "Comma-separated fields, `-` for descending, e.g. `-created,title`; `@random` shuffles.",
        "schema": {"type": "string"},
    },
    "filter": {
        "name": "filter",
        "in": "query",
        "description": "A PocketBase filter expression, e.g. `title ~ 'abc' && created > '2024-01-01'`.",
        "schema": {"type": "string"},
    },
    "skipTotal": {
        "name": "skipTotal",
        "in": "query",
        "description": "Skip the count query: `totalItems` and `totalPages` are then -1 (faster).",
        "schema": {"type": "boolean"},
    },
    "expand": {
        "name": "expand",
        "in": "query",
        "description": "Relation fields to expand, comma-separated, dotted for nesting (up to 6 levels).",
        "schema": {"type": "string"},
    },
    "fields": {
        "name": "fields",
        "in": "query",
        "description": "Comma-separated keys to return (dot paths, `*`, `name:excerpt(200,true)`); by default all. "
        "Because any key may be left out, response schemas list no required keys.",
        "schema": {"type": "string"},
    },
}
LIST_PARAMS = ("page", "perPage", "sort", "filter", "skipTotal", "expand", "fields")
VIEW_PARAMS = ("expand", "fields")

SECURITY_SCHEMES: dict[str, Schema] = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "An auth token from any auth flow (or an API key); PocketBase clients send it bare in "
        "`Authorization`, which Satchel accepts too.",
    }
}
SECURED: list[dict[str, list[str]]] = [{BEARER: []}]
OPTIONAL_AUTH: list[dict[str, list[str]]] = [{}, {BEARER: []}]


def error_response(description: str = "Error (PocketBase's error shape).") -> Schema:
    return {"description": description, "content": {JSON: {"schema": ref("Error")}}}


def json_response(schema: Schema, description: str = "OK") -> Schema:
    return {"description": description, "content": {JSON: {"schema": schema}}}


NO_CONTENT: Schema = {"description": "Done (no body)."}


def json_body(schema: Schema, *, required: bool = True) -> Schema:
    return {"required": required, "content": {JSON: {"schema": schema}}}


def path_param(name: str, description: str = "") -> Schema:
    out: Schema = {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
    if description:
        out["description"] = description
    return out


def query_param(name: str, description: str, schema: Schema | None = None) -> Schema:
    return {"name": name, "in": "query", "description": description, "schema": schema or {"type": "string"}}


def operation(
    op_id: str,
    summary: str,
    tag: str,
    *,
    ok: Schema | None = None,
    status: str = "200",
    parameters: list[Schema] | None = None,
    body: Schema | None = None,
    security: list[dict[str, list[str]]] | None = None,
    description: str = "",
    extra: dict[str, Schema] | None = None,
) -> Operation:
    """One operation with PocketBase's error shape as the `default` answer (every status it may use)."""
    responses: dict[str, Schema] = {status: ok if ok is not None else NO_CONTENT}
    responses.update(extra or {})
    responses["default"] = error_response()
    out: Operation = {"operationId": op_id, "summary": summary, "tags": [tag], "responses": responses}
    if description:
        out["description"] = description
    if parameters:
        out["parameters"] = parameters
    if body is not None:
        out["requestBody"] = body
    out["security"] = security if security is not None else SECURED
    return out


def any_object(description: str = "") -> Schema:
    out: Schema = {"type": "object"}
    if description:
        out["description"] = description
    return out


def list_envelope(item: Schema, description: str = "") -> Schema:
    """PocketBase's paginated list; `totalItems`/`totalPages` are -1 with `skipTotal`."""
    out: Schema = {
        "type": "object",
        "properties": {
            "page": {"type": "integer"},
            "perPage": {"type": "integer"},
            "totalItems": {"type": "integer", "minimum": -1},
            "totalPages": {"type": "integer", "minimum": -1},
            "items": {"type": "array", "items": item},
        },
        "additionalProperties": False,
    }
    if description:
        out["description"] = description
    return out
