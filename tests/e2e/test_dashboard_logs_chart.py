"""The hourly chart on the logs page: GET /api/logs/stats with the list's filter, drawn as SVG, with
an accessible summary, at 1280px and at 390px."""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.parse
from datetime import UTC, datetime, timedelta

from tests.e2e.conftest import EMAIL, PASSWORD, Watched, shot, sign_in
from tests.e2e.dashboard_server import Server

STATUS = 418  # no request the test makes gets it: only the entries written below match


def _wire(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _log_entries(server: Server, hours: dict[datetime, int]) -> None:
    """Request entries at chosen past hours, written where the server keeps its logs (auxiliary.db):
    the logs API cannot backdate them."""
    aux = server.log_path.parent / "pb_data" / "auxiliary.db"
    with sqlite3.connect(aux, timeout=10) as db:
        for hour, count in hours.items():
            for i in range(count):
                created = hour + timedelta(minutes=5 + i)
                data = {"status": STATUS, "method": "GET", "url": "/teapot", "execTime": 1.0}
                db.execute(
                    "INSERT INTO _logs (id, created, level, message, data) VALUES (?, ?, 0, ?, ?)",
                    (f"chart{hour:%H}{i:02d}{created:%d}xx"[:15], _wire(created), "GET /teapot", json.dumps(data)),
                )
    db.close()


def test_hourly_chart_follows_the_filter(server: Server, watched: Watched) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    first, last = now - timedelta(hours=3), now - timedelta(hours=1)
    _log_entries(server, {first: 2, last: 5})
    token = server.sign_in(EMAIL, PASSWORD)
    stats = server.api("GET", "/api/logs/stats?filter=" + urllib.parse.quote(f"data.status = {STATUS}"), token=token)
    assert [p["total"] for p in stats] == [2, 5]  # the API has no empty hours; the chart fills them

    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/logs?filter=" + urllib.parse.quote(f"data.status = {STATUS}"))
    chart = page.get_by_role("img", name=re.compile("^Log entries per hour"))
    chart.wait_for()
    bars = chart.locator("rect.chart-bar")
    assert bars.count() == 3
    assert [bars.nth(i).get_attribute("data-total") for i in range(3)] == ["2", "0", "5"]
    assert bars.nth(0).get_attribute("data-hour") == first.strftime("%Y-%m-%dT%H:00:00.000Z")
    assert bars.nth(2).get_attribute("data-hour") == last.strftime("%Y-%m-%dT%H:00:00.000Z")
    heights = [float(bars.nth(i).get_attribute("height") or "0") for i in range(3)]
    assert heights[1] == 0 and 0 < heights[0] < heights[2]
    label = chart.get_attribute("aria-label") or ""
    assert "7 log entries" in label and f"busiest hour {last:%m-%d %H}:00 with 5" in label
    assert chart.locator("title").first.text_content() == "Log entries per hour"
    assert "7 log entries" in (chart.locator("desc").text_content() or "")
    labels = chart.locator("text.chart-label").all_text_contents()
    assert "0" in labels and f"{first:%m-%d %H}:00" in labels and "hour (UTC)" in labels
    assert bars.nth(2).locator("title").text_content() == f"{last:%m-%d %H}:00 UTC: 5"
    shot(watched, "logs-chart")

    # the level narrows the chart as it narrows the list (these entries are INFO)
    page.get_by_label("Level").select_option("4")
    page.get_by_role("button", name="Apply").click()
    page.get_by_text("No log entries match.").wait_for()
    assert page.locator("svg.chart").count() == 0

    # on a phone: redrawn at the frame's width, the page does not scroll sideways
    page.goto(server.url + "/_/#/logs?filter=" + urllib.parse.quote(f"data.status = {STATUS}"))
    chart.wait_for()
    page.set_viewport_size({"width": 390, "height": 800})
    fitted = "document.querySelector('svg.chart') && Number(document.querySelector('svg.chart').getAttribute('width')) <= 390"
    for _ in range(200):  # polled from here: the CSP forbids wait_for_function's eval when it has to wait
        if page.evaluate(fitted):
            break
        page.wait_for_timeout(50)
    else:
        raise AssertionError("the chart was never redrawn for 390px")
    width = float(page.locator("svg.chart").get_attribute("width") or "0")
    assert 200 < width <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.locator("svg.chart").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert chart.locator("rect.chart-bar").count() == 3
    shot(watched, "logs-390")

    # a filter the server refuses: the chart says why it is empty
    page.get_by_label("Filter").fill("nope ~")
    page.get_by_role("button", name="Apply").click()
    page.get_by_text(re.compile("^No chart: ")).wait_for()
    watched.assert_clean()
