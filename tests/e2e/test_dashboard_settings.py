"""Application settings through the dashboard: saved through PATCH /api/settings, errors inline."""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path
from typing import Any

from smtp_server import SmtpServer

from tests.e2e.conftest import EMAIL, PASSWORD, Watched, shot, sign_in
from tests.e2e.dashboard_server import Server


def test_application_name_and_url(server: Server, watched: Watched) -> None:
    page = watched.page
    sign_in(watched, server)
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("heading", name="Settings").wait_for()
    name = page.get_by_label("Application name")
    url = page.get_by_label("Application URL")
    name.fill("")
    page.get_by_role("button", name="Save settings").click()
    # the browser's own required check stops an empty name before any request
    assert page.evaluate("document.activeElement.validity.valueMissing") is True
    name.fill("Acme <b>backend</b>")
    url.fill("https://acme.example.com")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_role("status").filter(has_text="Settings saved.").wait_for()
    token = server.sign_in(EMAIL, PASSWORD)
    meta = server.api("GET", "/api/settings", token=token)["meta"]
    assert meta["appName"] == "Acme <b>backend</b>"
    assert meta["appURL"] == "https://acme.example.com"
    page.reload()
    page.get_by_role("heading", name="Settings").wait_for()
    assert page.get_by_label("Application name").input_value() == "Acme <b>backend</b>"
    assert page.locator("b").count() == 0
    shot(watched, "settings")
    watched.assert_clean()


def test_collections_page_lists_system_collections(server: Server, watched: Watched) -> None:
    page = watched.page
    sign_in(watched, server)
    names = page.locator("tbody th a").all_inner_texts()
    assert "_superusers" in names and "users" in names
    shot(watched, "collections")
    page.get_by_role("link", name="users", exact=True).click()
    page.get_by_role("heading", name="users", exact=True).wait_for()
    page.get_by_role("link", name="Edit collection").click()
    page.get_by_role("heading", name="Edit collection users").wait_for()
    watched.assert_clean()


