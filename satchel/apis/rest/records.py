"""Record CRUD endpoints: `/api/collections/{collection}/records[/{id}]`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.request import closes_form, read_body, request_info
from satchel.apis.responses import JSONResponse, no_content
from satchel.core.app import App
from satchel.core.records.service import ListParams


def _app(request: Request) -> App:
    app: App = request.app.state.satchel
    return app


async def list_records(request: Request) -> Response:
    app = _app(request)
    params = ListParams.from_query(dict(request.query_params))
    result = await app.records.list(request.path_params["collection"], request_info(request), params)
    return JSONResponse(result)


async def view_record(request: Request) -> Response:
    app = _app(request)
    q = request.query_params
    result = await app.records.view(
        request.path_params["collection"],
        request.path_params["id"],
        request_info(request),
        q.get("expand", ""),
        q.get("fields", ""),
    )
    return JSONResponse(result)


@closes_form
async def create_record(request: Request) -> Response:
    app = _app(request)
    body = await read_body(request, uploads=True)
    q = request.query_params
    result = await app.records.create(
        request.path_params["collection"], body, request_info(request, body), q.get("expand", ""), q.get("fields", "")
    )
    return JSONResponse(result)


@closes_form
async def update_record(request: Request) -> Response:
    app = _app(request)
    body = await read_body(request, uploads=True)
    q = request.query_params
    result = await app.records.update(
        request.path_params["collection"],
        request.path_params["id"],
        body,
        request_info(request, body),
        q.get("expand", ""),
        q.get("fields", ""),
    )
    return JSONResponse(result)


async def delete_record(request: Request) -> Response:
    app = _app(request)
    await app.records.delete(request.path_params["collection"], request.path_params["id"], request_info(request))
    return no_content()


routes = [
    Route("/api/collections/{collection}/records", list_records, methods=["GET"]),
    Route("/api/collections/{collection}/records", create_record, methods=["POST"]),
    Route("/api/collections/{collection}/records/{id}", view_record, methods=["GET"]),
    Route("/api/collections/{collection}/records/{id}", update_record, methods=["PATCH"]),
    Route("/api/collections/{collection}/records/{id}", delete_record, methods=["DELETE"]),
]
