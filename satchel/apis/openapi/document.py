"""The OpenAPI 3.1 document of a running server, built from its live collections and routes.

Two audiences (documented in docs/openapi.md): superusers see every collection and route;
anyone else sees the collections whose list or view rule is not locked (only the operations
whose rule is not locked), their auth flows, and the routes that are not superuser-only. An
operation is listed only when the server really has its route, so a plugin that is off leaves
no phantom paths, and a route nobody described (a Python hook's, a plugin's) still appears,
with its path parameters and the error shape.

Building takes a few milliseconds; the encoded document is cached per audience and schema
version (`CollectionRegistry.version`, bumped on every collection change, also when another
process's change is loaded), so the cache is never stale and costs one lookup.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.routing import BaseRoute, Route

from satchel import __version__
from satchel.apis.openapi import components as c
from satchel.apis.openapi.components import Paths
from satchel.apis.openapi.plugin_paths import plugin_entries
from satchel.apis.openapi.record_paths import auth_paths, record_components, record_paths
from satchel.apis.openapi.system_paths import ANYONE, SCHEMAS, system_entries
from satchel.core.app import App
from satchel.core.collections.model import Collection

UNDOCUMENTED_PREFIXES = ("/_", "/api/docs/")
"""The dashboard's files and the docs page's assets: pages and scripts, not API."""
_PARAM = re.compile(r"{(\w+)(?::\w+)?}")

Served = set[tuple[str, str]]


def served_operations(routes: Iterable[BaseRoute]) -> Served:
    """(path template, lower-case method) of every HTTP route; HEAD goes with GET."""
    out: Served = set()
    for route in routes:
        if isinstance(route, Route):
            path = _PARAM.sub(r"{\1}", route.path)
            for method in route.methods or ():
                if method != "HEAD":
                    out.add((path, method.lower()))
    return out


def _template(path: str, collection: Collection) -> str:
    prefix = f"/api/collections/{collection.name}"
    return "/api/collections/{collection}" + path[len(prefix) :] if path.startswith(prefix + "/") else path


def _visible(collection: Collection, superuser: bool) -> bool:
    return superuser or collection.listRule is not None or collection.viewRule is not None


def _keep(paths: Paths, served: Served, template: Any) -> tuple[Paths, Served]:
    """The operations the server has a route for, and which (template, method) pairs they cover."""
    kept: Paths = {}
    covered: Served = set()
    for path, ops in paths.items():
        key = template(path)
        chosen = {m: op for m, op in ops.items() if (key, m) in served}
        if chosen:
            kept[path] = chosen
            covered.update((key, m) for m in chosen)
    return kept, covered


def _collection_part(
    collections: Sequence[Collection], served: Served, superuser: bool
) -> tuple[Paths, dict[str, Any], Served, list[dict[str, str]]]:
    paths: Paths = {}
    schemas: dict[str, Any] = {}
    covered: Served = set()
    tags: list[dict[str, str]] = []
    for collection in sorted(collections, key=lambda x: (x.system, x.name)):  # the application's own first
        if not _visible(collection, superuser):
            continue
        part = record_paths(collection, superuser=superuser)
        if collection.is_auth:
            part.update(auth_paths(collection, superuser=superuser))
        kept, cov = _keep(part, served, lambda p, col=collection: _template(p, col))
        if not kept:
            continue
        paths.update(kept)
        covered |= cov
        schemas.update(record_components(collection, reveal_hidden=superuser))
        kind = {"auth": "Auth collection", "view": "View collection (read-only)"}.get(collection.type, "Collection")
        tags.append({"name": collection.name, "description": f"{kind} `{collection.name}` ({collection.id})."})
        if collection.is_auth:
            tags.append({"name": f"{collection.name} auth", "description": f"Sign-in flows of `{collection.name}`."})
    return paths, schemas, covered, tags


def _undocumented(served: Served, covered: Served) -> Paths:
    """Routes no one described (hooks, plugins): path parameters and the error shape, nothing more."""
    out: Paths = {}
    for path, method in sorted(served - covered):
        if path.startswith("/api/collections/{collection}/") or path.startswith(UNDOCUMENTED_PREFIXES) or path == "/_":
            continue  # per-collection routes are described per collection, or not served to this caller
        params = [c.path_param(name) for name in _PARAM.findall(path)]
        op_id = "custom." + method + re.sub(r"\W+", "_", path).strip("_")
        out.setdefault(path, {})[method] = c.operation(
            op_id,
            f"{method.upper()} {path}",
            "custom",
            ok={"description": "Answer of a custom route."},
            parameters=params,
            security=c.OPTIONAL_AUTH,
            description="Added by a plugin or a Python hook; not described further.",
        )
    return out


def build_document(app: App, routes: Iterable[BaseRoute], *, superuser: bool, server_url: str = "") -> dict[str, Any]:
    served = served_operations(routes)
    paths, schemas, covered, tags = _collection_part(app.collections.all(), served, superuser)
    system: Paths = {}
    for entry in [*system_entries(), *plugin_entries()]:
        if (entry.path, entry.method) not in served:
            continue
        covered.add((entry.path, entry.method))
        if superuser or entry.audience == ANYONE:
            system.setdefault(entry.path, {})[entry.method] = entry.operation
    # templated system paths after the concrete collection ones (`/api/collections/import` before `{collection}`)
    paths.update(system)
    if superuser:
        paths.update(_undocumented(served, covered))
    name = str(app.settings.current.get("meta", {}).get("appName") or "Satchel")
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": f"{name} API",
            "version": __version__,
            "description": "PocketBase-compatible REST API of this Satchel server, generated from its live "
            "collections. Errors use one shape everywhere: `{status, message, data}` (see `Error`).",
        },
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": {**c.ERROR_SCHEMAS, **SCHEMAS, **schemas},
            "parameters": c.LIST_PARAMETERS,
            "securitySchemes": c.SECURITY_SCHEMES,
        },
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    etag: str


class DocumentCache:
    """Encoded documents by (schema version, audience, app name); older versions are dropped."""

    def __init__(self) -> None:
        self._entries: dict[tuple[int, bool, str], Rendered] = {}

    def get(self, app: App, routes: Sequence[BaseRoute], *, superuser: bool) -> Rendered:
        name = str(app.settings.current.get("meta", {}).get("appName") or "")
        key = (app.collections.version, superuser, name)
        hit = self._entries.get(key)
        if hit is not None:
            return hit
        body = orjson.dumps(build_document(app, routes, superuser=superuser))
        rendered = Rendered(body, '"' + hashlib.sha256(body).hexdigest()[:24] + '"')
        self._entries = {k: v for k, v in self._entries.items() if k[0] == key[0] and k[2] == name}
        self._entries[key] = rendered
        return rendered
