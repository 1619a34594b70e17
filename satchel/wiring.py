"""Composition root: boot configuration in, a running App out. The only importer of adapters."""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from satchel.adapters.cache.memory import MemoryCache
from satchel.adapters.db.sqlite import SqliteDatabase
from satchel.adapters.mail.sendmail import SendmailMailer
from satchel.adapters.mail.smtp import SmtpConfig, SmtpMailer
from satchel.apis.middleware import request_log
from satchel.apis.server import create_app
from satchel.apis.shutdown import on_worker_stop
from satchel.config import (
    AUTO_BROKER,
    MEMORY_CACHE,
    SQLITE_DB,
    BootConfig,
    ConfigError,
    broker_kind,
    is_postgres,
    parse_broker_url,
    parse_cache_url,
    parse_db_url,
    parse_event_sinks,
    parse_origins,
)
from satchel.core.app import App, AppConfig
from satchel.core.auth import expired_refs, totp_store
from satchel.core.auth.api_keys import ApiKeysService
from satchel.core.auth.oauth2 import redirect
from satchel.core.auth.service import AuthService
from satchel.core.backups.service import BackupsService
from satchel.core.collections.service import CollectionsService
from satchel.core.crons import CronLease, CronRegistry
from satchel.core.files.serve import FileServer
from satchel.core.files.storages import Storages
from satchel.core.hooks import Hooks, ServeEvent
from satchel.core.logs.handler import attach as attach_logging
from satchel.core.logs.service import LogsService
from satchel.core.realtime.broker import NODE_ID_LENGTH, LocalTransport, RealtimeBroker, Transport
from satchel.core.realtime.relay import BrokerTransport
from satchel.core.records.service import RecordsService
from satchel.core.rules.policy import check_rule_syntax
from satchel.plugins import events as events_plugin
from satchel.plugins import hooks_loader, tracing
from satchel.ports.blobs import BlobStore, S3Config
from satchel.ports.broker import Broker
from satchel.ports.cache import Cache
from satchel.ports.database import Database
from satchel.ports.event_sink import EventSink
from satchel.tools import passwords
from satchel.tools.gc_tuning import tune_for_server
from satchel.tools.ids import random_string
from satchel.tools.log_format import StdoutHandler

_log = logging.getLogger("satchel.server")
DB_FILE = "data.db"
AUX_DB_FILE = "auxiliary.db"
LOGS_CLEANUP_JOB = "__pbLogsCleanup__"


def build_app(
    data_dir: Path | str,
    *,
    query_timeout: float = 10.0,
    max_body_size: int = 32 << 20,
    workers: int = 1,
    cache_url: str = MEMORY_CACHE,
    broker_url: str = AUTO_BROKER,
    broker: Broker | None = None,
    backup_passphrase: str = "",
    db_url: str = "",
    encryption_key: bytes = b"",
    old_encryption_keys: tuple[bytes, ...] = (),
    log_format: str = "",
    dev: bool = False,
    origins: str = "*",
    read_timeout: float = 30.0,
) -> App:
    """An App over `db_url` (default: the SQLite file in `data_dir`), not yet bootstrapped.

    `broker` overrides the one `broker_url` names (several apps on one in-process bus in tests).
    The data directory holds uploaded files, backups and the local change signal in every case.
    """
    path = Path(data_dir)
    db = database_from_url(db_url, path, query_timeout=query_timeout)
    # other processes on this data directory or database (workers, nodes) may change collections and
    # settings: with PostgreSQL every node shares the database, so always
    shared = (
        workers > 1
        or broker is not None
        or is_postgres(db_url)
        or broker_kind(parse_broker_url(broker_url), workers) != "memory"
    )
    config = AppConfig(
        data_dir=path,
        query_timeout=query_timeout,
        max_body_size=max_body_size,
        shared_schema=shared,
        backup_passphrase=backup_passphrase,
        encryption_key=encryption_key,
        old_encryption_keys=old_encryption_keys,
        log_format=log_format,
        dev=dev,
        cors_origins=parse_origins(origins),
        read_timeout=read_timeout,
    )
    cache = cache_from_url(cache_url)
    app = App(db, config, cache=cache, mailer=SmtpMailer(lambda: smtp_config(app), fallback=SendmailMailer()))
    app.hooks = Hooks()
    app.records = RecordsService(app)
    app.auth = AuthService(app)
    app.api_keys = ApiKeysService(app)
    app.collections_service = CollectionsService(
        app, lambda collection, rule: check_rule_syntax(collection, rule, app.collections.get)
    )
    broker = broker or broker_from_url(broker_url, workers, path)
    transport: Transport = (
        LocalTransport() if broker is None else BrokerTransport(app, broker, random_string(NODE_ID_LENGTH))
    )
    app.realtime = RealtimeBroker(app, transport)
    app.storages = Storages(app, blob_store)
    app.files = FileServer(app)
    app.backups = BackupsService(app)
    events_plugin.keep_ids_on_restore(app)  # the CLI's restore too, which runs without the plugin
    events_plugin.check_secrets_on_restore(app)  # likewise
    app.logs = LogsService(app, aux_database_from_url(db_url, path, query_timeout=query_timeout))
    app.crons = crons_for(app)
    redirect.register(app)
    return app


