"""Geographic points `{lon, lat}` (used by the `geoDistance()` filter function)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from satchel.core.errors import FieldError, required
from satchel.core.fields.base import Field, ValueContext
from satchel.core.fields.number import clean_number
from satchel.tools.sql import ir


def to_point(raw: Any) -> dict[str, Any]:
    """PocketBase's `GeoPoint.Scan`: an object (or its JSON text) with exact `lon`/`lat` keys.

    Keys are read in document order and the first non-number value stops the decoding: what
    was read before it is kept, the rest stays 0 (as PocketBase's JSON decoder leaves it).
    """
    if isinstance(raw, bytes):
        raw = raw.decode(errors="replace")
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            raw = None
    point: dict[str, Any] = {"lon": 0, "lat": 0}
    if not isinstance(raw, dict):
        return point
    for key, value in raw.items():
        if key not in point or value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            break
        point[key] = clean_number(value)
    return {"lon": point["lon"], "lat": point["lat"]}


@dataclass(slots=True, kw_only=True)
class GeoPointField(Field):
    type: ClassVar[str] = "geoPoint"

    def column(self) -> ir.ColumnDef:
        return ir.ColumnDef(self.name, "JSON", default='{"lon":0,"lat":0}')

    def zero(self) -> Any:
        return {"lon": 0, "lat": 0}

    def from_db(self, raw: Any) -> Any:
        return to_point(raw)

    def to_db(self, value: Any) -> Any:
        return orjson.dumps(to_point(value)).decode()

    def coerce(self, raw: Any) -> Any:
        return to_point(raw)

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        point = to_point(value)
        if point["lon"] == 0 and point["lat"] == 0:
            return required() if self.required else None
        if not -90 <= point["lat"] <= 90:
            return FieldError("validation_invalid_latitude", "Latitude must be between -90 and 90 degrees.")
        if not -180 <= point["lon"] <= 180:
            return FieldError("validation_invalid_longitude", "Longitude must be between -180 and 180 degrees.")
        return None
