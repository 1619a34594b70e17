"""`page`, `perPage` and `skipTotal` read as PocketBase reads them (Go's strconv), checked against
its binary: what Go refuses is a 400 here too, for records, logs, collections and API keys alike."""

from __future__ import annotations

import pytest

from satchel.core.errors import BadRequestError
from satchel.core.records.service import ListParams


@pytest.mark.parametrize("raw", ["yes", "tRue", "on", "2", " 1"])
def test_skip_total_accepts_only_go_booleans(raw: str) -> None:
    with pytest.raises(BadRequestError):
        ListParams.from_query({"skipTotal": raw})


@pytest.mark.parametrize(
    ("raw", "skip"),
    [("", False), ("1", True), ("t", True), ("T", True), ("TRUE", True), ("true", True), ("True", True),
     ("0", False), ("f", False), ("F", False), ("FALSE", False), ("false", False), ("False", False)],
)
def test_skip_total_go_booleans(raw: str, skip: bool) -> None:
    assert ListParams.from_query({"skipTotal": raw}).skip_total is skip


@pytest.mark.parametrize("key", ["page", "perPage"])
@pytest.mark.parametrize("raw", ["1_0", " 5", "5 ", "0x10", "١٢"])
def test_numbers_are_go_integers(key: str, raw: str) -> None:
    """Python's int() takes underscores, spaces and other scripts' digits; Go's Atoi does not."""
    with pytest.raises(BadRequestError):
        ListParams.from_query({key: raw})


def test_signed_numbers_are_integers() -> None:
    params = ListParams.from_query({"page": "+2", "perPage": "+5"})
    assert (params.page, params.per_page) == (2, 5)
