"""Validation of the `backups.cron` / `backups.cronMaxKeep` settings, with PocketBase's codes."""

from __future__ import annotations

from typing import Any

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.tools.cron import CronError, Schedule, error_message


def schedule_errors(backups: dict[str, Any]) -> ErrorTree:
    errors: ErrorTree = {}
    cron, keep = backups["cron"], backups["cronMaxKeep"]
    if cron:
        try:
            Schedule.parse(cron)
        except CronError as exc:
            errors["cron"] = FieldError("validation_invalid_cron", error_message(exc))
    if cron and not keep:
        errors["cronMaxKeep"] = required()
    elif keep and keep < 1:
        errors["cronMaxKeep"] = FieldError(
            "validation_min_greater_equal_than_required", "Must be no less than 1.", {"threshold": 1}
        )
    return errors
