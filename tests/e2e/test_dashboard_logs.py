"""The logs page: request logs listed newest first, filtered, and one entry's data shown, all as text."""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request

from tests.e2e.conftest import EMAIL, PASSWORD, Watched, shot, sign_in
from tests.e2e.dashboard_server import Server

HOSTILE = '<img src=x onerror="window.__pwned=1">'


def test_logs_list_filter_and_details(server: Server, watched: Watched) -> None:
    path = "/api/collections/" + urllib.parse.quote(HOSTILE, safe="") + "/records"
    try:
        urllib.request.urlopen(server.url + path)
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
    token = server.sign_in(EMAIL, PASSWORD)
    query = "/api/logs?filter=" + urllib.parse.quote("data.status = 404")
    deadline = time.monotonic() + 15
    while not server.api("GET", query, token=token)["items"]:  # logs are written in batches
        assert time.monotonic() < deadline, "the 404 was never logged"
        time.sleep(0.2)

    page = watched.page
    sign_in(watched, server)
    page.get_by_role("link", name="Logs").click()
    page.get_by_role("heading", name="Logs").wait_for()
    page.get_by_label("Filter").fill("data.status = 404")
    page.get_by_label("Level").select_option("4")  # warning and up: a 404 is logged as an error
    page.get_by_role("button", name="Apply").click()
    row = page.locator("tbody tr").filter(has_text=HOSTILE)
    row.wait_for()
    assert row.locator("td[data-level]").inner_text() == "ERROR"
    shot(watched, "logs")
    row.get_by_role("button", name="Details").click()
    dialog = page.get_by_role("dialog")
    assert '"status": 404' in dialog.locator("pre").inner_text()
    assert HOSTILE in dialog.inner_text()
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src=x]").count() == 0
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")

    page.get_by_role("button", name="Delete matching entries").click()
    page.get_by_text("0 entries, page 1 of 1").wait_for()
    assert server.api("GET", query, token=token)["totalItems"] == 0
    assert len(watched.dialogs) == 1 and watched.dialogs[0].startswith("confirm: Delete the entries matching this filter")
    watched.dialogs.clear()

    page.get_by_label("Filter").fill("nope ~")  # a filter the server refuses: a message, no crash
    page.get_by_role("button", name="Apply").click()
    page.get_by_role("alert").filter(has_text="Could not list logs").wait_for()
    assert watched.dialogs == []
    watched.assert_clean()
