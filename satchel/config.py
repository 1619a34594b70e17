"""Boot configuration: flags > `SATCHEL_*` environment > defaults. Fixed for the process lifetime."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

from satchel.tools.secretbox import KeyFormatError, parse_key
from satchel.tools.tls_trust import TrustStoreError, client_context

ENV_PREFIX = "SATCHEL_"
MIGRATIONS_FOLDER = "satchel_migrations"


class ConfigError(ValueError):
    """A boot option is malformed; raised at start-up with a message naming the option."""


def parse_http(value: str, *, option: str = "--http") -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{option} expects HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


MEMORY_CACHE = "memory:"
REDIS_SCHEMES = ("redis", "rediss", "unix")


def parse_cache_url(value: str) -> str:
    """`memory:` (each process counts alone) or a Redis URL (one budget for every worker and node)."""
    scheme = value.partition(":")[0].lower()
    if value != MEMORY_CACHE and not (scheme in REDIS_SCHEMES and value.startswith(f"{scheme}://")):
        raise ConfigError(f"--cache-url expects memory: or redis://HOST:PORT/DB, got {redact_url(value)!r}")
    return value


SQLITE_DB = "sqlite:"
POSTGRES_SCHEMES = ("postgres://", "postgresql://")


def parse_db_url(value: str) -> str:
    """`sqlite:` (or empty: `<dir>/data.db`), `sqlite:PATH`, or a PostgreSQL URL shared by every node."""
    if value in ("", SQLITE_DB) or value.startswith(SQLITE_DB) or value.startswith(POSTGRES_SCHEMES):
        return value
    raise ConfigError(
        f"--db expects sqlite:, sqlite:PATH or postgres://USER:PASS@HOST:PORT/DB, got {redact_url(value)!r}"
    )


def is_postgres(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


AUTO_BROKER = ""
MEMORY_BROKER = "memory:"
LOCAL_BROKER = "local:"
BROKER_SCHEMES = ("redis", "rediss", "nats", "tls")


def parse_broker_url(value: str) -> str:
    """Where realtime events meet: `memory:` (this process), `local:` (the processes sharing the data
    directory, over unix sockets), or a Redis or NATS URL (several nodes); empty picks memory: or
    local: from the worker count."""
    scheme = value.partition(":")[0].lower()
    if value not in (AUTO_BROKER, MEMORY_BROKER, LOCAL_BROKER) and not (
        scheme in BROKER_SCHEMES and value.startswith(f"{scheme}://")
    ):
        raise ConfigError(
            f"--broker-url expects memory:, local:, redis://HOST:PORT/DB or nats://HOST:PORT, got {redact_url(value)!r}"
        )
    return value


LOG_FORMATS = ("json", "text")


def parse_log_format(value: str) -> str:
    """`json` (one object per line, for log shippers), `text` (for a console), or empty (by --dev)."""
    if value and value not in LOG_FORMATS:
        raise ConfigError(f"--log-format expects json or text, got {value!r}")
    return value


def broker_kind(url: str, workers: int) -> str:
    """`memory`, `local`, `redis` or `nats`: what `url` (possibly empty: automatic) means."""
    if url == AUTO_BROKER:
        return "local" if workers > 1 else "memory"
    if url in (MEMORY_BROKER, LOCAL_BROKER):
        return url[:-1]
    return "nats" if url.partition(":")[0].lower() in ("nats", "tls") else "redis"


def parse_event_sinks(value: str) -> list[str]:
    """The outbox sinks named at boot: URLs separated by whitespace (`SATCHEL_EVENT_SINKS`) or one per
    `--event-sink` flag. Only the form is checked here; `satchel.adapters.event_sinks.sink_from_url`
    decides which schemes exist (nats://, amqp://, redis://...)."""
    urls = value.split()
    for n, url in enumerate(urls, 1):
        scheme, sep, rest = url.partition("://")
        if not sep or not scheme.replace("+", "").isalnum() or not rest:
            # not echoed: a malformed URL may still hold a password that redact_url cannot find
            raise ConfigError(f"--event-sink expects URLs such as nats://HOST:PORT; sink {n} is not one")
    if len(set(urls)) != len(urls):
        raise ConfigError("--event-sink: the same sink URL is given twice")
    return urls


def parse_origins(value: str) -> frozenset[str]:
    """The CORS allow-list: `*` (any origin) or comma-separated origins such as https://app.example.com,
    as PocketBase's `--origins`. An origin is scheme://host[:port], compared exactly."""
    origins = frozenset(item.strip().rstrip("/") for item in value.split(",") if item.strip())
    if not origins:
        raise ConfigError("--origins: give `*` or at least one origin such as https://app.example.com")
    for origin in origins - {"*"}:
        scheme, sep, host = origin.partition("://")
        if not sep or scheme not in ("http", "https") or not host or "/" in host:
            raise ConfigError(f"--origins: {origin!r} is not an origin such as https://app.example.com")
    return origins


def redact_url(url: str) -> str:
    """`url` without its password, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<malformed URL>"
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


@dataclass(slots=True)
class BootConfig:
    dir: Path = Path("satchel_data")
    http: str = "127.0.0.1:8090"
    dev: bool = False
    query_timeout: float = 10.0
    max_body_size: int = 32 << 20
    workers: int = 1
    db: str = field(default="", repr=False)
    """The database: empty or `sqlite:` (`<dir>/data.db`), or `postgres://...` (env SATCHEL_DB)."""
    cache_url: str = MEMORY_CACHE
    broker_url: str = AUTO_BROKER
    backup_passphrase: str = field(default="", repr=False)
    """Encrypts backup archives (env SATCHEL_BACKUP_PASSPHRASE); never logged, never in settings."""
    migrations_dir: str = ""
    """Migration files (env SATCHEL_MIGRATIONS_DIR); empty: `satchel_migrations` next to `dir`."""
    hooks_dir: str = ""
    """Folder of Python hook files (env SATCHEL_HOOKS_DIR); empty: `satchel_hooks` next to `dir`."""
    encryption_key: str = field(default="", repr=False)
    """Seals the secrets of the runtime settings at rest (env SATCHEL_ENCRYPTION_KEY); empty: in clear."""
    encryption_key_file: str = ""
    """A file holding that key instead (--encryption-key-file, env SATCHEL_ENCRYPTION_KEY_FILE); further
    lines hold older keys, still accepted for opening (docs/encryption.md)."""
    encryption_keys_old: str = field(default="", repr=False)
    """Older keys that still open values during a rotation, separated by commas or whitespace (env
    SATCHEL_ENCRYPTION_KEYS_OLD); the current key always seals."""
    metrics: bool = False
    """Serve Prometheus metrics at /metrics (env SATCHEL_METRICS; docs/metrics.md)."""
    metrics_token: str = field(default="", repr=False)
    """Bearer token a scrape of /metrics must send (env SATCHEL_METRICS_TOKEN)."""
    metrics_allow: str = ""
    """Addresses or networks allowed to scrape, comma-separated (env SATCHEL_METRICS_ALLOW)."""
    graphql: bool = True
    """GraphQL at /api/graphql (env SATCHEL_GRAPHQL=0 turns it off; docs/graphql.md)."""
    tracing: bool = False
    """OpenTelemetry tracing (env SATCHEL_TRACING; also on when OTEL_EXPORTER_OTLP_ENDPOINT is set)."""
    event_sinks: str = field(default="", repr=False)
    """Where committed record changes are published: sink URLs separated by whitespace (env
    SATCHEL_EVENT_SINKS, or `--event-sink URL` repeated); may hold passwords, so never logged."""
    outbox_retention: float = 3600.0
    """Seconds an outbox event is kept after every sink took it (env SATCHEL_OUTBOX_RETENTION)."""
    webhook_max_attempts: int = 10
    """Delivery attempts of one event to a webhook before it is dead-lettered (env SATCHEL_WEBHOOK_MAX_ATTEMPTS)."""
    webhook_retry_base: float = 1.0
    """Seconds before a webhook's first retry, doubled after each failure (env SATCHEL_WEBHOOK_RETRY_BASE)."""
    log_format: str = ""
    """Stdout logs: `json` or `text` (env SATCHEL_LOG_FORMAT); empty: `text` with --dev, else `json`."""
    origins: str = "*"
    """CORS allowed origins, comma-separated (env SATCHEL_ORIGINS, --origins); `*` (default): any."""
    read_timeout: float = 30.0
    """Seconds a client may stall sending its headers or between body chunks (env SATCHEL_READ_TIMEOUT)."""
    log_requests: bool = False
    """One stdout line per request (env SATCHEL_LOG_REQUESTS); always with --dev. Off by default like
    PocketBase, which keeps request logs in `_logs` only: the line costs ~5-10 us of CPU per request."""
    grpc: str = ""
    """HOST:PORT of the gRPC API in every worker (env SATCHEL_GRPC; docs/grpc.md); empty: off."""
    grpc_cert: str = ""
    """PEM certificate chain for gRPC over TLS (env SATCHEL_GRPC_CERT), with `grpc_key`."""
    grpc_key: str = field(default="", repr=False)
    """PEM private key of `grpc_cert` (env SATCHEL_GRPC_KEY)."""
    https: str = ""
    """HOST:PORT of the HTTPS listener (env SATCHEL_HTTPS); with it, `http` is off unless given, and
    when given it only redirects to HTTPS (docs/tls.md)."""
    tls_cert: str = ""
    """PEM certificate chain for --https (env SATCHEL_TLS_CERT)."""
    tls_key: str = ""
    """PEM private key for --https (env SATCHEL_TLS_KEY); a path, never the key itself."""
    tls_self_signed: bool = False
    """Serve --https with a development certificate kept in `dir` (env SATCHEL_TLS_SELF_SIGNED)."""
    tls_min_version: str = "1.2"
    """Oldest TLS version the HTTPS listener accepts: 1.2 or 1.3 (env SATCHEL_TLS_MIN_VERSION)."""

    @property
    def migrations_folder(self) -> Path:
        """Where migration files are read (at start) and written (automigrate), like PocketBase's
        `pb_migrations` beside `pb_data`."""
        if self.migrations_dir:
            return Path(self.migrations_dir).expanduser().resolve()
        return self.dir.resolve().parent / MIGRATIONS_FOLDER

    @property
    def stdout_log_format(self) -> str:
        return self.log_format or ("text" if self.dev else "json")

    @property
    def request_line_format(self) -> str:
        """The format of the per-request stdout lines; empty when they are off."""
        return self.stdout_log_format if (self.log_requests or self.dev) else ""

    @staticmethod
    def from_env(**overrides: object) -> BootConfig:
        """Defaults, then `SATCHEL_<NAME>` variables, then explicit (non-None) overrides."""
        cfg = BootConfig()
        http_given = overrides.get("http") is not None or ENV_PREFIX + "HTTP" in os.environ
        for f in fields(BootConfig):
            raw = os.environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                setattr(cfg, f.name, _convert(f.name, raw, getattr(cfg, f.name)))
        for name, value in overrides.items():
            if value is not None:
                setattr(cfg, name, Path(str(value)) if name == "dir" else value)
        check_tls_options(cfg, http_given=http_given)
        if cfg.http:
            parse_http(cfg.http)
        parse_db_url(cfg.db)
        parse_cache_url(cfg.cache_url)
        parse_broker_url(cfg.broker_url)
        cfg.encryption_key_bytes()
        cfg.old_encryption_keys()
        parse_event_sinks(cfg.event_sinks)
        parse_log_format(cfg.log_format)
        if cfg.webhook_max_attempts < 1 or not cfg.webhook_retry_base > 0:
            raise ConfigError("SATCHEL_WEBHOOK_MAX_ATTEMPTS must be at least 1 and SATCHEL_WEBHOOK_RETRY_BASE above 0")
        parse_origins(cfg.origins)
        if cfg.read_timeout <= 0:
            raise ConfigError("--read-timeout must be a positive number of seconds")
        return cfg

    def encryption_key_bytes(self) -> bytes:
        """The settings encryption key (empty when none is configured); ConfigError when malformed."""
        return read_encryption_key(self.encryption_key, self.encryption_key_file)

    def old_encryption_keys(self) -> tuple[bytes, ...]:
        """The keys that still open values but no longer seal (`encryption_keys_old`, then the key
        file's further lines); ConfigError when one is malformed."""
        return read_old_encryption_keys(self.encryption_keys_old, self.encryption_key_file)

    def to_env(self) -> dict[str, str]:
        return {ENV_PREFIX + f.name.upper(): str(getattr(self, f.name)) for f in fields(BootConfig)}


TLS_MIN_VERSIONS = ("1.2", "1.3")


def check_tls_options(cfg: BootConfig, *, http_given: bool) -> None:
    """The HTTPS options hang together; with --https alone (no --http, no SATCHEL_HTTP) there is no
    plain HTTP listener, as with PocketBase's `--https`."""
    if cfg.https:
        parse_http(cfg.https, option="--https")
        if not http_given:
            cfg.http = ""
        elif cfg.http and parse_http(cfg.http) == parse_http(cfg.https, option="--https"):
            raise ConfigError(f"--http and --https are both {cfg.https}: give them different ports")
        if cfg.tls_self_signed and (cfg.tls_cert or cfg.tls_key):
            raise ConfigError("--tls-self-signed and --tls-cert/--tls-key are both set: keep one")
        if not cfg.tls_self_signed and not (cfg.tls_cert and cfg.tls_key):
            raise ConfigError("--https needs --tls-cert and --tls-key (or --tls-self-signed for development)")
    elif cfg.tls_cert or cfg.tls_key or cfg.tls_self_signed:
        raise ConfigError("--tls-cert, --tls-key and --tls-self-signed need --https HOST:PORT")
    if not cfg.http and not cfg.https:
        raise ConfigError("--http expects HOST:PORT, got ''")
    if cfg.tls_min_version not in TLS_MIN_VERSIONS:
        raise ConfigError(f"--tls-min-version expects 1.2 or 1.3, got {cfg.tls_min_version!r}")
    try:
        client_context()  # SATCHEL_CA_FILE, read by every outbound TLS connection: a bad one stops the start
    except TrustStoreError as exc:
        raise ConfigError(str(exc)) from exc


def read_encryption_key(text: str, file: str, *, what: str = "SATCHEL_ENCRYPTION_KEY") -> bytes:
    """The key given as text or in a file (one of them; neither: b""), checked; never quoted in errors."""
    if text and file:
        raise ConfigError(f"{what} and {what}_FILE (--encryption-key-file) are both set: keep one")
    if file:
        try:
            text = Path(file).expanduser().read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{what}_FILE: cannot read {file!r} ({exc.__class__.__name__})") from exc
        if not text.strip():
            raise ConfigError(f"{what}_FILE: {file!r} is empty")
        text = _key_lines(text)[0]  # further lines: older keys (read_old_encryption_keys)
    if not text:
        return b""
    try:
        return parse_key(text)
    except KeyFormatError as exc:
        raise ConfigError(f"{what}: {exc}") from exc


def _key_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()] or [""]


