"""GeoPointField against PocketBase 0.40.6 (decoding quirks captured from the real server)."""

from __future__ import annotations

from typing import Any

import pytest

from satchel.core.fields.geopoint import GeoPointField
from satchel.tools.sql import ir
from tests.core.fields.helpers import ctx

PB_GEO = {
    "help": "where", "hidden": False, "id": "geoPoint30677878", "name": "g", "presentable": False, "required": False,
    "system": False, "type": "geoPoint",
}  # fmt: skip


def test_to_json_matches_pocketbase() -> None:
    assert GeoPointField.from_json(PB_GEO).to_json() == PB_GEO


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"lon": 1.5, "lat": 2}, {"lon": 1.5, "lat": 2}), ('{"lon":1.5,"lat":2}', {"lon": 1.5, "lat": 2}),
        ({"lon": 5, "lat": 7, "x": 1}, {"lon": 5, "lat": 7}), ({"LON": 5, "lat": 7}, {"lon": 0, "lat": 7}),
        ({"lon": 5, "lat": "7"}, {"lon": 5, "lat": 0}), ({"lat": "x", "lon": 2}, {"lon": 0, "lat": 0}),
        ({"lat": 2, "lon": True}, {"lon": 0, "lat": 2}), ({"lat": 2, "lon": None}, {"lon": 0, "lat": 2}),
        ('{"lon":"1","lat":2}', {"lon": 0, "lat": 0}), ("bad", {"lon": 0, "lat": 0}), ([1, 2], {"lon": 0, "lat": 0}),
        (None, {"lon": 0, "lat": 0}), ("", {"lon": 0, "lat": 0}), ({"lon": 3.0, "lat": -1}, {"lon": 3, "lat": -1}),
    ],
)  # fmt: skip
def test_coerce(raw: Any, expected: dict[str, Any]) -> None:
    assert GeoPointField(name="g").coerce(raw) == expected


def test_column_and_storage() -> None:
    field = GeoPointField(name="g")
    assert field.column() == ir.ColumnDef("g", "JSON", default='{"lon":0,"lat":0}')
    assert field.zero() == {"lon": 0, "lat": 0}
    assert field.to_db({"lon": 1.5, "lat": 2}) == '{"lon":1.5,"lat":2}'
    assert field.from_db(field.to_db({"lon": 1.5, "lat": 2})) == {"lon": 1.5, "lat": 2}
    assert field.from_db("{broken") == {"lon": 0, "lat": 0}
    assert field.from_db(None) == {"lon": 0, "lat": 0}


async def test_validate() -> None:
    field = GeoPointField(name="g")
    assert await field.validate({"lon": 0, "lat": 0}, ctx()) is None
    err = await GeoPointField(name="g", required=True).validate({"lon": 0, "lat": 0}, ctx())
    assert err is not None and err.code == "validation_required"
    err = await field.validate({"lon": 0, "lat": 91}, ctx())
    assert err is not None and err.to_json() == {
        "code": "validation_invalid_latitude", "message": "Latitude must be between -90 and 90 degrees.",
    }  # fmt: skip
    err = await field.validate({"lon": -180.5, "lat": 0}, ctx())
    assert err is not None and err.to_json() == {
        "code": "validation_invalid_longitude", "message": "Longitude must be between -180 and 180 degrees.",
    }  # fmt: skip
    assert await field.validate({"lon": 180, "lat": -90}, ctx()) is None
