"""The app's hook points and their event types.

Each hook wraps the real work (the innermost handler of the chain): a handler may change the
event, short-circuit by not calling `next()`, or run code after it. `*_request` hooks wrap a
whole API action; model hooks (`on_record_create`...) wrap the database write inside the
transaction; `*_after_*_success` hooks run after commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from satchel.tools.hooks import Event, Hook, TaggedHook

if TYPE_CHECKING:
    from satchel.core.app import App
    from satchel.core.collections.model import Collection
    from satchel.core.fields.file import FileField
    from satchel.core.files.serve import ServedFile
    from satchel.core.records.model import Record
    from satchel.core.rules.request_info import RequestInfo
    from satchel.ports.mailer import MailMessage


@dataclass(eq=False)
class RecordEvent(Event):
    """A record being created, updated or deleted (model level, inside the transaction)."""

    record: Record
    request: RequestInfo | None = None

    def tags(self) -> tuple[str, ...]:
        return (self.record.collection.id, self.record.collection.name)


@dataclass(eq=False)
class RecordRequestEvent(Event):
    """An API action on one record; `response` may be replaced by a handler."""

    collection: Collection
    request: RequestInfo
    record: Record | None = None
    response: Any = None

    def tags(self) -> tuple[str, ...]:
        return (self.collection.id, self.collection.name)


@dataclass(eq=False)
class RecordEmailChangeRequestEvent(RecordRequestEvent):
    """An email change being requested or confirmed; `new_email` may be replaced by a handler."""

    new_email: str = ""


@dataclass(eq=False)
class RecordOTPRequestEvent(RecordRequestEvent):
    """An OTP being requested; `record` is None for an unknown email, `password` is the code to mail."""

    password: str = ""


@dataclass(eq=False)
class RecordAuthWithOTPEvent(RecordRequestEvent):
    """A valid OTP about to be spent; `otp` is its `_otps` record."""

    otp: Record | None = None


@dataclass(eq=False)
class RecordAuthWithOAuth2Event(RecordRequestEvent):
    """A provider vouched for a user: `record` is the linked or matching record (None: one will be
    created from `create_data`); handlers may change either, or `oauth2_user` (an `AuthUser`)."""

    provider_name: str = ""
    oauth2_user: Any = None
    create_data: dict[str, Any] = field(default_factory=dict)
    is_new_record: bool = False


@dataclass(eq=False)
class RecordsListEvent(Event):
    collection: Collection
    request: RequestInfo
    records: list[Record] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)

    def tags(self) -> tuple[str, ...]:
        return (self.collection.id, self.collection.name)


@dataclass(eq=False)
class RecordAuthEvent(Event):
    """A successful authentication about to be answered with a token."""

    collection: Collection
    request: RequestInfo
    record: Record
    token: str
    method: str
    meta: dict[str, Any] = field(default_factory=dict)

    def tags(self) -> tuple[str, ...]:
        return (self.collection.id, self.collection.name)


@dataclass(eq=False)
class MailerEvent(Event):
    """A mail about to be handed to the mailer; a handler may replace `message` or not send it."""

    message: MailMessage


@dataclass(eq=False)
class MailerRecordEvent(MailerEvent):
    """A system mail about an auth record; `meta` holds its placeholders' values (TOKEN, OTP...)."""

    record: Record | None = None
    meta: dict[str, str] = field(default_factory=dict)

    def tags(self) -> tuple[str, ...]:
        return () if self.record is None else (self.record.collection.id, self.record.collection.name)


@dataclass(eq=False)
class CollectionEvent(Event):
    collection: Collection

    def tags(self) -> tuple[str, ...]:
        return (self.collection.id, self.collection.name)


@dataclass(eq=False)
class FileDownloadRequestEvent(Event):
    """A record file about to be sent (PocketBase's OnFileDownloadRequest). Access was checked;
    `served` (the original or the thumbnail) may be replaced, or the handler may raise to refuse."""

    collection: Collection
    record: Record
    field: FileField
    request: RequestInfo
    served: ServedFile

    def tags(self) -> tuple[str, ...]:
        return (self.collection.id, self.collection.name)


@dataclass(eq=False)
class FileTokenRequestEvent(Event):
    """A file token being issued to `record` (PocketBase's OnFileTokenRequest); `token` is set by
    the innermost handler and may be replaced after `next()`."""

    record: Record
    token: str = ""

    def tags(self) -> tuple[str, ...]:
        return (self.record.collection.id, self.record.collection.name)


@dataclass(eq=False)
class BackupEvent(Event):
    """A backup archive being created or restored (PocketBase's OnBackupCreate/OnBackupRestore).
    The innermost handler does the work; a handler may raise to refuse, or act after `next()`
    (the name was validated before the hook: it is not meant to be changed)."""

    name: str