def aux_database_from_url(url: str, data_dir: Path, *, query_timeout: float) -> Database:
    """Where logs go: `<data_dir>/auxiliary.db` (PocketBase's file) next to a SQLite database; on
    PostgreSQL the same database, through a small pool of its own so log writes never wait for
    (or hold) a request's connection."""
    url = parse_db_url(url)
    if is_postgres(url):
        from satchel.adapters.db.postgres import PostgresDatabase

        return PostgresDatabase(url, query_timeout=query_timeout, pool_size=2)
    return SqliteDatabase(data_dir / AUX_DB_FILE, query_timeout=query_timeout)


def crons_for(app: App) -> CronRegistry:
    """The registry with its lease in the auxiliary database and PocketBase's logs cleanup job."""

    async def refresh() -> None:
        if app.stale():  # a sibling edited a schedule kept in the settings
            await app.sync()

    crons = CronRegistry(CronLease(app.logs.db), refresh=refresh)
    crons.add(LOGS_CLEANUP_JOB, "0 */6 * * *", app.logs.cleanup)
    app.crons = crons
    expired_refs.register(app)
    return crons


def database_from_url(url: str, data_dir: Path, *, query_timeout: float) -> Database:
    """`sqlite:` (or empty) is `<data_dir>/data.db`, `sqlite:PATH` that file, a PostgreSQL URL that database.

    The PostgreSQL driver is imported only when asked for.
    """
    url = parse_db_url(url)
    if is_postgres(url):
        from satchel.adapters.db.postgres import PostgresDatabase

        data_dir.mkdir(parents=True, exist_ok=True)  # uploads, backups and the change signal live there
        return PostgresDatabase(url, query_timeout=query_timeout)
    file = url.removeprefix(SQLITE_DB)
    return SqliteDatabase(Path(file) if file else data_dir / DB_FILE, query_timeout=query_timeout)


def broker_from_url(url: str, workers: int, data_dir: Path) -> Broker | None:
    """None for one process alone; otherwise the broker that reaches the other processes.

    Drivers are imported only when asked for, like the cache's.
    """
    kind = broker_kind(parse_broker_url(url), workers)
    if kind == "memory":
        return None
    if kind == "local":
        from satchel.adapters.broker.mesh import MeshBroker, socket_dir

        return MeshBroker(socket_dir(data_dir.resolve(), NODE_ID_LENGTH))
    if kind == "redis":
        from satchel.adapters.broker.redis import RedisBroker

        return RedisBroker(url)
    from satchel.adapters.broker.nats import NatsBroker

    return NatsBroker(url)


def blob_store(root: Path, s3: S3Config | None) -> BlobStore:
    """The directory `root`, or the S3 bucket the settings name (its client imported only then)."""
    if s3 is None:
        from satchel.adapters.blobs.local import LocalBlobStore

        return LocalBlobStore(root)
    from satchel.adapters.blobs.s3 import S3BlobStore

    return S3BlobStore(s3)


def cache_from_url(url: str) -> Cache:
    """`memory:` counts in this process only; a Redis URL shares counts with every worker and node."""
    if parse_cache_url(url) == MEMORY_CACHE:
        return MemoryCache()
    # imported only when asked for: redis-py adds ~7 MB to every process that loads it
    from satchel.adapters.cache.redis import RedisCache

    return RedisCache(url)


def smtp_config(app: App) -> SmtpConfig:
    """The SMTP section of the runtime settings, read at every send (it is editable live)."""
    smtp = app.settings.current["smtp"]
    return SmtpConfig(
        host=smtp["host"],
        port=int(smtp["port"]),
        username=smtp["username"],
        password=smtp["password"],
        tls=bool(smtp["tls"]),
        local_name=smtp["localName"],
        auth_method=smtp["authMethod"],
        enabled=bool(smtp["enabled"]),
    )


async def open_app(data_dir: Path | str, **options: float | int | str | bytes | tuple[bytes, ...]) -> App:
    """A bootstrapped App (password cost is left as configured: production entry points set it)."""
    app = build_app(data_dir, **options)  # type: ignore[arg-type]
    try:
        await app.bootstrap()
    except BaseException:  # a settings key that does not fit, say: the database is not left open
        await app.close()
        raise
    return app


