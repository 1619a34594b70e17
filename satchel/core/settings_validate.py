"""PocketBase's validation of each settings section (`core/settings_model.go`), with its field codes.

ozzo-validation runs a field's rules in order and reports the first that fails; "required" means
the zero value (so `"  "` is a name), and length, format and range rules skip empty values.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from satchel.core.backups.settings_check import schedule_errors
from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.email import is_email
from satchel.core.fields.number import MAX_SAFE_INT, below_min
from satchel.core.fields.url import is_url
from satchel.core.ratelimit import section as rate_limits

MAX_NAME = 255
_HEX_COLOR = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_DNS_NAME = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62}(\.[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})*[._]?$")
SMTP_AUTH_METHODS = ("PLAIN", "LOGIN")
S3_REQUIRED = ("bucket", "region", "accessKey", "secret")
INVALID_URL = FieldError("validation_is_url", "Must be a valid URL.")


def validate(s: dict[str, Any]) -> ErrorTree:
    """Every section's errors ({} when the whole document is valid)."""
    errors: ErrorTree = {}
    errors.update(_nonempty("superuserIPs", _ip_list_errors(s["superuserIPs"])))
    errors.update(_nonempty("meta", _meta_errors(s["meta"])))
    errors.update(_nonempty("logs", _logs_errors(s["logs"])))
    errors.update(_nonempty("smtp", _smtp_errors(s["smtp"])))
    errors.update(_nonempty("s3", _s3_errors(s["s3"])))
    backups = {**_nonempty("s3", _s3_errors(s["backups"]["s3"])), **schedule_errors(s["backups"])}
    errors.update(_nonempty("backups", backups))
    errors.update(_nonempty("batch", _batch_errors(s["batch"])))
    errors.update(_nonempty("rateLimits", rate_limits.validate(s["rateLimits"])))
    return errors  # trustedProxy: PocketBase checks nothing (a header name is any string)


def is_host(value: str) -> bool:
    """An IP address or a DNS name (govalidator's IsHost, which PocketBase's `is.Host` runs)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return bool(value) and len(value.replace(".", "")) <= 255 and _DNS_NAME.match(value) is not None
    return True


def _nonempty(key: str, tree: ErrorTree) -> ErrorTree:
    return {key: tree} if tree else {}


def _length(lo: int, hi: int) -> FieldError:
    if lo == hi:
        return FieldError("validation_length_invalid", f"The length must be exactly {lo}.", {"max": hi, "min": lo})
    return FieldError(
        "validation_length_out_of_range", f"The length must be between {lo} and {hi}.", {"max": hi, "min": lo}
    )


def _name_error(value: str) -> FieldError | None:
    if not value:
        return required()
    return _length(1, MAX_NAME) if len(value) > MAX_NAME else None


def _meta_errors(meta: dict[str, Any]) -> ErrorTree:
    errors: ErrorTree = {}
    color = meta["accentColor"]
    if color and len(color) != 7:
        errors["accentColor"] = _length(7, 7)
    elif color and not _HEX_COLOR.match(color):
        errors["accentColor"] = FieldError("validation_is_hex_color", "Must be a valid hexadecimal color code.")
    for key in ("appName", "senderName"):
        if error := _name_error(meta[key]):
            errors[key] = error
    if not meta["appURL"]:
        errors["appURL"] = required()
    elif not is_url(meta["appURL"]):
        errors["appURL"] = INVALID_URL
    if meta["senderAddress"] and not is_email(meta["senderAddress"]):
        errors["senderAddress"] = FieldError("validation_is_email", "Must be a valid email address.")
    elif not meta["senderAddress"]:
        errors["senderAddress"] = required()
    return errors


def _min_errors(section: dict[str, Any], keys: tuple[str, ...]) -> ErrorTree:
    return {key: below_min(0) for key in keys if section[key] < 0}


def _logs_errors(logs: dict[str, Any]) -> ErrorTree:
    """`maxDays` and `maxDataSize` in 0..2^53-1, `minLevel` at most 2^53-1 (JSON-safe integers)."""
    errors = _min_errors(logs, ("maxDays", "maxDataSize"))
    for key in ("maxDays", "minLevel", "maxDataSize"):
        if key not in errors and logs[key] > MAX_SAFE_INT:
            errors[key] = FieldError(  # an int threshold: written as one, not as Go writes a float
                "validation_max_less_equal_than_required",
                f"Must be no greater than {MAX_SAFE_INT}.",
                {"threshold": MAX_SAFE_INT},
            )
    return errors


def _batch_errors(batch: dict[str, Any]) -> ErrorTree:
    """`maxRequests` and `timeout` are required (non-zero) once enabled; none may be negative."""
    errors = _min_errors(batch, ("maxRequests", "timeout", "maxBodySize"))
    if batch["enabled"]:
        errors.update({key: required() for key in ("maxRequests", "timeout") if not batch[key]})
    return errors


def _ip_list_errors(values: list[Any]) -> ErrorTree:
    errors: ErrorTree = {}
    for i, ip in enumerate(values):
        if ip == "":
            errors[str(i)] = required()
        elif not rate_limits.ip_or_subnet(ip):
            errors[str(i)] = FieldError("validation_invlaid_ip_or_subnet", "Invalid IP or CIDR subnet.")
    return errors


def _smtp_errors(smtp: dict[str, Any]) -> ErrorTree:
    """PocketBase's SMTPConfig rules: host and port only matter (and are required) once enabled."""
    errors: ErrorTree = {}
    host_error = "Must be a valid IP address or DNS name."
    if smtp["enabled"] and not smtp["host"]:
        errors["host"] = required()
    elif smtp["host"] and not is_host(smtp["host"]):
        errors["host"] = FieldError("validation_is_host", host_error)
    if smtp["enabled"] and not smtp["port"]:
        errors["port"] = required()
    elif smtp["port"] < 0:
        errors["port"] = below_min(0)
    if smtp["authMethod"] and smtp["authMethod"] not in SMTP_AUTH_METHODS:
        errors["authMethod"] = FieldError("validation_in_invalid", "Must be a valid value.")
    if smtp["localName"] and not is_host(smtp["localName"]):
        errors["localName"] = FieldError("validation_is_host", host_error)
    return errors


def _s3_errors(s3: dict[str, Any]) -> ErrorTree:
    """PocketBase's S3Config rules: everything is required once enabled; a set endpoint must be a URL."""
    errors: ErrorTree = {}
    if s3["endpoint"] and not is_url(s3["endpoint"]):
        errors["endpoint"] = INVALID_URL
    elif s3["enabled"] and not s3["endpoint"]:
        errors["endpoint"] = required()
    if s3["enabled"]:
        errors.update({key: required() for key in S3_REQUIRED if not s3[key]})
    return errors