def read_old_encryption_keys(text: str, file: str) -> tuple[bytes, ...]:
    """Older keys from SATCHEL_ENCRYPTION_KEYS_OLD (commas or whitespace between them) and from the
    key file's lines after the first; each checked, none ever quoted in errors."""
    items = [(f"SATCHEL_ENCRYPTION_KEYS_OLD (key {i + 1})", t) for i, t in enumerate(text.replace(",", " ").split())]
    if file:
        try:
            lines = _key_lines(Path(file).expanduser().read_text())[1:]
        except (OSError, UnicodeDecodeError):
            lines = []  # read_encryption_key reports an unreadable file
        items += [(f"SATCHEL_ENCRYPTION_KEY_FILE (line {i + 2})", t) for i, t in enumerate(lines)]
    keys: list[bytes] = []
    for where, item in items:
        try:
            keys.append(parse_key(item))
        except KeyFormatError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
    return tuple(keys)


def _convert(name: str, raw: str, default: object) -> object:
    try:
        if isinstance(default, bool):
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, Path):
            return Path(raw)
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}: invalid value {raw!r}") from exc
    return raw


MIN_CONNECTIONS = 1024
"""Granian's own default: the `backpressure` of one worker when backlog and workers are left alone."""
RESERVED_FILES = 128
"""Descriptors kept for the database, logs, the listening socket and the worker's pipes."""


def connection_capacity() -> int:
    """How many connections one server process should hold open at once (granian's `backpressure`).

    Granian counts every open connection, idle keep-alive and realtime streams included, against
    `backpressure` (by default backlog / workers = 1024), and leaves the others unaccepted in the
    listen queue: with a thousand SSE clients plus their subscribe requests, the last clients are
    never answered. PocketBase has no such cap: Go raises its soft open-files limit to the hard one
    at start-up and accepts until descriptors run out. This does the same: it raises the soft
    limit (where allowed) and returns what the descriptors allow, never less than granian's default.
    """
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    except (ValueError, OSError):
        return MIN_CONNECTIONS
    if soft == resource.RLIM_INFINITY:
        return 1 << 16
    return max(MIN_CONNECTIONS, soft - RESERVED_FILES)
