"""The explicit registry of field types (one module each)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from satchel.core.errors import FieldError
from satchel.core.fields.autodate import AutodateField
from satchel.core.fields.base import Field, FieldOptionsError
from satchel.core.fields.bool import BoolField
from satchel.core.fields.date import DateField
from satchel.core.fields.editor import EditorField
from satchel.core.fields.email import EmailField
from satchel.core.fields.file import FileField
from satchel.core.fields.geopoint import GeoPointField
from satchel.core.fields.json import JSONField
from satchel.core.fields.number import NumberField
from satchel.core.fields.password import PasswordField
from satchel.core.fields.relation import RelationField
from satchel.core.fields.select import SelectField
from satchel.core.fields.text import TextField
from satchel.core.fields.url import URLField

FIELD_TYPES: dict[str, type[Field]] = {
    cls.type: cls
    for cls in (
        TextField,
        EditorField,
        NumberField,
        BoolField,
        EmailField,
        URLField,
        DateField,
        AutodateField,
        SelectField,
        JSONField,
        RelationField,
        FileField,
        PasswordField,
        GeoPointField,
    )
}


def field_from_json(data: Mapping[str, Any]) -> Field:
    type_ = data.get("type") if isinstance(data, Mapping) else None
    cls = FIELD_TYPES.get(type_) if isinstance(type_, str) else None
    if cls is None:
        raise FieldOptionsError({"type": FieldError("validation_invalid_value", "Invalid or unsupported field type.")})
    return cls.from_json(data)
