"""Webhooks through the dashboard, delivered for real: a receiver on loopback that refuses at first,
so attempts and dead letters appear, then accepts what the page replays (one, then all)."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.conftest import EMAIL, PASSWORD, Watched, shot, sign_in
from tests.e2e.dashboard_server import Server, start, upsert_superuser
from tests.plugins.events.receiver import Received, Receiver

MAX_ATTEMPTS = 2
ORDERS = {"name": "orders", "type": "base", "fields": [{"name": "item", "type": "text"}]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Two attempts, retried after a fraction of a second: a refused event is dead-lettered at once."""
    data_dir = tmp_path_factory.mktemp("hooks") / "pb_data"
    upsert_superuser(data_dir, EMAIL, PASSWORD)
    s = start(data_dir, {"SATCHEL_WEBHOOK_MAX_ATTEMPTS": str(MAX_ATTEMPTS), "SATCHEL_WEBHOOK_RETRY_BASE": "0.1"})
    yield s
    s.stop()


def _poll(condition: Callable[[], Any], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _signed_with(secret: str, received: Received) -> bool:
    timestamp = received.headers["x-satchel-timestamp"]
    expected = "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received.headers["x-satchel-signature"])


def _letters(server: Server, token: str, hook_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = server.api("GET", f"/api/webhooks/{hook_id}/dead-letters", token=token)["items"]
    return items


def test_create_deliver_dead_letter_replay_edit_delete(server: Server, watched: Watched) -> None:
    token = server.sign_in(EMAIL, PASSWORD)
    server.api("POST", "/api/collections", ORDERS, token=token)
    accept = False

    def answer(n: int, event: dict[str, Any]) -> int:
        return 200 if accept else 500

    page = watched.page
    with Receiver(fail=answer) as receiver:
        sign_in(watched, server)
        page.get_by_role("link", name="Webhooks").click()
        page.get_by_role("heading", name="Webhooks").wait_for()
        page.get_by_text("No webhooks yet.").wait_for()
        page.get_by_role("link", name="New webhook").click()
        page.get_by_role("heading", name="New webhook").wait_for()

        url = page.get_by_label("Receiver URL")
        url.fill("ftp://crm.example.com/in")  # a URL to the browser, not to the server: its error, inline
        page.get_by_label("Name").fill("Orders to <b>CRM</b>")
        page.get_by_role("button", name="Create webhook").click()
        page.locator(f"#{url.get_attribute('id')}-error").filter(has_text="http(s)").wait_for()
        assert url.get_attribute("aria-invalid") == "true"
        assert server.api("GET", "/api/webhooks", token=token)["items"] == []

        url.fill(receiver.url)
        page.get_by_role("group", name="Collections").get_by_label("orders", exact=True).check()
        page.get_by_role("group", name="Events").get_by_label("create", exact=True).check()
        shot(watched, "webhook-new")
        page.get_by_role("button", name="Create webhook").click()
        page.get_by_role("heading", name="Webhook Orders to <b>CRM</b>").wait_for()
        assert page.locator("b").count() == 0  # the name is text
        secret = page.get_by_label("Signing secret", exact=True).input_value()
        assert len(secret) == 48
        (hook,) = server.api("GET", "/api/webhooks", token=token)["items"]
        assert (hook["collections"], hook["actions"], hook["active"]) == (["orders"], ["create"], True)
        assert secret not in str(hook)  # the API never answers it: the page showed what it generated
        page.reload()  # ... once: a new visit has no secret to show
        page.get_by_role("heading", name="Delivery attempts").wait_for()
        assert page.get_by_label("Signing secret", exact=True).count() == 0
        assert page.get_by_label("New signing secret").input_value() == ""

        # an event the receiver refuses: two attempts, then a dead letter
        first = server.api("POST", "/api/collections/orders/records", {"item": "lamp"}, token=token)
        _poll(lambda: len(_letters(server, token, hook["id"])) == 1)
        page.get_by_role("button", name="Refresh attempts").click()
        rows = page.locator("section[aria-labelledby=attempts-title] tbody tr")
        _poll(lambda: rows.count() == MAX_ATTEMPTS)
        assert [rows.nth(i).locator("td").nth(3).inner_text() for i in range(MAX_ATTEMPTS)] == ["failed"] * 2
        assert [rows.nth(i).locator("td").nth(4).inner_text() for i in range(MAX_ATTEMPTS)] == ["500"] * 2
        assert "answered HTTP 500" in rows.first.inner_text()
        page.reload()
        letters = page.locator("section[aria-labelledby=letters-title] tbody tr")
        letters.filter(has_text=first["id"]).wait_for()
        assert all(_signed_with(secret, r) for r in receiver.all())  # the shown secret is the real one
        rows.nth(MAX_ATTEMPTS - 1).wait_for()  # the attempts load beside the dead letters
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        shot(watched, "webhook")

        accept = True
        (letter,) = _letters(server, token, hook["id"])
        page.get_by_role("button", name=f"Replay event {letter['eventId']}").click()
        page.get_by_role("status").filter(has_text=f"Event {letter['eventId']} delivered (HTTP 200).").wait_for()
        page.get_by_text("No dead letters.").wait_for()
        assert _letters(server, token, hook["id"]) == []
        replayed = receiver.delivered()[-1]
        assert replayed.event["recordId"] == first["id"] and _signed_with(secret, replayed)
        assert (
            page.locator("section[aria-labelledby=attempts-title] tbody tr").first.locator("td").nth(3).inner_text()
            == "delivered"
        )

        # two more refused, then replayed together
        accept = False
        more = [server.api("POST", "/api/collections/orders/records", {"item": i}, token=token)["id"] for i in "ab"]
        _poll(lambda: len(_letters(server, token, hook["id"])) == 2)
        page.reload()
        page.get_by_role("button", name="Replay all").wait_for()
        accept = True
        page.get_by_role("button", name="Replay all").focus()  # by keyboard, with a visible focus ring
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
        page.keyboard.press("Enter")
        page.get_by_role("status").filter(has_text="2 delivered, 0 refused, 0 left.").wait_for()
        assert [r.event["recordId"] for r in receiver.delivered()[-2:]] == more
        assert page.get_by_role("button", name="Replay all").is_hidden()

        # pause it: saved without touching the secret
        page.get_by_label("Active (a paused webhook skips what happens meanwhile)").uncheck()
        page.get_by_role("button", name="Save webhook").click()
        page.get_by_role("status").filter(has_text="Webhook saved.").wait_for()
        assert server.api("GET", f"/api/webhooks/{hook['id']}", token=token)["active"] is False
        sent = len(receiver.all())
        server.api("POST", "/api/collections/orders/records", {"item": "unseen"}, token=token)
        page.get_by_label("Active (a paused webhook skips what happens meanwhile)").check()
        page.get_by_role("button", name="Save webhook").click()
        page.get_by_role("status").filter(has_text="Webhook saved.").wait_for()
        last = server.api("POST", "/api/collections/orders/records", {"item": "seen"}, token=token)
        _poll(lambda: any(r.event["recordId"] == last["id"] for r in receiver.delivered()))
        assert all(_signed_with(secret, r) for r in receiver.all()[sent:])  # the secret was kept
        assert [r.event["record"]["item"] for r in receiver.all()[sent:]] == ["seen"]

        page.get_by_role("button", name="Delete webhook").click()
        page.get_by_role("heading", name="Webhooks").wait_for()
        page.get_by_text("No webhooks yet.").wait_for()
    assert server.api("GET", "/api/webhooks", token=token)["items"] == []
    assert any("Delete webhook" in d for d in watched.dialogs)
    watched.assert_clean()


def test_webhooks_pages_fit_390px(server: Server, browser: Any) -> None:
    token = server.sign_in(EMAIL, PASSWORD)
    hook = server.api(
        "POST",
        "/api/webhooks",
        {"url": "https://a-rather-long-host-name.example.com/some/deep/path/for/hooks", "secret": "x" * 20},
        token=token,
    )
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        w = Watched(context.new_page())
        sign_in(w, server)
        for route, heading in (
            ("#/webhooks", "Webhooks"),
            (f"#/webhooks/{hook['id']}", "Dead letters"),
            ("#/webhooks/new", "New webhook"),
        ):
            w.page.goto(server.url + "/_/" + route)
            w.page.get_by_role("heading", name=heading).first.wait_for()
            w.page.wait_for_load_state("networkidle")
            widths = w.page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert widths[0] <= widths[1], f"{route}: {widths[0]}px wide in {widths[1]}px"
        w.assert_clean()
    finally:
        context.close()
        server.api("DELETE", f"/api/webhooks/{hook['id']}", token=token)