@dataclass(eq=False)
class ServeEvent(Event):
    """A server process starting (bootstrapped, realtime open, before its first request) or
    stopping (PocketBase's OnServe and OnTerminate): start-up work and background tasks of extensions.
    Runs once in every worker process."""

    app: App


@dataclass(eq=False)
class SettingsReloadEvent(Event):
    """The settings this process uses were replaced (PocketBase's OnSettingsReload): at start, after
    a change made here, after another process's change was loaded, after a restore. Handlers run
    once `settings` (secrets in clear: never log it) is in place; they read it, not change it."""

    settings: dict[str, Any]


class Hooks:
    """All hook points. Attribute names are the public hook API (`app.hooks.on_record_create`)."""

    def __init__(self) -> None:
        self.on_record_create: Hook[RecordEvent] = Hook()
        self.on_record_update: Hook[RecordEvent] = Hook()
        self.on_record_delete: Hook[RecordEvent] = Hook()
        self.on_record_after_create_success: Hook[RecordEvent] = Hook()
        self.on_record_after_update_success: Hook[RecordEvent] = Hook()
        self.on_record_after_delete_success: Hook[RecordEvent] = Hook()
        self.on_record_create_request: Hook[RecordRequestEvent] = Hook()
        self.on_record_update_request: Hook[RecordRequestEvent] = Hook()
        self.on_record_delete_request: Hook[RecordRequestEvent] = Hook()
        self.on_record_view_request: Hook[RecordRequestEvent] = Hook()
        self.on_records_list_request: Hook[RecordsListEvent] = Hook()
        self.on_record_auth_request: Hook[RecordAuthEvent] = Hook()
        # the email flows (PocketBase's OnRecordRequestVerificationRequest... names)
        self.on_record_request_verification_request: Hook[RecordRequestEvent] = Hook()
        self.on_record_confirm_verification_request: Hook[RecordRequestEvent] = Hook()
        self.on_record_request_password_reset_request: Hook[RecordRequestEvent] = Hook()
        self.on_record_confirm_password_reset_request: Hook[RecordRequestEvent] = Hook()
        self.on_record_request_email_change_request: Hook[RecordEmailChangeRequestEvent] = Hook()
        self.on_record_confirm_email_change_request: Hook[RecordEmailChangeRequestEvent] = Hook()
        # OTP (PocketBase's OnRecordRequestOTPRequest and OnRecordAuthWithOTPRequest)
        self.on_record_request_otp_request: Hook[RecordOTPRequestEvent] = Hook()
        self.on_record_auth_with_otp_request: Hook[RecordAuthWithOTPEvent] = Hook()
        self.on_record_auth_with_oauth2_request: Hook[RecordAuthWithOAuth2Event] = Hook()
        # system mails (PocketBase's OnMailerSend and OnMailerRecord*Send): the record hook runs
        # first, then `on_mailer_send` around the delivery itself
        self.on_mailer_send: Hook[MailerEvent] = Hook()
        self.on_mailer_record_verification_send: Hook[MailerRecordEvent] = Hook()
        self.on_mailer_record_password_reset_send: Hook[MailerRecordEvent] = Hook()
        self.on_mailer_record_email_change_send: Hook[MailerRecordEvent] = Hook()
        self.on_mailer_record_otp_send: Hook[MailerRecordEvent] = Hook()
        self.on_mailer_record_auth_alert_send: Hook[MailerRecordEvent] = Hook()
        self.on_collection_create: Hook[CollectionEvent] = Hook()
        self.on_collection_update: Hook[CollectionEvent] = Hook()
        self.on_collection_delete: Hook[CollectionEvent] = Hook()
        # files and backups
        self.on_file_download_request: Hook[FileDownloadRequestEvent] = Hook()
        self.on_file_token_request: Hook[FileTokenRequestEvent] = Hook()
        self.on_backup_create: Hook[BackupEvent] = Hook()
        self.on_backup_restore: Hook[BackupEvent] = Hook()
        # server process lifecycle (each worker): after start-up, before shutdown
        self.on_serve: Hook[ServeEvent] = Hook()
        self.on_terminate: Hook[ServeEvent] = Hook()
        self.on_settings_reload: Hook[SettingsReloadEvent] = Hook()
        for name in self.names():  # probes report a hook by its attribute name
            getattr(self, name).name = name

    def names(self) -> list[str]:
        return [k for k, v in vars(self).items() if isinstance(v, Hook)]

    @staticmethod
    def for_collections(hook: Hook[Any], *names: str) -> TaggedHook[Any]:
        """`hooks.for_collections(hooks.on_record_create, "posts").bind(handler)`."""
        return TaggedHook(hook, *names)