POSTGRES_SCHEMES = ("postgres://", "postgresql://")


def migration_database(location: str, *, read_only: bool = False) -> Database:
    """The database `satchel migrate-data` reads (`read_only`) or fills: a SQLite file or a PostgreSQL URL.

    No statement time limit: building an index or counting a large table may take longer than any
    request should.
    """
    if location.startswith(POSTGRES_SCHEMES):
        from satchel.adapters.db.postgres import PostgresDatabase

        return PostgresDatabase(location, query_timeout=0, read_only=read_only)
    return SqliteDatabase(Path(location), query_timeout=0, read_only=read_only)


def configure_passwords(config: AppConfig | None = None) -> None:
    """argon2id at OWASP's first recommended setting (19 MiB, t=2): PocketBase's bcrypt cost class."""
    c = config or AppConfig(data_dir=Path())
    passwords.configure(time_cost=c.password_time_cost, memory_cost=c.password_memory_cost, parallelism=1)


EVENT_SINKS_MODULE = "satchel.adapters.event_sinks"


def event_sinks_from_urls(value: str) -> list[EventSink]:
    """The broker sinks `--event-sink` / SATCHEL_EVENT_SINKS name, built by the adapters' factory."""
    urls = parse_event_sinks(value)
    if not urls:
        return []
    try:
        factory = importlib.import_module(EVENT_SINKS_MODULE).sink_from_url
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"--event-sink needs {EVENT_SINKS_MODULE}.sink_from_url (the broker sinks), missing from this build"
        ) from exc
    sinks: list[EventSink] = [factory(url) for url in urls]
    return sinks


def build_asgi(
    config: BootConfig, *, extend: Callable[[App], None] | None = None, own_process: bool = True
) -> Starlette:
    """The server's ASGI app; `extend` registers on the App first (library use), then the hook files.

    `own_process`: a server worker, whose garbage collector is tuned after start-up (not done for an
    ASGI app handed to someone else's process).
    """
    configure_passwords()
    app = build_app(
        config.dir,
        query_timeout=config.query_timeout,
        max_body_size=config.max_body_size,
        workers=config.workers,
        cache_url=config.cache_url,
        broker_url=config.broker_url,
        backup_passphrase=config.backup_passphrase,
        db_url=config.db,
        encryption_key=config.encryption_key_bytes(),
        old_encryption_keys=config.old_encryption_keys(),
        log_format=config.request_line_format,
        dev=config.dev,
        origins=config.origins,
        read_timeout=config.read_timeout,
    )
    if extend is not None:
        extend(app)
    hooks_loader.register(app, config)
    if config.dev:
        from satchel.plugins import automigrate

        automigrate.register(app, {"dir": config.migrations_folder})
    if config.metrics:
        from satchel.plugins import metrics

        metrics.register(app, config)
    if config.grpc:  # started and stopped with the worker by the serve hooks
        from satchel.plugins import grpc

        grpc.register(app, grpc.GrpcConfig(config.grpc, config.grpc_cert, config.grpc_key))
    if config.graphql:
        from satchel.plugins import graphql

        graphql.register(app)
    events = events_plugin.register(
        app,
        events_plugin.EventsConfig(
            retention=config.outbox_retention,
            max_attempts=config.webhook_max_attempts,
            backoff_base=config.webhook_retry_base,
        ),
        event_sinks_from_urls(config.event_sinks),
    )
    if tracing.enabled(config):  # last: its middleware goes outermost, the span covers the others
        tracing.register(app, config)
    # stdout belongs to the embedding process when the ASGI app is handed to someone else's server
    stdout = StdoutHandler(config.stdout_log_format) if own_process else None
    detach_logging = attach_logging(app.logs, stdout, dev=config.dev)

    async def startup() -> None:
        await app.bootstrap()
        await totp_store.check_secrets(app)  # as the events plugin checks webhook secrets
        await events.start()
        await app.realtime.open()
        await app.backups.start()
        await app.hooks.on_serve.trigger(ServeEvent(app), _noop)
        app.crons.start()
        _log.info("worker ready", extra={"pid": os.getpid()})
        if own_process:
            tune_for_server()  # after startup, so that what it built is frozen
        # granian drains open connections before the lifespan shutdown: end SSE streams on the signal
        on_worker_stop(app.realtime.disconnect_all)

    async def shutdown() -> None:
        await app.hooks.on_terminate.trigger(ServeEvent(app), _noop)
        await events.close()
        await app.crons.stop()
        await app.backups.close()
        await app.realtime.close()
        await app.close()
        detach_logging()
        request_log.STDOUT.flush()

    return create_app(app, on_startup=startup, on_shutdown=shutdown)


async def _noop(_: Any) -> None:
    return None
