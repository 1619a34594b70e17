"""An app with tracing installed and started in-process, its spans kept by the SDK's memory exporter."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx2
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from satchel.apis.server import create_app
from satchel.core.app import App
from satchel.plugins.tracing.install import install
from satchel.plugins.tracing.runtime import Tracing
from satchel.plugins.tracing.settings import TracingSettings
from satchel.testing import superuser_token
from satchel.tools import probes
from tests.cli.conftest import fake_granian, isolated_env  # noqa: F401  (the `serve` command's fixtures)

POSTS = {
    "name": "posts",
    "type": "base",
    "listRule": "",
    "viewRule": "",
    "createRule": "",
    "fields": [{"name": "title", "type": "text"}],
    "indexes": ["CREATE UNIQUE INDEX idx_posts_title ON posts (title)"],
}


async def _boom(request: Request) -> JSONResponse:
    raise RuntimeError(f"failed with {request.query_params['value']}")  # a runtime value in the message


async def _logs_and_instant(request: Request) -> JSONResponse:
    logging.getLogger("satchel.test.tracing").warning("inside a traced request")
    probes.instant("test.instant", {"test.value": 7})
    return JSONResponse({})


TEST_ROUTES = [Route("/test/boom", _boom), Route("/test/log", _logs_and_instant)]


@dataclass
class Traced:
    app: App
    client: httpx2.AsyncClient
    exporter: InMemorySpanExporter
    tracing: Tracing
    su: dict[str, str]

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def server_span(self, name: str) -> ReadableSpan:
        matching = [s for s in self.spans() if s.name == name]
        assert len(matching) == 1, [s.name for s in self.spans()]
        return matching[0]

    def children(self, parent: ReadableSpan, name: str | None = None) -> list[ReadableSpan]:
        return [
            s
            for s in self.spans()
            if s.parent is not None and s.parent.span_id == parent.context.span_id and (name is None or s.name == name)
        ]


@pytest.fixture
async def traced(app: App) -> AsyncIterator[Traced]:
    tracing = Tracing(TracingSettings(enabled=True, exporters=()))
    install(app, tracing)
    app.routes.extend(TEST_ROUTES)
    exporter = InMemorySpanExporter()
    tracing.start([SimpleSpanProcessor(exporter)])
    transport = httpx2.ASGITransport(app=create_app(app), raise_app_exceptions=False)
    try:
        async with httpx2.AsyncClient(transport=transport, base_url="http://satchel.test") as client:
            su = {"Authorization": await superuser_token(app, client)}
            r = await client.post("/api/collections", headers=su, json=POSTS)
            assert r.status_code == 200, r.text
            exporter.clear()
            yield Traced(app, client, exporter, tracing, su)
    finally:
        tracing.stop()