def _poll(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_mail_settings_and_a_test_mail(server: Server, watched: Watched) -> None:
    smtp = SmtpServer(credentials=("mailer", "s3cret-pass")).start_without_loop()
    try:
        page = watched.page
        sign_in(watched, server)
        page.goto(server.url + "/_/#/settings/mail")
        page.get_by_role("heading", name="Mail (SMTP)").wait_for()
        page.get_by_label("Send mail through this SMTP server").check()
        page.get_by_label("SMTP host").fill("")
        page.get_by_role("button", name="Save mail settings").click()
        host = page.get_by_label("SMTP host")
        page.locator(f"#{host.get_attribute('id')}-error").wait_for()  # enabled without a host: the server's error
        assert host.get_attribute("aria-invalid") == "true"
        host.fill("127.0.0.1")
        page.get_by_label("Port", exact=True).fill(str(smtp.port))
        page.get_by_label("Username").fill("mailer")
        page.get_by_label("Password").fill("s3cret-pass")
        page.get_by_role("button", name="Save mail settings").click()
        page.get_by_role("status").filter(has_text="Settings saved.").wait_for()
        token = server.sign_in(EMAIL, PASSWORD)
        stored = server.api("GET", "/api/settings", token=token)["smtp"]
        assert stored["enabled"] is True and stored["port"] == smtp.port
        assert "s3cret-pass" not in json.dumps(stored)  # the password is never sent back

        page.reload()
        page.get_by_role("heading", name="Mail (SMTP)").wait_for()
        assert page.get_by_label("Password").input_value() == ""
        page.get_by_label("Send a test mail to").fill("someone@example.com")
        page.get_by_label("Template").select_option("password-reset")
        page.get_by_role("button", name="Send test mail").click()
        page.get_by_role("status").filter(has_text="Test mail sent to someone@example.com.").wait_for()
        _poll(lambda: any("someone@example.com" in r.envelope_to for r in smtp.received))
        assert smtp.received[-1].login == "mailer"  # the stored (unshown) password signed in
        shot(watched, "settings-mail")
        watched.assert_clean()
    finally:
        smtp.stop()


def test_storage_s3_test_reports_a_failure(server: Server, watched: Watched) -> None:
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/settings/storage")
    page.get_by_role("heading", name="File storage").wait_for()
    page.get_by_role("button", name="Test S3 connection").click()  # S3 is off: the server says so
    page.get_by_role("alert").filter(has_text="S3 test failed").wait_for()
    watched.assert_clean()


def test_backups_create_download_restore_delete(server: Server, watched: Watched, tmp_path: Path) -> None:
    token = server.sign_in(EMAIL, PASSWORD)
    server.api("POST", "/api/collections", {"name": "keepsakes", "type": "base", "fields": [{"name": "label", "type": "text"}]}, token=token)
    server.api("POST", "/api/collections/keepsakes/records", {"label": "before"}, token=token)
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/settings/backups")
    page.get_by_role("heading", name="Backups", exact=True).wait_for()
    page.get_by_label("Backup name").fill("BAD NAME")  # the browser's pattern check stops it
    page.get_by_role("button", name="Create backup").click()
    assert page.evaluate("document.activeElement.validity.patternMismatch") is True
    page.get_by_label("Backup name").fill("first.zip")
    page.get_by_role("button", name="Create backup").click()
    page.get_by_role("status").filter(has_text="Backup created.").wait_for()
    page.get_by_role("row", name="first.zip").wait_for()
    assert [b["key"] for b in server.api("GET", "/api/backups", token=token)] == ["first.zip"]

    with page.expect_download() as info:
        page.get_by_role("button", name="Download first.zip").click()
    archive = tmp_path / "first.zip"
    info.value.save_as(archive)
    assert zipfile.is_zipfile(archive)

    server.api("POST", "/api/collections/keepsakes/records", {"label": "after"}, token=token)
    page.get_by_role("button", name="Restore first.zip").click()
    page.get_by_role("status").filter(has_text="Restored first.zip.").wait_for()
    token = server.sign_in(EMAIL, PASSWORD)
    labels = [r["label"] for r in server.api("GET", "/api/collections/keepsakes/records", token=token)["items"]]
    assert labels == ["before"]
    shot(watched, "settings-backups")

    page.get_by_role("button", name="Delete first.zip").click()
    page.get_by_role("status").filter(has_text="Deleted first.zip.").wait_for()
    assert server.api("GET", "/api/backups", token=token) == []

    copy = tmp_path / "copy.zip"
    copy.write_bytes(archive.read_bytes())
    page.get_by_label("Upload a backup archive (.zip)").set_input_files(str(copy))
    page.get_by_role("button", name="Upload backup").click()
    page.get_by_role("status").filter(has_text="Uploaded copy.zip.").wait_for()
    page.get_by_role("row", name="copy.zip").wait_for()
    assert [b["key"] for b in server.api("GET", "/api/backups", token=token)] == ["copy.zip"]
    server.api("DELETE", "/api/backups/copy.zip", token=token)
    assert watched.dialogs == ["confirm: Restore first.zip? The current data is replaced.", "confirm: Delete first.zip?"]
    watched.assert_clean()


def test_rate_limit_rules(server: Server, watched: Watched) -> None:
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/settings/rate-limits")
    page.get_by_role("heading", name="Rate limits", exact=True).wait_for()
    page.get_by_role("button", name="Add rule").click()
    page.locator("tbody tr").last.get_by_label("Label").fill("posts:create")
    page.locator("tbody tr").last.get_by_label("Audience").select_option("@guest")
    page.locator("tbody tr").last.get_by_label("Seconds").fill("7")
    page.locator("tbody tr").last.get_by_label("Max requests").fill("4")
    page.locator("tbody tr").first.get_by_role("button", name="Remove rule").click()
    page.get_by_label("Excluded IPs").fill("10.0.0.1, 10.0.0.2")
    page.get_by_role("button", name="Save rate limits").click()
    page.get_by_role("status").filter(has_text="Settings saved.").wait_for()
    token = server.sign_in(EMAIL, PASSWORD)
    limits = server.api("GET", "/api/settings", token=token)["rateLimits"]
    assert limits["enabled"] is False
    assert limits["excludedIPs"] == ["10.0.0.1", "10.0.0.2"]
    assert {"label": "posts:create", "audience": "@guest", "duration": 7, "maxRequests": 4} in limits["rules"]
    assert "*:auth" not in [r["label"] for r in limits["rules"]]  # the first default rule was removed
    watched.assert_clean()


def test_hide_controls_hides_collection_changes(server: Server, watched: Watched) -> None:
    page = watched.page
    sign_in(watched, server)
    assert page.get_by_role("link", name="New collection").count() == 1
    token = server.sign_in(EMAIL, PASSWORD)
    try:
        page.get_by_role("link", name="Settings").click()
        page.get_by_label("Hide collection create and edit controls").check()
        page.get_by_role("button", name="Save settings").click()
        page.get_by_role("status").filter(has_text="Settings saved.").wait_for()
        assert server.api("GET", "/api/settings", token=token)["meta"]["hideControls"] is True
        page.get_by_role("link", name="Collections").first.click()
        page.get_by_role("link", name="users", exact=True).wait_for()
        assert page.get_by_role("link", name="New collection").count() == 0
        assert page.locator("summary", has_text="Import collections").count() == 0
        page.get_by_role("link", name="users", exact=True).click()
        page.get_by_role("heading", name="users", exact=True).wait_for()
        page.get_by_role("button", name="New record").wait_for()  # records stay editable
        assert page.get_by_role("link", name="Edit collection").count() == 0
        page.goto(server.url + "/_/#/collections/users/edit")
        page.get_by_role("heading", name="Collection changes are off").wait_for()
        assert page.locator("form").count() == 0
        watched.assert_clean()
    finally:
        server.api("PATCH", "/api/settings", {"meta": {"hideControls": False}}, token=token)


def test_logs_settings_and_crons(server: Server, watched: Watched) -> None:
    """What PocketBase's dashboard has under its logs settings and Settings > Crons."""
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/settings")
    sections = page.get_by_role("navigation", name="Settings sections")
    sections.get_by_role("link", name="Logs").click()
    page.get_by_role("heading", name="Logs", exact=True).wait_for()
    days = page.get_by_label("Days to keep (0 turns the logs off)")
    days.fill("9007199254740992")  # past PocketBase's bound: the server's error, inline
    page.get_by_role("button", name="Save logs settings").click()
    page.locator(f"#{days.get_attribute('id')}-error").filter(has_text="Must be no greater than 9007199254740991.").wait_for()
    days.fill("7")
    page.get_by_label("Lowest level kept").select_option("4")
    page.get_by_label("Keep the id of the signed-in record").check()
    page.get_by_label("Keep the client IP addresses").uncheck()
    page.get_by_role("button", name="Save logs settings").click()
    page.get_by_role("status").filter(has_text="Settings saved.").wait_for()
    token = server.sign_in(EMAIL, PASSWORD)
    logs = server.api("GET", "/api/settings", token=token)["logs"]
    assert logs == {"maxDays": 7, "minLevel": 4, "logIP": False, "logAuthId": True, "maxDataSize": 0}

    sections.get_by_role("link", name="Crons").click()
    page.get_by_role("heading", name="Crons", exact=True).wait_for()
    jobs = [job["id"] for job in server.api("GET", "/api/crons", token=token)]
    assert page.locator("tbody tr td.mono").filter(has_text="__").count() == len(jobs)
    page.get_by_role("button", name="Run now __pbLogsCleanup__").click()
    page.get_by_role("status").filter(has_text="Started __pbLogsCleanup__.").wait_for()
    shot(watched, "settings-crons")
    watched.assert_clean()
