"""Starting a server: checks in the main process, then granian's worker processes.

Shared by `satchel serve` and `Satchel.serve()` (library use). The main process bootstraps the
database once (so schema creation never races between workers), applies pending migration files,
reaches the cache and broker (an unreachable Redis or NATS fails here, not on the first request)
and loads the Python hooks once (a broken hook file stops the start with its file and line,
instead of failing in every worker).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from satchel.config import MEMORY_CACHE, BootConfig, ConfigError, connection_capacity, parse_http, redact_url
from satchel.core.secrets_at_rest import SecretsKeyError
from satchel.plugins import hooks_loader
from satchel.plugins.hooks_loader.watch import HookWatcher
from satchel.ports.broker import BrokerError
from satchel.ports.cache import CacheError
from satchel.ports.database import DatabaseError
from satchel.tls_listener import granian_tls_options, public_base, start_redirect_listener, stop_redirect_listener

if TYPE_CHECKING:
    from satchel.core.app import App

ASGI_TARGET = "satchel.asgi:app"
DEV_RESPAWN_INTERVAL = 1.0
"""Seconds a restarted worker overlaps the one it replaces in --dev (granian's default is 3.5)."""


def no_key_warning(app: App) -> str:
    """A note for the operator when secrets are kept in clear because no key is configured."""
    if app.secrets.box is not None or not app.secrets.clear_seen:
        return ""
    return (
        "Warning: the settings hold secrets (SMTP password, S3 secrets or OAuth2 client secrets) stored in clear "
        "in the database: set SATCHEL_ENCRYPTION_KEY or --encryption-key-file to encrypt them "
        "(generate a key with `satchel settings new-key`)."
    )


def prepare(cfg: BootConfig) -> None:
    """Everything that should stop the server before any worker starts; raises `ClickException`."""
    from satchel.core.auth import totp_store
    from satchel.core.sealed_columns import check_keys
    from satchel.plugins.events.webhooks import rekey as webhook_keys
    from satchel.plugins.events.webhooks import store as webhook_store
    from satchel.wiring import event_sinks_from_urls, open_app

    async def probe() -> None:
        try:
            app = await open_app(
                cfg.dir,
                db_url=cfg.db,
                cache_url=cfg.cache_url,
                broker_url=cfg.broker_url,
                workers=cfg.workers,
                encryption_key=cfg.encryption_key_bytes(),
                old_encryption_keys=cfg.old_encryption_keys(),
            )
        except DatabaseError as exc:
            raise click.ClickException(f"cannot open the database {redact_url(cfg.db)}: {exc}") from exc
        except SecretsKeyError as exc:  # stored secrets sealed with another key, or no key given
            raise click.ClickException(str(exc)) from exc
        try:
            in_clear = await check_keys(app.db, app.keys, webhook_store.SECRET)  # as each worker's events plugin does
            totps_in_clear = await totp_store.check_secrets(app)  # and each worker's start
        except SecretsKeyError as exc:
            await app.realtime.close()
            await app.close()
            raise click.ClickException(str(exc)) from exc
        warnings = (
            no_key_warning(app),
            webhook_keys.clear_warning(app.keys, in_clear),
            totp_store.clear_warning(app, totps_in_clear),
        )
        for warning in warnings:
            if warning:
                click.echo(warning, err=True)
        try:
            for sink in event_sinks_from_urls(cfg.event_sinks):  # a missing factory fails here, clearly
                await sink.close()
            await apply_migrations(app, cfg.migrations_folder)
            await print_setup_link(app, cfg)
            await app.cache.get("startup-probe")
            await app.realtime.open()
        except CacheError as exc:
            raise click.ClickException(f"cannot reach the cache at {redact_url(cfg.cache_url)}: {exc}") from exc
        except BrokerError as exc:
            raise click.ClickException(f"cannot reach the broker at {redact_url(cfg.broker_url)}: {exc}") from exc
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from exc
        finally:
            await app.realtime.close()
            await app.close()

    asyncio.run(probe())
    try:
        hooks_loader.check(cfg)
    except hooks_loader.HookFilesError as exc:
        raise click.ClickException(str(exc)) from exc


async def apply_migrations(app: App, folder: Path) -> None:
    """Pending migration files, before any worker serves a request; a failure stops the start."""
    from satchel.core.migrations import SchemaMigrationError, run_pending

    try:
        for name in await run_pending(app, folder):
            click.echo(f"Applied migration {name}")
    except SchemaMigrationError as exc:
        raise click.ClickException(f"{exc}. It was rolled back; the server was not started.") from exc


async def print_setup_link(app: App, cfg: BootConfig) -> None:
    """While no superuser exists, a one-time dashboard link to create the first (PocketBase's installer)."""
    from satchel.core.auth.installer import setup_token, setup_url

    token = await setup_token(app)
    if token is None:
        return
    click.echo(
        "\n(!) Open this link in a browser within 30 minutes to create your first superuser:\n"
        f"{setup_url(f'{public_base(cfg)}/_/', token)}\n"
        "(or create one with: satchel superuser upsert EMAIL PASSWORD)\n"
    )


def run(cfg: BootConfig, *, loader: Callable[[], Any] | None = None) -> None:
    """Serve until interrupted: `satchel.asgi:app` in every worker, or what `loader` builds there."""
    host, port = parse_http(cfg.https or cfg.http)
    os.environ.update(cfg.to_env())
    tls = granian_tls_options(cfg)  # before anything starts: a missing certificate stops here
    base = f"{'https' if tls else 'http'}://{host}:{port}"
    click.echo(f"Server started at {base}\n├─ REST API:  {base}/api/\n└─ Dashboard: {base}/_/")
    if cfg.grpc:
        click.echo(f"gRPC API at {cfg.grpc}{' (TLS)' if cfg.grpc_cert else ''}: satchel.v1.Records (docs/grpc.md)")
    if cfg.workers > 1 and cfg.cache_url == MEMORY_CACHE:
        click.echo(
            "Note: with --cache-url memory: each worker keeps its own rate-limit and failed-login counts "
            f"(up to {cfg.workers}x the configured budget); use redis://HOST:PORT/DB to share one.",
            err=True,
        )
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    options: dict[str, Any] = {"respawn_interval": DEV_RESPAWN_INTERVAL} if cfg.dev else {}
    server = Granian(
        ASGI_TARGET,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=cfg.workers,
        log_enabled=cfg.dev,
        websockets=True,
        backpressure=connection_capacity(),  # realtime streams hold a connection each
        respawn_failed_workers=True,  # a crashed worker's clients reconnect to its replacement
        # a client trickling its headers is cut off (the body's own timeout is in FrontMiddleware)
        http1_settings=HTTP1Settings(header_read_timeout=int(cfg.read_timeout * 1000)),
        **options,
        **tls,
    )
    redirect = start_redirect_listener(cfg)
    watcher = None
    if cfg.dev:  # granian's own HUP handling restarts the workers, one at a time
        watcher = HookWatcher(hooks_loader.hooks_folder(cfg), server.signal_handler_reload, _report).start()
    metrics_dir = _metrics_directory() if cfg.metrics else None
    try:
        if loader is None:
            server.serve()
        else:
            server.serve(target_loader=lambda _target: loader())
    finally:
        stop_redirect_listener(redirect)
        if watcher is not None:
            watcher.stop()
        if metrics_dir is not None:
            from satchel.plugins.metrics.directory import remove_directory

            remove_directory(metrics_dir)


def _metrics_directory() -> Path | None:
    """Prepare the workers' shared metrics directory before they start (None: not ours to remove)."""
    from satchel.plugins.metrics.directory import ENV, prepare_directory

    path, owned = prepare_directory(os.environ.get(ENV))
    os.environ[ENV] = str(path)
    return path if owned else None


def _report(message: str) -> None:
    click.echo(f"satchel: {message}", err=True)
