"""The App hub: the one handle every service, hook and plugin receives.

It only holds things (ports, runtime settings, the collection registry, services); behaviour
lives in the services. Built by `satchel.wiring` from the boot configuration.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from satchel.core.collections.registry import CollectionRegistry
from satchel.core.schema_events import SchemaChanges
from satchel.core.sealed_columns import SealedColumn
from satchel.core.secrets_at_rest import Secrets
from satchel.core.settings import SettingsStore, load_or_create_secret
from satchel.ports.cache import Cache
from satchel.ports.database import Database, KeptCounter
from satchel.ports.mailer import Mailer
from satchel.tools.keyring import KeyRing

if TYPE_CHECKING:
    from satchel.core.auth.api_keys import ApiKeysService
    from satchel.core.auth.service import AuthService
    from satchel.core.backups.service import BackupsService
    from satchel.core.collections.service import CollectionsService
    from satchel.core.crons import CronRegistry
    from satchel.core.files.serve import FileServer
    from satchel.core.files.storages import Storages
    from satchel.core.hooks import Hooks
    from satchel.core.logs.service import LogsService
    from satchel.core.realtime.broker import RealtimeBroker
    from satchel.core.records.service import RecordsService


@dataclass(slots=True)
class AppConfig:
    """Boot-time options that core services need (the rest stays in wiring)."""

    data_dir: Path
    dev: bool = False
    query_timeout: float = 10.0
    max_body_size: int = 32 << 20
    password_time_cost: int = 2
    password_memory_cost: int = 19456
    shared_schema: bool = False
    """True when other processes (worker siblings) may change collections and settings."""
    backup_passphrase: str = field(default="", repr=False)
    """Encrypts new backup archives and decrypts encrypted ones on restore; empty: no encryption."""
    encryption_key: bytes = field(default=b"", repr=False)
    """Seals the secrets of the settings and OAuth2 providers at rest (32 bytes); empty: stored in clear."""
    old_encryption_keys: tuple[bytes, ...] = field(default=(), repr=False)
    """Keys that still open values sealed before a rotation (never used to seal)."""
    log_format: str = ""
    """How requests and app logs are printed to stdout: `json`, `text`, or "" (not at all)."""
    cors_origins: frozenset[str] = frozenset({"*"})
    """Origins a browser may call the API from (`*`: any), from `--origins`."""
    read_timeout: float = 30.0
    """Seconds a client may stall between request body chunks, from `--read-timeout`."""
    extra: dict[str, str] = field(default_factory=dict)


class App:
    def __init__(self, db: Database, config: AppConfig, *, cache: Cache, mailer: Mailer) -> None:
        self.db = db
        self.cache = cache
        """Shared short-lived state (rate limits, resend guards): per process or shared (Redis)."""
        self.mailer = mailer
        self.config = config
        self.collections = CollectionRegistry()
        self.schema = SchemaChanges(self)
        """Keeps `collections` and `settings` in step with the database when other processes write."""
        self.stale: Callable[[], bool] = self.schema.stale
        """Whether another process or node may have changed collections or settings since this one
        looked: checked before every request, so bound directly (no forwarding call)."""
        self.keys = KeyRing(config.encryption_key, config.old_encryption_keys)
        """Every configured key: the current one seals, older ones still open (docs/encryption.md)."""
        self.collections.keys = self.keys
        self.secrets = Secrets(self.keys.current, ring=self.keys)
        """The key (or none) that seals settings and OAuth2 secrets in the database."""
        self.settings = SettingsStore(db, self.schema, self.secrets)
        self.settings.on_loaded = self._settings_reloaded
        self.secret = ""
        """Signs auth tokens (with each record's tokenKey); generated once and kept in `_params`."""
        self.routes: list[Any] = []
        """HTTP routes added by plugins and Python hooks (Starlette routes, opaque to core); the
        HTTP layer serves them after the built-in ones."""
        self.asgi_middleware: list[Any] = []
        """ASGI middleware added by plugins (Starlette `Middleware` entries, opaque to core), outermost
        first; they wrap every request, ahead of CORS, body limits and auth."""
        self.grpc_interceptors: list[Callable[[], Any]] = []
        """Factories of gRPC server interceptors added by plugins (each returns a
        `grpc.aio.ServerInterceptor`, opaque to core), outermost first. The gRPC server calls them as it
        starts, so a plugin can add one without loading grpcio in a process that serves no gRPC."""
        self.sync_listeners: list[Callable[[], Awaitable[None]]] = []
        """Run after `sync` reloaded a sibling's change (the backups service learns of restores)."""
        self.kept_on_restore: list[KeptCounter] = []
        """Counters whose numbers leave the database (event ids): a restore never moves them back."""
        self.sealed_columns: list[SealedColumn] = []
        """Internal tables' columns of secrets sealed with the key ring (authenticator apps, webhooks):
        a backup holding one that no configured key opens is refused before anything is restored."""
        # set by wiring once the corresponding modules are built (avoids import cycles)
        self.hooks: Hooks
        self.realtime: RealtimeBroker
        self.records: RecordsService
        self.auth: AuthService
        self.api_keys: ApiKeysService
        self.collections_service: CollectionsService
        self.storages: Storages
        """Blob stores for uploaded files and backups, as the runtime settings choose them."""
        self.files: FileServer
        """Decides what `GET /api/files/...` sends (and keeps the thumbnail queue)."""
        self.backups: BackupsService
        self.logs: LogsService
        """Request and app logs in the auxiliary database (`_logs`)."""
        self.crons: CronRegistry
        """Scheduled jobs (`app.crons.add(id, expression, fn)`), PocketBase's cron."""

    async def bootstrap(self) -> None:
        """Create the system tables and collections on first run, then load them."""
        from satchel.core.collections.bootstrap import bootstrap_collections
        from satchel.core.collections.encrypted_fields import check_keys
        from satchel.core.secrets_rotation import seal_if_in_clear

        await bootstrap_collections(self)
        logs = getattr(self, "logs", None)  # absent on an App not assembled by wiring
        if logs is not None:
            await logs.bootstrap()
        self.secret = await load_or_create_secret(self.db)
        await self.schema.start()
        await check_keys(self.db.executor(), self.collections.all(), self.keys)  # encrypted record fields
        await seal_if_in_clear(self)  # a key set on data written without one

    async def _settings_reloaded(self) -> None:
        from satchel.core.hooks import SettingsReloadEvent

        hooks = getattr(self, "hooks", None)  # absent on an App not assembled by wiring
        if hooks is not None:
            await hooks.on_settings_reload.trigger(SettingsReloadEvent(self.settings.current), _applied)

    async def schema_changed(self, version: str) -> None:
        """Called after a commit that changed collections or settings (`version` is the new one)."""
        await self.schema.changed(version)

    async def sync(self) -> None:
        """Reload collections and settings when another process or node changed them."""
        await self.schema.sync()

    async def close(self) -> None:
        logs = getattr(self, "logs", None)
        if logs is not None:  # what is still buffered is written before the databases close
            await logs.close()
        storages = getattr(self, "storages", None)  # absent on an App not assembled by wiring
        if storages is not None:
            await storages.close()
        self.schema.close()
        await self.cache.close()
        await self.db.close()


async def _applied(_: Any) -> None:
    """The innermost handler of `on_settings_reload`: the new settings are in place already."""
