"""`satchel openapi export|postman` on a data directory, without a running server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner
from openapi_spec_validator import validate as validate_spec

from satchel.cli.main import main
from satchel.wiring import open_app


def _add_collections(data: Path) -> None:
    async def add() -> None:
        app = await open_app(data)
        try:
            await app.collections_service.create({"name": "open", "type": "base", "listRule": "", "viewRule": ""})
            await app.collections_service.create({"name": "locked", "type": "base"})
        finally:
            await app.realtime.close()
            await app.close()

    asyncio.run(add())


def test_export_prints_the_superusers_document_or_the_public_one(tmp_path: Path) -> None:
    data = tmp_path / "pb_data"
    _add_collections(data)
    result = CliRunner().invoke(main, ["openapi", "export", "--dir", str(data)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    validate_spec(doc)
    assert {"/api/collections/open/records", "/api/collections/locked/records", "/api/settings"} <= set(doc["paths"])
    assert "/api/webhooks" in doc["paths"]  # the events plugin's routes, as `satchel serve` has them
    out = tmp_path / "public.json"
    args = [
        "openapi",
        "export",
        "--dir",
        str(data),
        "--public",
        "--server",
        "https://api.example.com",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(main, args)
    assert (result.exit_code, result.output) == (0, "")
    public = json.loads(out.read_text())
    assert public["servers"] == [{"url": "https://api.example.com"}]
    assert "/api/collections/open/records" in public["paths"]
    assert "/api/collections/locked/records" not in public["paths"] and "/api/settings" not in public["paths"]


def test_postman_prints_a_collection_with_status_tests(tmp_path: Path) -> None:
    data = tmp_path / "pb_data"
    _add_collections(data)
    result = CliRunner().invoke(main, ["openapi", "postman", "--dir", str(data), "--base-url", "http://h:1"])
    assert result.exit_code == 0, result.output
    collection = json.loads(result.output)
    assert collection["info"]["schema"].endswith("/v2.1.0/collection.json")
    assert {"key": "baseUrl", "value": "http://h:1"} in collection["variable"]
    folder = next(f for f in collection["item"] if f["name"] == "open")
    listing = next(i for i in folder["item"] if i["request"]["method"] == "GET" and i["name"] == "List open records")
    assert listing["request"]["url"]["raw"] == "{{baseUrl}}/api/collections/open/records"
    view = next(i for i in folder["item"] if i["name"] == "View a open record")
    assert view["request"]["url"]["path"][-1] == ":id"
    assert view["request"]["url"]["variable"] == [{"key": "id", "value": "{{id}}"}]
    script = "\n".join(listing["event"][0]["script"]["exec"])
    assert "to.be.below(500)" in script and "var ok = [200];" in script
