"""The `satchel` command line: `serve`, `superuser` and `backup`, each taking `--dir` like PocketBase."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from satchel import __version__
from satchel.cli.backup import backup
from satchel.cli.instance import require_database
from satchel.cli.keys import keys
from satchel.cli.migrate import migrate_data
from satchel.cli.migrations import migrate
from satchel.cli.openapi import openapi
from satchel.cli.settings import ENCRYPTION_KEY_FILE_HELP, settings
from satchel.config import BootConfig, ConfigError, parse_http
from satchel.core.secrets_at_rest import SecretsKeyError
from satchel.plugins.tracing import settings as tracing_settings

DIR_HELP = "Directory of the database and uploaded files (env SATCHEL_DIR; default ./satchel_data)."


class _Main(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        """Every command that opens the app may meet secrets it cannot open: say so, no traceback."""
        try:
            return super().invoke(ctx)
        except SecretsKeyError as exc:
            raise click.ClickException(str(exc)) from exc
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from exc


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="satchel")
def main() -> None:
    """Satchel: a PocketBase-compatible backend (REST, realtime, auth, rules) on SQLite or PostgreSQL."""


@main.command()
@click.option("--http", "http", default=None, help="HOST:PORT to listen on (env SATCHEL_HTTP; default 127.0.0.1:8090).")
@click.option("--dir", "data_dir", default=None, type=click.Path(file_okay=False), help=DIR_HELP)
@click.option(
    "--dev", is_flag=True, default=None, help="Development mode (verbose logs, hook files reloaded on change)."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes sharing the port and the database (env SATCHEL_WORKERS; default 1).",
)
@click.option(
    "--db",
    "db",
    default=None,
    help="The database: sqlite: (the data.db file in --dir) or postgres://USER:PASS@HOST:PORT/DB, shared by "
    "every node (env SATCHEL_DB; default sqlite:). Uploaded files stay in --dir (or S3).",
)
@click.option(
    "--cache-url",
    "--cache",
    "cache_url",
    default=None,
    help="Rate-limit and login-guard counters: memory: (per process) or redis://HOST:PORT/DB "
    "(shared by every worker and node) (env SATCHEL_CACHE_URL; default memory:).",
)
@click.option(
    "--broker-url",
    "--broker",
    "broker_url",
    default=None,
    help="Where realtime events meet: memory: (one process), local: (the processes sharing --dir, over unix "
    "sockets), redis://HOST:PORT/DB or nats://HOST:PORT (several nodes) (env SATCHEL_BROKER_URL; default "
    "memory: with one worker, local: with several).",
)
@click.option(
    "--migrations-dir",
    "migrations_dir",
    default=None,
    help="Migration files, applied at start; --dev writes one per collection change "
    "(env SATCHEL_MIGRATIONS_DIR; default satchel_migrations next to --dir).",
)
@click.option(
    "--hooks-dir",
    "hooks_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder of Python hook files (*.py) loaded by every worker (env SATCHEL_HOOKS_DIR; default "
    "satchel_hooks next to --dir). With --dev, an edit restarts the workers.",
)
@click.option(
    "--encryption-key-file",
    "encryption_key_file",
    default=None,
    type=click.Path(dir_okay=False),
    help=ENCRYPTION_KEY_FILE_HELP,
)
@click.option(
    "--metrics",
    is_flag=True,
    default=None,
    help="Serve Prometheus metrics at /metrics, for loopback clients unless SATCHEL_METRICS_TOKEN or "
    "SATCHEL_METRICS_ALLOW says otherwise (env SATCHEL_METRICS; see docs/metrics.md).",
)
@click.option(
    "--tracing",
    is_flag=True,
    default=None,
    help="Export OpenTelemetry traces, configured by the standard OTEL_* variables (env SATCHEL_TRACING; "
    "also on when OTEL_EXPORTER_OTLP_ENDPOINT is set). See docs/tracing.md.",
)
@click.option(
    "--event-sink",
    "event_sinks",
    multiple=True,
    metavar="URL",
    help="Publish every committed record change to this sink (nats://, amqp://, redis://...); repeatable "
    "(env SATCHEL_EVENT_SINKS, URLs separated by spaces). Webhooks are managed at /api/webhooks instead.",
)
@click.option(
    "--log-format",
    "log_format",
    type=click.Choice(["json", "text"]),
    default=None,
    help="Stdout logs (app logs, and request lines with --log-requests): json for log shippers, text for a "
    "console (env SATCHEL_LOG_FORMAT; default text with --dev, json otherwise).",
)
@click.option(
    "--log-requests/--no-log-requests",
    "log_requests",
    default=None,
    help="Also print one line per request (env SATCHEL_LOG_REQUESTS; always on with --dev). Request logs "
    "are kept in the logs database (/api/logs) either way.",
)
@click.option(
    "--grpc",
    "grpc",
    default=None,
    metavar="HOST:PORT",
    help="Also serve the gRPC API (satchel.v1.Records, health, reflection) here, in every worker "
    "(env SATCHEL_GRPC; see docs/grpc.md).",
)
@click.option(
    "--grpc-cert",
    "grpc_cert",
    default=None,
    type=click.Path(dir_okay=False),
    help="PEM certificate chain: gRPC over TLS only (env SATCHEL_GRPC_CERT; with --grpc-key).",
)
@click.option(
    "--grpc-key",
    "grpc_key",
    default=None,
    type=click.Path(dir_okay=False),
    help="PEM private key of --grpc-cert (env SATCHEL_GRPC_KEY).",
)
@click.option(
    "--https",
    "https",
    default=None,
    help="HOST:PORT of an HTTPS listener (env SATCHEL_HTTPS); with --http too, that one only redirects "
    "to HTTPS (see docs/tls.md).",
)
@click.option(
    "--tls-cert",
    "tls_cert",
    default=None,
    type=click.Path(dir_okay=False),
    help="PEM certificate chain for --https (env SATCHEL_TLS_CERT).",
)
@click.option(
    "--tls-key",
    "tls_key",
    default=None,
    type=click.Path(dir_okay=False),
    help="PEM private key for --https (env SATCHEL_TLS_KEY).",
)
@click.option(
    "--tls-self-signed",
    "tls_self_signed",
    is_flag=True,
    default=None,
    help="Serve --https with a self-signed development certificate kept in --dir (never in production; "
    "env SATCHEL_TLS_SELF_SIGNED).",
)
@click.option(
    "--tls-min-version",
    "tls_min_version",
    type=click.Choice(["1.2", "1.3"]),
    default=None,
    help="Oldest TLS version --https accepts (env SATCHEL_TLS_MIN_VERSION; default 1.2).",
)
@click.option(
    "--origins",
    "origins",
    default=None,
    help="CORS allowed origins, comma-separated, e.g. https://app.example.com (env SATCHEL_ORIGINS; default *).",
)
@click.option(
    "--read-timeout",
    "read_timeout",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Seconds a client may stall sending request headers or body before it is cut off "
    "(env SATCHEL_READ_TIMEOUT; default 30).",
)
def serve(
    http: str | None,
    data_dir: str | None,
    dev: bool | None,
    workers: int | None,
    db: str | None,
    cache_url: str | None,
    broker_url: str | None,
    migrations_dir: str | None,
    hooks_dir: str | None,
    encryption_key_file: str | None,
    metrics: bool | None,
    tracing: bool | None,
    event_sinks: tuple[str, ...],
    log_format: str | None,
    log_requests: bool | None,
    grpc: str | None,
    grpc_cert: str | None,
    grpc_key: str | None,
    https: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    tls_self_signed: bool | None,
    tls_min_version: str | None,
    origins: str | None,
    read_timeout: float | None,
) -> None:
    """Start the web server."""
    try:
        cfg = BootConfig.from_env(
            http=http,
            dir=data_dir,
            dev=dev,
            workers=workers,
            db=db,
            cache_url=cache_url,
            broker_url=broker_url,
            migrations_dir=migrations_dir,
            hooks_dir=hooks_dir,
            encryption_key_file=encryption_key_file,
            metrics=metrics,
            tracing=tracing,
            event_sinks=" ".join(event_sinks) if event_sinks else None,
            log_format=log_format,
            log_requests=log_requests,
            grpc=grpc,
            grpc_cert=grpc_cert,
            grpc_key=grpc_key,
            https=https,
            tls_cert=tls_cert,
            tls_key=tls_key,
            tls_self_signed=tls_self_signed,
            tls_min_version=tls_min_version,
            origins=origins,
            read_timeout=read_timeout,
        )
        tracing_settings(cfg)  # a malformed OTEL_* variable stops here, not in every worker
        if cfg.http:
            parse_http(cfg.http)
        if cfg.metrics:
            from satchel.plugins.metrics.access import parse_allow_list

            parse_allow_list(cfg.metrics_allow)
        if cfg.grpc and cfg.https and cfg.tls_cert and not (cfg.grpc_cert or cfg.grpc_key):
            cfg.grpc_cert, cfg.grpc_key = cfg.tls_cert, cfg.tls_key  # gRPC over TLS too, with the HTTPS certificate
        if cfg.grpc or cfg.grpc_cert or cfg.grpc_key:
            from satchel.plugins.grpc.config import GrpcConfigError, check

            try:
                check(cfg.grpc, cfg.grpc_cert, cfg.grpc_key)  # in the main process: not once per worker
            except GrpcConfigError as exc:
                raise ConfigError(str(exc)) from exc
            if cfg.grpc and cfg.https and cfg.tls_self_signed and not cfg.grpc_cert:
                # HTTPS's development certificate (the one granian reuses), made only once the options passed
                from satchel.tools.dev_certificate import ensure_dev_certificate

                certificate = ensure_dev_certificate(cfg.dir.resolve(), parse_http(cfg.https)[0])
                cfg.grpc_cert, cfg.grpc_key = str(certificate.cert_file), str(certificate.key_file)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    cfg.dir = cfg.dir.resolve()
    cfg.migrations_dir = str(cfg.migrations_folder)
    if cfg.hooks_dir:
        cfg.hooks_dir = str(Path(cfg.hooks_dir).resolve())
    from satchel import launcher

    launcher.prepare(cfg)
    launcher.run(cfg)


@main.group()
def superuser() -> None:
    """Manage superusers (works whether or not the server is running)."""


def _run_superuser(data_dir: str | None, action: str, email: str, password: str = "") -> None:
    from satchel.core.auth.superusers import delete_superuser, upsert_superuser
    from satchel.core.errors import ValidationError
    from satchel.wiring import configure_passwords, open_app

    configure_passwords()
    cfg = BootConfig.from_env(dir=data_dir)
    if action == "delete":  # upsert may make the first superuser of a new instance, as PocketBase's does
        require_database(cfg)

    async def run() -> None:
        app = await open_app(
            cfg.dir,
            db_url=cfg.db,
            encryption_key=cfg.encryption_key_bytes(),
            old_encryption_keys=cfg.old_encryption_keys(),
        )
        try:
            if action == "upsert":
                await upsert_superuser(app, email, password)
                click.echo(f'Successfully saved superuser "{email}"!')
            elif await delete_superuser(app, email):
                click.echo(f'Successfully deleted superuser "{email}"!')
            else:
                raise click.ClickException(f'Superuser "{email}" was not found.')
        except ValidationError as exc:
            details = ", ".join(f"{k}: {v.get('message', v)}" for k, v in exc.data.items() if isinstance(v, dict))
            raise click.ClickException(f"Invalid superuser data: {details}") from exc
        finally:
            await app.close()

    asyncio.run(run())


@superuser.command("upsert")
@click.argument("email")
@click.argument("password")
@click.option("--dir", "data_dir", default=None, type=click.Path(file_okay=False), help=DIR_HELP)
def superuser_upsert(email: str, password: str, data_dir: str | None) -> None:
    """Create a superuser or update its password."""
    _run_superuser(data_dir, "upsert", email, password)


@superuser.command("create")
@click.argument("email")
@click.argument("password")
@click.option("--dir", "data_dir", default=None, type=click.Path(file_okay=False), help=DIR_HELP)
def superuser_create(email: str, password: str, data_dir: str | None) -> None:
    """Create a superuser (alias of upsert for a new email)."""
    _run_superuser(data_dir, "upsert", email, password)


@superuser.command("delete")
@click.argument("email")
@click.option("--dir", "data_dir", default=None, type=click.Path(file_okay=False), help=DIR_HELP)
def superuser_delete(email: str, data_dir: str | None) -> None:
    """Delete a superuser."""
    _run_superuser(data_dir, "delete", email)


main.add_command(backup)
main.add_command(migrate_data)
main.add_command(migrate)
main.add_command(settings)
main.add_command(keys)
main.add_command(openapi)

if __name__ == "__main__":
    sys.exit(main())
