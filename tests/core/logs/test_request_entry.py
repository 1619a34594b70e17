"""The `_logs` entry of a request: PocketBase's data keys, settings.logs honoured, secrets masked."""

from __future__ import annotations

from typing import Any

from satchel.core.logs.model import ERROR, INFO
from satchel.core.logs.request_entry import RequestSummary, SocketSummary, masked_query, request_entry

SETTINGS: dict[str, Any] = {"maxDays": 5, "minLevel": 0, "logIP": True, "logAuthId": False, "maxDataSize": 0}


def _summary(**changes: Any) -> RequestSummary:
    base: dict[str, Any] = {
        "method": "get",
        "path": "/api/collections/posts/records",
        "query": "page=2&filter=title%20%3D%201",
        "status": 200,
        "exec_ms": 1.25,
        "request_id": "rid",
        "auth_collection": "users",
        "auth_id": "u1",
        "user_ip": "10.0.0.1",
        "remote_ip": "127.0.0.1",
        "referer": "http://x/",
        "user_agent": "agent",
    }
    base.update(changes)
    return RequestSummary(**base)


def test_a_successful_request_is_an_info_entry_with_pocketbase_keys() -> None:
    level, message, data = request_entry(_summary(), SETTINGS)
    assert level == INFO
    assert message == "GET /api/collections/posts/records?page=2&filter=title = 1"
    assert data == {
        "type": "request",
        "execTime": 1.25,
        "url": "/api/collections/posts/records?page=2&filter=title%20%3D%201",
        "method": "GET",
        "status": 200,
        "referer": "http://x/",
        "userAgent": "agent",
        "auth": "users",
        "userIP": "10.0.0.1",
        "remoteIP": "127.0.0.1",
        "requestId": "rid",
    }


def test_a_failed_request_is_an_error_entry_with_its_error_and_details() -> None:
    details = {"title": {"code": "validation_required", "message": "Cannot be blank."}}
    level, _, data = request_entry(_summary(status=400, error="Failed to create record.", details=details), SETTINGS)
    assert level == ERROR
    assert (data["error"], data["details"], data["status"]) == ("Failed to create record.", details, 400)


def test_log_ip_and_log_auth_id_settings() -> None:
    _, _, data = request_entry(_summary(), {**SETTINGS, "logIP": False, "logAuthId": True})
    assert "userIP" not in data and "remoteIP" not in data
    assert data["authId"] == "u1"
    _, _, guest = request_entry(_summary(auth_collection="", auth_id=""), {**SETTINGS, "logAuthId": True})
    assert guest["auth"] == "" and "authId" not in guest


def test_credentials_in_the_query_string_are_masked() -> None:
    assert masked_query("token=abc.def&thumb=100x100") == "token=***&thumb=100x100"
    assert masked_query("code=x&state=y&page=1") == "code=***&state=***&page=1"
    assert masked_query("apiKey=sk_1&PASSWORD=p&flag") == "apiKey=***&PASSWORD=***&flag"
    assert masked_query("") == ""
    _, message, data = request_entry(_summary(path="/api/files/c/r/f.png", query="token=secret-value"), SETTINGS)
    assert "secret-value" not in message and "secret-value" not in str(data)


def test_long_values_are_cut() -> None:
    _, _, data = request_entry(_summary(path="/" + "a" * 5000, user_agent="u" * 5000, method="x" * 80), SETTINGS)
    assert (len(data["url"]), len(data["userAgent"]), len(data["method"])) == (3000, 2000, 50)


def _session(close_code: int | None, **changes: Any) -> SocketSummary:
    session = SocketSummary(*_summary(path="/api/graphql", query="", **changes))
    session.close_code = close_code
    return session


def test_a_websocket_session_adds_its_close_code() -> None:
    level, _, data = request_entry(_session(4408, status=101), SETTINGS)
    assert level == INFO and data["status"] == 101 and data["closeCode"] == 4408
    level, _, data = request_entry(_session(1000, status=403), SETTINGS)
    assert level == ERROR and data["closeCode"] == 1000 and data["error"] == "Request failed."
    _, _, data = request_entry(_session(None, status=101), SETTINGS)
    assert "closeCode" not in data
