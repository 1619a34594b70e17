"""`/api/logs`: list, view and hourly stats of the request and app logs (superusers only), as
PocketBase serves them, plus Satchel's `DELETE /api/logs` (optionally `?filter=`).

Like PocketBase, successful calls of these routes leave no `_logs` entry themselves (looking at
the logs would otherwise fill them); failed ones do.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.guards import require_superuser
from satchel.apis.middleware.request_log import SKIP_SUCCESS_LOG
from satchel.apis.responses import JSONResponse
from satchel.core.app import App
from satchel.core.errors import BadRequestError
from satchel.core.logs.service import LogsPage
from satchel.core.records.fields_param import apply_fields, parse_fields, select_list_fields
from satchel.core.records.service import ListParams
from satchel.core.rules.resolver import FilterError


def _app(request: Request) -> App:
    request.scope.setdefault("state", {})[SKIP_SUCCESS_LOG] = True
    require_superuser(request)
    app: App = request.app.state.satchel
    return app


async def list_logs(request: Request) -> Response:
    app = _app(request)
    q = request.query_params
    params = ListParams.from_query(dict(q))
    await app.logs.flush()  # what happened just before the call is part of the answer
    result = await app.logs.page(LogsPage(params.page, params.per_page, params.sort, params.filter, params.skip_total))
    return JSONResponse(select_list_fields(result, parse_fields(params.fields)))


async def logs_stats(request: Request) -> Response:
    app = _app(request)
    await app.logs.flush()
    try:
        stats = await app.logs.stats(request.query_params.get("filter", ""))
    except FilterError as exc:
        raise BadRequestError("Invalid filter format.") from exc
    return JSONResponse(stats)


async def view_log(request: Request) -> Response:
    app = _app(request)
    await app.logs.flush()
    entry = await app.logs.view(request.path_params["id"])
    return JSONResponse(apply_fields(entry, parse_fields(request.query_params.get("fields", ""))))


async def delete_logs(request: Request) -> Response:
    app = _app(request)
    deleted = await app.logs.delete(request.query_params.get("filter", ""))
    return JSONResponse({"deleted": deleted})


routes = [
    Route("/api/logs", list_logs, methods=["GET"]),
    Route("/api/logs", delete_logs, methods=["DELETE"]),
    Route("/api/logs/stats", logs_stats, methods=["GET"]),
    Route("/api/logs/{id}", view_log, methods=["GET"]),
]
