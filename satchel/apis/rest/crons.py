"""`/api/crons`: the scheduled jobs and "run now" (superusers only), as PocketBase serves them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.guards import require_superuser
from satchel.apis.responses import JSONResponse, no_content
from satchel.core.app import App


def _app(request: Request) -> App:
    require_superuser(request)
    app: App = request.app.state.satchel
    return app


async def list_crons(request: Request) -> Response:
    return JSONResponse([{"id": j.id, "expression": j.expression} for j in _app(request).crons.jobs()])


async def run_cron(request: Request) -> Response:
    # answered before the job ends, as PocketBase fires and forgets it
    _app(request).crons.run_in_background(request.path_params["id"])
    return no_content()


routes = [
    Route("/api/crons", list_crons, methods=["GET"]),
    Route("/api/crons/{id}", run_cron, methods=["POST"]),
]
