"""Record fields with `encrypted: true`: the one place their values are sealed and opened.

A sealed value is stored as `{"$encrypted": "v1.<key id>.<nonce|ciphertext|tag>"}` (the settings
secrets' format, valid JSON so PostgreSQL's jsonb takes it too), bound by the GCM associated data
to the collection id, the field id and the record id: copied into another record or field it does
not open. Next to it a shadow column `<field>__bidx` holds a keyed blind index (HMAC) of the value,
which equality filters compare instead of the value (see `rules.sealed_filter`). The empty value is
stored as "" with an empty index, so a column added to existing rows reads as empty and
`field = ""` needs no key.

Every row read goes through `storage.record_from_row` and every row written through
`storage.row_from_record`; both call in here, so the API, rules, hooks and realtime only ever see
plaintext.
"""

from __future__ import annotations

from typing import Any

from satchel.core.collections.model import Collection
from satchel.core.fields.base import Field
from satchel.core.fields.text import cast_string
from satchel.tools.jsonutil import dumps
from satchel.tools.keyring import KeyRing, parse_sealed
from satchel.tools.secretbox import SealedValueError

SHADOW_SUFFIX = "__bidx"

_plans: dict[int, tuple[Collection, tuple[Field, ...]]] = {}
_MAX = 512


class SealedFieldError(Exception):
    """A stored value of an encrypted field cannot be opened (no key, another key, damaged or moved)."""


def shadow(name: str) -> str:
    """The blind index column of an encrypted field."""
    return name + SHADOW_SUFFIX


def sealed_fields(collection: Collection) -> tuple[Field, ...]:
    """The encrypted fields of a collection (cached per collection object: read on every row)."""
    hit = _plans.get(id(collection))
    if hit is not None and hit[0] is collection:
        return hit[1]
    plan = tuple(f for f in collection.fields if getattr(f, "encrypted", False)) if not collection.is_view else ()
    if len(_plans) >= _MAX:
        _plans.clear()
    _plans[id(collection)] = (collection, plan)
    return plan


def label(collection: Collection, f: Field, record_id: str) -> str:
    """The associated data of one value: where it lives, by ids that survive renames."""
    return f"record.{collection.id}.{f.id}.{record_id}"


def index_context(collection: Collection, f: Field) -> str:
    return f"{collection.id}.{f.id}"


def index_text(value: Any) -> str:
    """The text a value is indexed by: strings as they are, JSON scalars as their text, JSON
    containers as canonical JSON; the filter side normalises its literal the same way."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list | dict):
        return dumps(value).decode()
    return cast_string(value)


def keys_of(collection: Collection) -> KeyRing:
    keys = collection.keys
    if keys is None or keys.current is None:
        raise SealedFieldError(
            f"The collection {collection.name!r} has encrypted fields and no encryption key is configured: "
            "set SATCHEL_ENCRYPTION_KEY (or --encryption-key-file)."
        )
    return keys


def seal_value(collection: Collection, f: Field, record_id: str, value: Any) -> tuple[Any, str]:
    """(stored value, blind index) of one record value under the current key."""
    stored = f.to_db(value)
    if stored is None or stored == "":
        return stored, ""
    text = stored if isinstance(stored, str) else cast_string(stored)
    keys = keys_of(collection)
    sealed = keys.seal_text(text, label(collection, f, record_id))
    return sealed, keys.blind_index(index_text(value), index_context(collection, f))


def open_value(collection: Collection, f: Field, record_id: str, raw: Any) -> Any:
    """A stored value back to the record value. Only empty values are stored in clear: anything else
    that is not an envelope was written around Satchel (raw SQL, a hand edit) and is refused rather
    than shown, as a moved envelope is."""
    sealed = parse_sealed(raw)
    if sealed is None:
        if raw is None or raw == "":
            return f.from_db(raw)
        raise SealedFieldError(f"{collection.name}.{f.name} of the record {record_id!r}: a value stored in clear")
    keys = collection.keys
    if keys is None:
        raise SealedFieldError(f"{collection.name}.{f.name}: no encryption key is configured")
    try:
        return f.from_db(keys.open(sealed, label(collection, f, record_id)))
    except SealedValueError as exc:
        raise SealedFieldError(f"{collection.name}.{f.name} of the record {record_id!r}: {exc}") from exc


def open_into(collection: Collection, fields: tuple[Field, ...], data: dict[str, Any], raw_row: Any) -> None:
    record_id = str(data.get("id", ""))
    for f in fields:
        data[f.name] = open_value(collection, f, record_id, raw_row.get(f.name))


def seal_into(
    collection: Collection, fields: tuple[Field, ...], record_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """The stored column values (sealed value and blind index) of the encrypted fields."""
    out: dict[str, Any] = {}
    for f in fields:
        out[f.name], out[shadow(f.name)] = seal_value(collection, f, record_id, data.get(f.name, f.zero()))
    return out
