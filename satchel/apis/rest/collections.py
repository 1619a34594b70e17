"""Collections API (superusers only): `/api/collections[...]`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.guards import require_superuser
from satchel.apis.request import read_body, request_info
from satchel.apis.responses import JSONResponse, no_content
from satchel.core.app import App
from satchel.core.collections.listing import list_collections
from satchel.core.errors import BadRequestError
from satchel.core.records.fields_param import apply_fields, parse_fields


def _app(request: Request) -> App:
    require_superuser(request)
    app: App = request.app.state.satchel
    return app


def _fields(request: Request, data: object) -> Response:
    return JSONResponse(apply_fields(data, parse_fields(request.query_params.get("fields", ""))))


async def list_(request: Request) -> Response:
    app = _app(request)
    return JSONResponse(await list_collections(app, dict(request.query_params), request_info(request)))


async def view(request: Request) -> Response:
    app = _app(request)
    c = await app.collections_service.get(request.path_params["collection"])
    return _fields(request, c.to_json())


async def create(request: Request) -> Response:
    app = _app(request)
    c = await app.collections_service.create(await read_body(request))
    return _fields(request, c.to_json())


async def update(request: Request) -> Response:
    app = _app(request)
    c = await app.collections_service.update(request.path_params["collection"], await read_body(request))
    return _fields(request, c.to_json())


async def delete(request: Request) -> Response:
    app = _app(request)
    await app.collections_service.delete(request.path_params["collection"])
    return no_content()


async def truncate(request: Request) -> Response:
    app = _app(request)
    await app.collections_service.truncate(request.path_params["collection"])
    return no_content()


async def import_(request: Request) -> Response:
    app = _app(request)
    body = await read_body(request)
    collections = body.get("collections")
    if not isinstance(collections, list):
        raise BadRequestError(
            "An error occurred while validating the submitted data.",
            {"collections": {"code": "validation_required", "message": "Cannot be blank."}},
        )
    await app.collections_service.import_(collections, bool(body.get("deleteMissing", False)))
    return no_content()


async def scaffolds(request: Request) -> Response:
    app = _app(request)
    return JSONResponse(app.collections_service.scaffolds())


async def rule_check(request: Request) -> Response:
    """Satchel's addition for the dashboard's rule editors: 204 when the rule would be accepted on
    save, else the same `validation_invalid_rule` error the save would give (under `rule`)."""
    app = _app(request)
    app.collections_service.check_rule_draft(await read_body(request))
    return no_content()


routes = [
    Route("/api/collections", list_, methods=["GET"]),
    Route("/api/collections", create, methods=["POST"]),
    Route("/api/collections/import", import_, methods=["PUT"]),
    Route("/api/collections/meta/scaffolds", scaffolds, methods=["GET"]),
    Route("/api/collections/meta/rule-check", rule_check, methods=["POST"]),
    Route("/api/collections/{collection}", view, methods=["GET"]),
    Route("/api/collections/{collection}", update, methods=["PATCH"]),
    Route("/api/collections/{collection}", delete, methods=["DELETE"]),
    Route("/api/collections/{collection}/truncate", truncate, methods=["DELETE"]),
]
