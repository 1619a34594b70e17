"""`POST /api/settings/test/email`: send one system mail to an address, for real, to try the setup.

Unlike the user-facing flows this one reports delivery: a superuser checking the SMTP settings
needs to see the server's refusal, not a 204. The mail is rendered for a throwaway record of the
chosen auth collection whose visible fields hold `__pb_test_<field>__`, exactly as PocketBase
fills it, so a template's `{RECORD:...}` placeholders show where they land.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from satchel.core import mails
from satchel.core.auth.email_flows import MAX_EMAIL, rotate_token_key
from satchel.core.auth.form_input import LOAD_ERROR
from satchel.core.auth.tokens import TYPE_EMAIL_CHANGE, TYPE_PASSWORD_RESET, TYPE_VERIFICATION, issue_record_token
from satchel.core.collections.model import SUPERUSERS, Collection
from satchel.core.errors import BadRequestError, ErrorTree, FieldError, ValidationError, required
from satchel.core.fields.email import is_email
from satchel.core.records.model import Record
from satchel.ports.mailer import MailError
from satchel.tools.datetime import now_str

if TYPE_CHECKING:
    from satchel.core.app import App

FAILED = "Failed to send the test email."
TEMPLATES = ("verification", "password-reset", "email-change", "otp", "login-alert")


def _form(app: App, body: dict[str, Any]) -> tuple[str, str, Collection]:
    values: list[str] = []
    for key in ("email", "template", "collection"):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise BadRequestError(LOAD_ERROR)
        values.append(value or "")
    email, template, collection_name = values
    errors: ErrorTree = {}
    collection = app.collections.get(collection_name or SUPERUSERS)
    if collection_name and (len(collection_name) > MAX_EMAIL or collection is None or not collection.is_auth):
        message = "Must be a valid auth collection id or name."
        errors["collection"] = FieldError("validation_invalid_auth_collection", message)
    if not email:
        errors["email"] = required()
    elif len(email) > MAX_EMAIL:
        errors["email"] = FieldError(
            "validation_length_out_of_range", "The length must be between 1 and 255.", {"max": 255, "min": 1}
        )
    elif not is_email(email):
        errors["email"] = FieldError("validation_is_email", "Must be a valid email address.")
    if not template:
        errors["template"] = required()
    elif template not in TEMPLATES:
        errors["template"] = FieldError("validation_in_invalid", "Must be a valid value.")
    if errors or collection is None:
        raise ValidationError(FAILED, errors)
    return email, template, collection


def _sample_record(collection: Collection, email: str) -> Record:
    data: dict[str, Any] = {}
    for field in collection.fields:
        if field.hidden:
            data[field.name] = field.zero()
            continue
        try:
            data[field.name] = field.coerce(f"__pb_test_{field.name}__")
        except (TypeError, ValueError):
            data[field.name] = field.zero()
    record = Record(collection, data)
    rotate_token_key(record)
    record.set("email", email)
    return record


async def send_test_email(app: App, body: dict[str, Any]) -> None:
    email, template, collection = _form(app, body)
    record = _sample_record(collection, email)
    secret = app.secret

    def token(purpose: str, **claims: str) -> str:
        return issue_record_token(secret, record, purpose, email=email, **claims)

    path: tuple[str, ...]
    values: dict[str, str]
    if template == "verification":
        path, values = ("verificationTemplate",), {"TOKEN": token(TYPE_VERIFICATION)}
    elif template == "password-reset":
        path, values = ("resetPasswordTemplate",), {"TOKEN": token(TYPE_PASSWORD_RESET)}
    elif template == "email-change":
        path, values = ("confirmEmailChangeTemplate",), {"TOKEN": token(TYPE_EMAIL_CHANGE, newEmail=email)}
    elif template == "otp":
        path, values = ("otp", "emailTemplate"), {"OTP_ID": "_PB_TEST_OTP_ID_", "OTP": "123456"}
    else:
        path, values = ("authAlert", "emailTemplate"), {"ALERT_INFO": f"{now_str()} - TEST_IP TEST_USER_AGENT"}
    try:
        await mails.send_record_mail(app, record, path, to=email, **values)
    except MailError as exc:
        raise BadRequestError(f"{FAILED} Raw error: \n{exc}") from exc
