"""The surface Python extensions register on: hook decorators, custom routes, the live App.

Hook files (`satchel_hooks/*.py`) and library users (`satchel.Satchel`) get one of these as `app`.
Registrations are recorded first and bound when an App exists, because an App belongs to one
process: `satchel serve --workers N` builds one per worker from the same recorded registrations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from starlette.routing import Route

from satchel.core.hooks import (
    BackupEvent,
    CollectionEvent,
    FileDownloadRequestEvent,
    FileTokenRequestEvent,
    MailerEvent,
    MailerRecordEvent,
    RecordAuthEvent,
    RecordAuthWithOAuth2Event,
    RecordAuthWithOTPEvent,
    RecordEmailChangeRequestEvent,
    RecordEvent,
    RecordOTPRequestEvent,
    RecordRequestEvent,
    RecordsListEvent,
    ServeEvent,
    SettingsReloadEvent,
)
from satchel.plugins.extend.hook_points import Binding, HookPoint
from satchel.plugins.extend.routes import RouteHandler, custom_route
from satchel.tools.cron import Schedule
from satchel.tools.hooks import Hook, TaggedHook

if TYPE_CHECKING:
    from satchel.core.app import App
    from satchel.core.collections.registry import CollectionRegistry
    from satchel.core.hooks import Hooks
    from satchel.core.realtime.broker import RealtimeBroker
    from satchel.core.records.service import RecordsService
    from satchel.core.settings import SettingsStore
    from satchel.ports.database import Database

F = Callable[..., Any]


class NotBoundError(RuntimeError):
    """The live App was asked for before the server built one (at import time of a hook file)."""


class Registrar:
    # record model hooks (inside the write's transaction) and after-commit hooks
    on_record_create: HookPoint[RecordEvent] = HookPoint()
    on_record_update: HookPoint[RecordEvent] = HookPoint()
    on_record_delete: HookPoint[RecordEvent] = HookPoint()
    on_record_after_create_success: HookPoint[RecordEvent] = HookPoint()
    on_record_after_update_success: HookPoint[RecordEvent] = HookPoint()
    on_record_after_delete_success: HookPoint[RecordEvent] = HookPoint()
    # API requests on records
    on_record_create_request: HookPoint[RecordRequestEvent] = HookPoint()
    on_record_update_request: HookPoint[RecordRequestEvent] = HookPoint()
    on_record_delete_request: HookPoint[RecordRequestEvent] = HookPoint()
    on_record_view_request: HookPoint[RecordRequestEvent] = HookPoint()
    on_records_list_request: HookPoint[RecordsListEvent] = HookPoint()
    # auth
    on_record_auth_request: HookPoint[RecordAuthEvent] = HookPoint()
    on_record_request_verification_request: HookPoint[RecordRequestEvent] = HookPoint()
    on_record_confirm_verification_request: HookPoint[RecordRequestEvent] = HookPoint()
    on_record_request_password_reset_request: HookPoint[RecordRequestEvent] = HookPoint()
    on_record_confirm_password_reset_request: HookPoint[RecordRequestEvent] = HookPoint()
    on_record_request_email_change_request: HookPoint[RecordEmailChangeRequestEvent] = HookPoint()
    on_record_confirm_email_change_request: HookPoint[RecordEmailChangeRequestEvent] = HookPoint()
    on_record_request_otp_request: HookPoint[RecordOTPRequestEvent] = HookPoint()
    on_record_auth_with_otp_request: HookPoint[RecordAuthWithOTPEvent] = HookPoint()
    on_record_auth_with_oauth2_request: HookPoint[RecordAuthWithOAuth2Event] = HookPoint()
    # mails
    on_mailer_send: HookPoint[MailerEvent] = HookPoint(tagged=False)
    on_mailer_record_verification_send: HookPoint[MailerRecordEvent] = HookPoint()
    on_mailer_record_password_reset_send: HookPoint[MailerRecordEvent] = HookPoint()
    on_mailer_record_email_change_send: HookPoint[MailerRecordEvent] = HookPoint()
    on_mailer_record_otp_send: HookPoint[MailerRecordEvent] = HookPoint()
    on_mailer_record_auth_alert_send: HookPoint[MailerRecordEvent] = HookPoint()
    # collections, files, backups
    on_collection_create: HookPoint[CollectionEvent] = HookPoint()
    on_collection_update: HookPoint[CollectionEvent] = HookPoint()
    on_collection_delete: HookPoint[CollectionEvent] = HookPoint()
    on_file_download_request: HookPoint[FileDownloadRequestEvent] = HookPoint()
    on_file_token_request: HookPoint[FileTokenRequestEvent] = HookPoint()
    on_backup_create: HookPoint[BackupEvent] = HookPoint(tagged=False)
    on_backup_restore: HookPoint[BackupEvent] = HookPoint(tagged=False)
    # each server process: started (before its first request), stopping
    on_serve: HookPoint[ServeEvent] = HookPoint(tagged=False)
    on_terminate: HookPoint[ServeEvent] = HookPoint(tagged=False)
    # settings: replaced in this process (start, a change here or elsewhere, a restore)
    on_settings_reload: HookPoint[SettingsReloadEvent] = HookPoint(tagged=False)

    def __init__(self) -> None:
        self.bindings: list[Binding] = []
        self.routes: list[Route] = []
        self.crons: list[tuple[str, str, F]] = []
        self._core: App | None = None

    # ------------------------------------------------------------------ registering
    def add_binding(self, binding: Binding) -> None:
        self.bindings.append(binding)
        if self._core is not None:  # registered at run time: bind at once as well
            _bind(self._core, binding)

    def route(self, path: str, methods: Sequence[str] = ("GET",), *, name: str | None = None) -> Callable[[F], F]:
        """A custom HTTP route, served after the built-in ones; the handler gets a `RouteEvent`."""
        if isinstance(methods, str):
            methods = [methods]

        def decorate(handler: F) -> F:
            if self._core is not None:
                raise RuntimeError(f"route {path}: routes are fixed once the server runs; add them at import time")
            self.routes.append(custom_route(path, handler, methods, name))
            return handler

        return decorate

    def cron(self, job_id: str, expression: str) -> Callable[[F], F]:
        """A scheduled job (PocketBase's `cronAdd`): the async function runs when `expression` is due,
        in one process of the deployment (see docs/crons.md). A bad expression raises `CronError` now."""
        Schedule.parse(expression)

        def decorate(fn: F) -> F:
            self.crons.append((job_id, expression, fn))
            if self._core is not None:
                self._core.crons.add(job_id, expression, fn)
            return fn

        return decorate

    def bind(self, core: App) -> None:
        """Bind every recorded handler on `core.hooks`, add the routes to `core.routes` and the jobs
        to `core.crons`."""
        for binding in self.bindings:
            _bind(core, binding)
        core.routes.extend(self.routes)
        for job_id, expression, fn in self.crons:
            core.crons.add(job_id, expression, fn)
        self._core = core

    # ------------------------------------------------------------------ the live App
    @property
    def core(self) -> App:
        """This process's App (services, ports, settings); only once the server built it."""
        if self._core is None:
            raise NotBoundError(
                "the app is not running yet: at import time only register hooks and routes, "
                "and do start-up work in an @app.on_serve() handler"
            )
        return self._core

    @property
    def hooks(self) -> Hooks:
        return self.core.hooks

    @property
    def records(self) -> RecordsService:
        return self.core.records

    @property
    def realtime(self) -> RealtimeBroker:
        return self.core.realtime

    @property
    def collections(self) -> CollectionRegistry:
        return self.core.collections

    @property
    def settings(self) -> SettingsStore:
        return self.core.settings

    @property
    def db(self) -> Database:
        return self.core.db


def _bind(core: App, binding: Binding) -> None:
    hook: Hook[Any] = getattr(core.hooks, binding.hook)
    target: Hook[Any] | TaggedHook[Any] = TaggedHook(hook, *binding.tags) if binding.tags else hook
    target.bind(binding.handler, id=binding.id, priority=binding.priority)


__all__ = ["NotBoundError", "Registrar", "RouteHandler"]
