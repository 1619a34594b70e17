"""Script payloads in headless Chromium: what the API serves never runs a script.

The dashboard's rendering of hostile records, names, filters and log entries is covered in
tests/e2e/test_dashboard_hostile.py and tests/e2e/test_dashboard_logs.py (CSP violation listener,
dialog watcher). This file adds what a browser may open directly, outside the dashboard: uploaded
HTML and SVG files and raw JSON responses, and the audit entries (whose field names a client picks)
in the dashboard's logs page.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import httpx2

from tests.e2e.conftest import EMAIL, PASSWORD, Watched, sign_in
from tests.e2e.dashboard_server import Server

SCRIPT = "<script>window.__pwned=1;alert(1)</script>"
HTML = f'<!doctype html><html><body><h1>hi</h1>{SCRIPT}<img src=x onerror="window.__pwned=2"></body></html>'
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=3;alert(3)"><script>window.__pwned=4</script></svg>'
)


def _inert(w: Watched) -> None:
    assert w.page.evaluate("window.__pwned") is None
    assert w.dialogs == []
    assert w.errors == []


def _uploads(server: Server, token: str) -> tuple[str, dict[str, Any]]:
    server.api(
        "POST",
        "/api/collections",
        {
            "name": "uploads",
            "type": "base",
            "listRule": "",
            "viewRule": "",
            "createRule": "",
            "fields": [{"name": "title", "type": "text"}, {"name": "f", "type": "file", "maxSelect": 5}],
        },
        token=token,
    )
    r = httpx2.post(
        server.url + "/api/collections/uploads/records",
        data={"title": SCRIPT},
        files=[("f", ("evil.html", HTML.encode(), "text/html")), ("f", ("evil.svg", SVG.encode(), "image/svg+xml"))],
        timeout=30,
    )
    assert r.status_code == 200, r.text
    record: dict[str, Any] = r.json()
    return record["id"], record


def test_uploaded_html_and_svg_never_run_script(server: Server, watched: Watched) -> None:
    from playwright.sync_api import Error as PlaywrightError

    token = server.sign_in(EMAIL, PASSWORD)
    record_id, record = _uploads(server, token)
    assert sorted(n.rsplit(".", 1)[1] for n in record["f"]) == ["html", "svg"]
    for name in record["f"]:
        url = f"{server.url}/api/files/uploads/{record_id}/{name}"
        head = httpx2.get(url, timeout=30).headers
        # never rendered by the browser (an attachment), and sandboxed with no sources if it were
        assert head["content-disposition"].startswith("attachment")
        assert "sandbox" in head["content-security-policy"] and "default-src 'none'" in head["content-security-policy"]
        assert head["x-content-type-options"] == "nosniff"
        # "Download is starting": the navigation ends there, with a download and no document
        with watched.page.expect_download() as download, contextlib.suppress(PlaywrightError):
            watched.page.goto(url)
        assert download.value.suggested_filename == name
        _inert(watched)


def test_raw_json_responses_never_run_script(server: Server, watched: Watched) -> None:
    token = server.sign_in(EMAIL, PASSWORD)
    record_id, _ = _uploads(server, token) if not _exists(server) else (_first_id(server), None)
    for path in (
        f"/api/collections/uploads/records/{record_id}",
        "/api/collections/uploads/records?filter=" + "title%3D%22%3Cscript%3Ealert(1)%3C%2Fscript%3E%22",
        "/api/collections/%3Cscript%3Ealert(1)%3C%2Fscript%3E/records",
    ):
        response = watched.page.goto(server.url + path)
        assert response is not None
        assert response.headers["content-type"].startswith("application/json")
        assert watched.page.evaluate("document.contentType") == "application/json"
        _inert(watched)


def _exists(server: Server) -> bool:
    try:
        server.api("GET", "/api/collections/uploads/records")
    except Exception:
        return False
    return True


def _first_id(server: Server) -> str:
    return str(server.api("GET", "/api/collections/uploads/records")["items"][0]["id"])


def test_audit_entries_with_hostile_field_names_render_as_text(server: Server, watched: Watched) -> None:
    hostile = '<img src=x onerror="window.__pwned=5">'
    token = server.sign_in(EMAIL, PASSWORD)
    r = httpx2.patch(
        server.url + "/api/settings", json={hostile: 1, "meta": {}}, headers={"Authorization": token}, timeout=30
    )
    assert r.status_code in (200, 400), r.text
    query = "/api/logs?filter=" + "data.audit%3Dtrue%26%26data.action.route%3D%22%2Fapi%2Fsettings%22"
    deadline = time.monotonic() + 15
    while not server.api("GET", query, token=token)["items"]:  # logs are written in batches
        assert time.monotonic() < deadline, "the audit entry was never written"
        time.sleep(0.2)
    page = watched.page
    sign_in(watched, server)
    page.get_by_role("link", name="Logs").click()
    page.get_by_role("heading", name="Logs").wait_for()
    page.get_by_label("Filter").fill('data.audit = true && data.action.route = "/api/settings"')
    page.get_by_label("Level").select_option("4")
    page.get_by_role("button", name="Apply").click()
    row = page.locator("tbody tr").filter(has_text="Superuser action: PATCH /api/settings").first
    row.wait_for()
    row.get_by_role("button", name="Details").click()
    dialog = page.get_by_role("dialog")
    assert json.dumps(hostile)[1:-1] in dialog.inner_text()  # shown as the JSON text it is
    assert page.locator("img[src=x]").count() == 0
    _inert(watched)
    watched.assert_clean()
