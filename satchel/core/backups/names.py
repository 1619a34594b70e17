"""Backup names: what a client may choose, what Satchel generates (PocketBase's rules and formats)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from satchel.core.errors import FieldError
from satchel.core.realtime.subscriptions import snakecase
from satchel.ports.blobs import InvalidKeyError, check_key

NAME_PATTERN = re.compile(r"^[a-z0-9_-]+\.zip$")
MAX_NAME_LENGTH = 150
MANUAL_PREFIX = "pb_backup_"
AUTO_PREFIX = "@auto_pb_backup_"
"""Automatic backups carry this prefix; retention (`cronMaxKeep`) only ever removes those."""
MAX_APP_NAME = 50


def name_error(name: str) -> FieldError | None:
    """Why a client-chosen backup name is refused (uniqueness is checked against the store)."""
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        return FieldError(
            "validation_length_out_of_range",
            f"The length must be between 1 and {MAX_NAME_LENGTH}.",
            {"min": 1, "max": MAX_NAME_LENGTH},
        )
    if not NAME_PATTERN.match(name):
        return FieldError("validation_match_invalid", "Must be in a valid format.")
    return None


def generate(app_name: str, prefix: str = MANUAL_PREFIX, now: datetime | None = None) -> str:
    """`pb_backup_<app_name>_<YYYYMMDDHHMMSS>.zip`, the time in UTC."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d%H%M%S")
    return f"{prefix}{snakecase(app_name)[:MAX_APP_NAME]}_{stamp}.zip"


def is_key(name: str) -> bool:
    """Whether `name` can name a backup in the store: one plain path segment."""
    try:
        check_key(name)
    except InvalidKeyError:
        return False
    return "/" not in name


def upload_name(filename: str) -> str:
    """The stored name of an uploaded file: its base name, as Go's multipart reader gives it."""
    return filename.replace("\\", "/").rsplit("/", 1)[-1]
