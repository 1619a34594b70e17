"""Installs GraphQL at `/api/graphql`: one HTTP route (GET/POST) and one WebSocket route, same path."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.routing import Route, WebSocketRoute

from satchel.core.app import App
from satchel.plugins.graphql.execution import GraphQLService, Options
from satchel.plugins.graphql.http import endpoint
from satchel.plugins.graphql.ws import socket_endpoint

PATH = "/api/graphql"


@dataclass(slots=True)
class GraphQL:
    service: GraphQLService


def register(app: App, options: Options | None = None) -> GraphQL:
    service = GraphQLService(app, options)
    app.routes.append(Route(PATH, endpoint(service), methods=["GET", "POST"]))
    app.routes.append(WebSocketRoute(PATH, socket_endpoint(service)))
    return GraphQL(service)
