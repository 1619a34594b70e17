"""File field values on write: stored names mixed with new uploads, and their validation.

A submitted value is a list of items, each a name already on the record or an `Upload`
(PocketBase's `[]any` of strings and `*filesystem.File`). The record keeps only names (a new
upload is present by its stored name, with the `Upload` itself in `record.uploads`), so hooks,
rules and the response see exactly what will be stored.
"""

from __future__ import annotations

from typing import Any

from satchel.core.errors import FieldError
from satchel.core.fields.base import ValueContext
from satchel.core.fields.file import FileField
from satchel.core.fields.select import unique_strings
from satchel.core.files.uploads import Upload
from satchel.core.records.model import Record

Item = str | Upload
MAX_REPORTED_NAME = 250
MAX_REPORTED_ORIGINAL = 300


def _key(item: Item) -> str:
    return item.name if isinstance(item, Upload) else item


def _unique(items: list[Item]) -> list[Item]:
    seen: set[str] = set()
    out: list[Item] = []
    for item in items:
        key = _key(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def to_items(raw: Any) -> list[Item]:
    """PocketBase's `toSliceValue`: uploads kept, names read like any list value.

    A list element that is itself several names (a JSON array in a multipart text value sent
    beside files) contributes all of them, as PocketBase's multipart merge reads it.
    """
    if isinstance(raw, Upload):
        return [raw]
    if isinstance(raw, list | tuple):
        out: list[Item] = []
        for value in raw:
            if isinstance(value, Upload):
                out.append(value)
            else:
                out.extend(unique_strings(value))
        return _unique(out)
    return list(unique_strings(raw))


def without_uploads(raw: Any) -> tuple[Any, bool]:
    """A non-file field's submitted value without file parts; (value, False) when only files came
    (PocketBase never sees files under other keys, so the key counts as not submitted)."""
    if isinstance(raw, Upload):
        return None, False
    if isinstance(raw, list) and any(isinstance(v, Upload) for v in raw):
        kept = [v for v in raw if not isinstance(v, Upload)]
        if not kept:
            return None, False
        return (kept[0] if len(kept) == 1 else kept), True
    return raw, True


def current_items(record: Record, field: FileField) -> list[Item]:
    names = unique_strings(record.get(field.name, field.zero()))
    return [record.uploads.get(n, n) for n in names]


def apply_modifier(field: FileField, current: list[Item], modifier: str | None, raw: Any) -> list[Item]:
    """The field's items after a plain set or a `+`/`-` modifier, single-file fields keeping the last."""
    operand = to_items(raw)
    if modifier is None:
        result = operand
    elif modifier == "append":
        result = _unique(current + operand)
    elif modifier == "prepend":
        result = _unique(operand + current)
    else:
        removed = {_key(i) for i in operand}
        result = [i for i in current if _key(i) not in removed]
    return result if field.is_multiple else result[-1:]


def set_items(record: Record, field: FileField, items: list[Item]) -> None:
    """Store names on the record and remember the uploads among them."""
    names = [_key(i) for i in items]
    for item in items:
        if isinstance(item, Upload):
            record.uploads[item.name] = item
    record.set(field.name, names if field.is_multiple else (names[-1] if names else ""))


def new_uploads(record: Record, field: FileField) -> list[Upload]:
    """The uploads the field's final value still names (others were replaced before saving)."""
    old = set(unique_strings((record.original or {}).get(field.name)))
    names = unique_strings(record.get(field.name, field.zero()))
    return [record.uploads[n] for n in names if n in record.uploads and n not in old]


def invalid_files(names: list[str]) -> FieldError:
    cut = [n[:MAX_REPORTED_NAME] for n in names]
    return FieldError("validation_invalid_file", f"Invalid new files: [{' '.join(cut)}].", {"invalidFiles": cut})


def too_large(field: FileField, original: str) -> FieldError:
    limit = field.effective_max_size
    shown = original[:MAX_REPORTED_ORIGINAL]
    return FieldError(
        "validation_file_size_limit",
        f"Failed to upload {shown} - the maximum allowed file size is {limit} bytes.",
        {"file": shown, "maxSize": limit},
    )


def wrong_type(field: FileField, upload: Upload) -> FieldError:
    allowed = ", ".join(field.mime_types)
    return FieldError("validation_invalid_mime_type", f'"{upload.name}" mime type must be one of: {allowed}.')


async def file_error(record: Record, field: FileField, ctx: ValueContext) -> FieldError | None:
    """PocketBase's order: required, names that are neither stored nor uploaded, too many files,
    then each upload's size and sniffed type."""
    value = record.get(field.name, field.zero())
    names = unique_strings(value)
    old = set(unique_strings((record.original or {}).get(field.name)))
    unknown = [n for n in names if n not in old and n not in record.uploads]
    if unknown:
        return invalid_files(unknown)
    err = await field.validate(value, ctx)
    if err is not None:
        return err
    for upload in new_uploads(record, field):
        if upload.size is not None and upload.size > field.effective_max_size:
            return too_large(field, upload.filename)
        if field.mime_types and not upload.sniffed.is_one_of(field.mime_types):
            return wrong_type(field, upload)
    return None
