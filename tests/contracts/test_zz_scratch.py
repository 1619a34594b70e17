from typing import Any
from tests.contracts.test_schemathesis import _exercise, api_schema  # noqa: F401

def test_one(live: Any, api_schema: Any) -> None:
    ops = {r.ok().label: r.ok() for r in api_schema.get_all_operations()}
    for label in ("POST /api/collections/_superusers/auth-with-oauth2", "POST /api/collections/members/auth-with-oauth2"):
        print(label, _exercise(ops[label], live))
