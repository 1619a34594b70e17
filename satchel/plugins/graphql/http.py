"""`GET|POST /api/graphql`: GraphQL over HTTP (queries and mutations; subscriptions use the WebSocket).

POST takes `{"query", "variables", "operationName"}` as JSON (or the document itself as
`application/graphql`); GET takes the same as query parameters and runs queries only, never a
mutation. A request GraphQL can answer is answered 200 with `{data, errors}`; a body that is not
a GraphQL request at all gets 400 with `{errors}` (GraphQL clients read errors only from there).
Rate limits count each root field as one request (`ratelimit.Charge`): an operation of ten
aliases spends the budget of ten REST calls, and is refused with PocketBase's 429 before it runs
when that exceeds the rule.
"""

from __future__ import annotations

from typing import Any

import orjson
from graphql import OperationType
from starlette.requests import Request
from starlette.responses import Response

from satchel.apis.middleware.ratelimit import charge_of, too_many
from satchel.apis.middleware.request_log import AUDITED_BY_HANDLER
from satchel.apis.request import parse_json_object, request_info
from satchel.apis.responses import JSONResponse
from satchel.core.app import App
from satchel.core.errors import BadRequestError
from satchel.plugins.graphql.context import Context
from satchel.plugins.graphql.errors import request_error
from satchel.plugins.graphql.execution import GraphQLService

NOT_A_REQUEST = "The body must be a JSON object with a string `query` (GraphQL over HTTP)."
BAD_VARIABLES = "`variables` must be a JSON object."
GET_MUTATION = "Mutations are not run on GET: send them with POST."
USE_WEBSOCKET = "Subscriptions are served over WebSocket at /api/graphql (protocol graphql-transport-ws)."


def _refused(message: str, status: int = 400) -> Response:
    return JSONResponse({"errors": [request_error(message, status)]}, status_code=status)


async def _read(request: Request) -> tuple[Any, Any, Any]:
    if request.method == "GET":
        q = request.query_params
        variables: Any = q.get("variables")
        if variables:
            try:
                variables = orjson.loads(variables)
            except orjson.JSONDecodeError as exc:
                raise BadRequestError(BAD_VARIABLES) from exc
        return q.get("query", ""), variables, q.get("operationName")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if ctype == "application/graphql":
        return raw.decode("utf-8", "replace"), None, None
    try:
        body = parse_json_object(raw)
    except BadRequestError as exc:
        raise BadRequestError(NOT_A_REQUEST) from exc
    return body.get("query"), body.get("variables"), body.get("operationName")


def endpoint(service: GraphQLService) -> Any:
    async def graphql_http(request: Request) -> Response:
        request.scope.setdefault("state", {})[AUDITED_BY_HANDLER] = True  # one entry per mutation: `audit`
        app: App = request.app.state.satchel
        try:
            query, variables, operation_name = await _read(request)
        except BadRequestError as exc:
            return _refused(exc.message)
        if not isinstance(query, str) or not query.strip():
            return _refused(NOT_A_REQUEST)
        if variables is None:
            variables = {}
        if not isinstance(variables, dict):
            return _refused(BAD_VARIABLES)
        if operation_name is not None and not isinstance(operation_name, str):
            return _refused(NOT_A_REQUEST)
        prepared = service.prepare(query, variables, operation_name)
        if prepared.document is None:
            return JSONResponse({"errors": prepared.errors})
        if prepared.operation is OperationType.SUBSCRIPTION:
            return _refused(USE_WEBSOCKET)
        if prepared.operation is OperationType.MUTATION and request.method == "GET":
            return _refused(GET_MUTATION, 405)
        charge = charge_of(request.scope)  # the request was counted once: count its other root fields
        if charge is not None and not await charge.more(prepared.root_fields - 1):
            return too_many(charge)
        state = request.scope.get("state") or {}
        key, peer = state.get("api_key"), request.client
        ctx = Context(
            app,
            request_info(request),
            str(request.base_url).rstrip("/"),
            request_id=str(state.get("request_id", "")),
            api_key_id="" if key is None else key.id,
            remote_ip="" if peer is None else str(peer.host),
        )
        return JSONResponse(await service.execute(ctx, prepared, variables, operation_name))

    return graphql_http
