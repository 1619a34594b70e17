"""`POST /api/settings/test/s3`: prove the saved S3 settings work by writing and deleting one object.

As in PocketBase, the test uses the settings already saved (not the request), uploads a tiny file
under a random prefix and then deletes that prefix, which exercises listing and deletion too.
Failures are reported with the backend's raw error, since the superuser needs it to fix the
setup; the secret itself is scrubbed from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from satchel.core.auth.form_input import LOAD_ERROR
from satchel.core.collections.validate import sentence
from satchel.core.errors import BadRequestError, FieldError, ValidationError, required
from satchel.core.files.storages import BACKUPS_DIR, STORAGE_DIR
from satchel.ports.blobs import BlobError, one_chunk
from satchel.tools.ids import random_string

if TYPE_CHECKING:
    from satchel.core.app import App

FAILED = "Failed to test the S3 filesystem."
FILESYSTEMS = ("storage", "backups")
TEST_PREFIX = "pb_settings_test_"


def _filesystem(body: dict[str, Any]) -> str:
    value = body.get("filesystem")
    if value is not None and not isinstance(value, str):
        raise BadRequestError(LOAD_ERROR)
    if not value:
        raise ValidationError(FAILED, {"filesystem": required()})
    if value not in FILESYSTEMS:
        raise ValidationError(FAILED, {"filesystem": FieldError("validation_in_invalid", "Must be a valid value.")})
    return value


def _raw(reason: str, section: dict[str, Any]) -> BadRequestError:
    secret = str(section.get("secret") or "")
    if secret:
        reason = reason.replace(secret, "***")
    return BadRequestError(sentence(f"{FAILED} Raw error: \n{reason}"))


async def check_s3(app: App, body: dict[str, Any]) -> None:
    """Raises ValidationError for a bad body, BadRequestError when the section is off or fails."""
    filesystem = _filesystem(body)
    settings = app.settings.current
    section: dict[str, Any] = settings["backups"]["s3"] if filesystem == "backups" else settings["s3"]
    if not section.get("enabled"):
        raise _raw("S3 storage filesystem is not enabled", section)
    store = app.storages.build(section, BACKUPS_DIR if filesystem == "backups" else STORAGE_DIR)
    prefix = TEST_PREFIX + random_string(5)
    try:
        try:
            await store.write(f"{prefix}/test.txt", one_chunk(b"test"), content_type="text/plain")
        except BlobError as exc:
            raise _raw(f"failed to upload a test file: {exc}", section) from None
        try:
            await store.delete_prefix(prefix + "/")
        except BlobError as exc:
            raise _raw(f"failed to delete a test file: {exc}", section) from None
    finally:
        await store.close()
