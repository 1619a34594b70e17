"""docs/auth-totp.md states what the code does: every route, every error message, the code parameters."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Route

from satchel.apis.rest import auth_totp
from satchel.core.auth import mfa, totp
from satchel.core.auth.auth_rule import REFUSED
from satchel.core.auth.login_guard import IDENTITY_LIMIT, IP_LIMIT

DOC = (Path(__file__).resolve().parents[2] / "docs" / "auth-totp.md").read_text()


def test_every_route_is_in_the_endpoint_table() -> None:
    rows = [line for line in DOC.splitlines() if line.startswith("| `")]
    for route in auth_totp.routes:
        assert isinstance(route, Route) and route.methods
        method = "GET" if "GET" in route.methods else "POST"
        assert any(row.startswith(f"| `{method} {route.path}`") for row in rows), route.path


def test_every_message_is_documented() -> None:
    for message in (
        totp.WRONG_COLLECTION,
        totp.MFA_DISABLED,
        totp.ALREADY_ENABLED,
        totp.NOT_PENDING,
        totp.NOT_ENABLED,
        totp.INVALID_CODE,
        totp.KEY_MISSING,
        totp.PENDING_UNUSABLE,
        mfa.INVALID_SESSION,
        REFUSED,
    ):
        assert message in " ".join(DOC.split()), message
    assert totp.CODE_ERROR.code in DOC and totp.PASSWORD_ERROR.code in DOC


def test_code_parameters_are_the_documented_ones() -> None:
    assert (totp.DIGITS, totp.PERIOD_S, totp.DRIFT_STEPS) == (6, 30, 1)
    assert "6 digits, 30-second steps" in DOC and "One step of clock drift" in DOC
    assert totp.RECOVERY_CODES == 10 and "ten **recovery codes**" in DOC
    assert totp.RECOVERY_LENGTH == 16 and "16 characters (`xxxx-xxxx-xxxx-xxxx`" in DOC
    assert f"{IDENTITY_LIMIT.failures} failures per record, {IP_LIMIT.failures} per address" in DOC
