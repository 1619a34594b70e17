"""`satchel openapi export|postman`: the API description of a data directory's collections, offline.

The same document `GET /api/openapi.json` serves (as a superuser sees it, or `--public`), built
from the collections in the database and the routes `satchel serve` has built in (webhooks
included). Routes added by Python hook files are in the served document only.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from satchel.cli.instance import require_database
from satchel.config import BootConfig

DIR_HELP = "Directory of the database and uploaded files (env SATCHEL_DIR; default ./satchel_data)."
DB_HELP = "The database, when not the data.db of --dir: postgres://... (env SATCHEL_DB)."


def _document(data_dir: str | None, db: str | None, *, public: bool, server_url: str) -> dict[str, Any]:
    from satchel.apis.openapi import build_document
    from satchel.apis.server import create_app
    from satchel.plugins import events as events_plugin
    from satchel.wiring import open_app

    cfg = BootConfig.from_env(dir=data_dir, db=db)
    require_database(cfg)

    async def build() -> dict[str, Any]:
        app = await open_app(cfg.dir, db_url=cfg.db, encryption_key=cfg.encryption_key_bytes())
        try:
            events_plugin.register(app, events_plugin.EventsConfig())  # its routes only: nothing is started
            routes = create_app(app).router.routes
            return build_document(app, routes, superuser=not public, server_url=server_url)
        finally:
            await app.realtime.close()
            await app.close()

    return asyncio.run(build())


def _write(text: str, out: str | None) -> None:
    if out:
        Path(out).write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)


@click.group()
def openapi() -> None:
    """Export the OpenAPI 3.1 document of the API (or a Postman collection made from it)."""


_dir = click.option("--dir", "data_dir", default=None, type=click.Path(file_okay=False), help=DIR_HELP)
_db = click.option("--db", "db", default=None, help=DB_HELP)
_out = click.option(
    "--out", "out", default=None, type=click.Path(dir_okay=False), help="Write to FILE (default stdout)."
)
_public = click.option("--public", is_flag=True, help="As a caller who is not a superuser sees it.")


@openapi.command("export")
@_dir
@_db
@_out
@_public
@click.option("--server", "server_url", default="", help="A `servers` entry, e.g. https://api.example.com.")
def export(data_dir: str | None, db: str | None, out: str | None, public: bool, server_url: str) -> None:
    """Print the OpenAPI 3.1 document (JSON) for the data directory's collections."""
    doc = _document(data_dir, db, public=public, server_url=server_url)
    _write(json.dumps(doc, indent=2, ensure_ascii=False), out)


@openapi.command("postman")
@_dir
@_db
@_out
@_public
@click.option(
    "--base-url", default="http://127.0.0.1:8090", show_default=True, help="The collection's {{baseUrl}} variable."
)
def postman(data_dir: str | None, db: str | None, out: str | None, public: bool, base_url: str) -> None:
    """Print a Postman collection (v2.1) with a request and status tests for every operation."""
    from satchel.apis.openapi import to_postman

    doc = _document(data_dir, db, public=public, server_url="")
    _write(json.dumps(to_postman(doc, base_url), indent=2, ensure_ascii=False), out)
