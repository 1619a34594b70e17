"""Placeholder: routes land with issue 6."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
