"""Geographic points `{lon, lat}` (used by the `geoDistance()` filter function)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from satchel.core.errors import FieldError, required
from satchel.core.fields.base import Field, ValueContext
from satchel.core.fields.common import clean_number, to_number
from satchel.tools.sql import ir


def _point(raw: Any) -> dict[str, Any]:
    if isinstance(raw, bytes | str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raw = None
    if not isinstance(raw, dict):
        return {"lon": 0, "lat": 0}
    return {"lon": clean_number(to_number(raw.get("lon"))), "lat": clean_number(to_number(raw.get("lat")))}


@dataclass(slots=True, kw_only=True)
class GeoPointField(Field):
    type: ClassVar[str] = "geoPoint"

    def column(self) -> ir.ColumnDef:
        return ir.ColumnDef(self.name, "JSON", default='{"lon":0,"lat":0}')

    def zero(self) -> Any:
        return {"lon": 0, "lat": 0}

    def from_db(self, raw: Any) -> Any:
        return _point(raw)

    def to_db(self, value: Any) -> Any:
        return orjson.dumps(_point(value)).decode()

    def coerce(self, raw: Any) -> Any:
        return _point(raw)

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        point = _point(value)
        if point["lon"] == 0 and point["lat"] == 0:
            return required() if self.required else None
        if not -90 <= point["lat"] <= 90:
            return FieldError("validation_invalid_latitude", "Latitude must be between -90 and 90 degrees.")
        if not -180 <= point["lon"] <= 180:
            return FieldError("validation_invalid_longitude", "Longitude must be between -180 and 180 degrees.")
        return None
