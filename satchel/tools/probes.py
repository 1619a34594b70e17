"""Timing probes in the hot paths (queries, rule compilation, hooks, outbound calls).

Metrics and tracing both want to know how long these took, with a few attributes, without core
code knowing about Prometheus or OpenTelemetry. A probe reports after the fact to whatever
listeners plugins installed: (name, start and end in `time.perf_counter_ns()`, attributes, the
exception if it failed). With no listener a probe site costs one attribute check (`probes.active`),
so call sites guard with it before measuring anything:

    if probes.active:
        start = time.perf_counter_ns()
        ...
        probes.emit("db.query", start, time.perf_counter_ns(), {"db.system": "sqlite"})

Attributes never carry secrets or bound parameter values (statement text with `?` placeholders is
fine). A listener must not block or raise (an exception is logged and dropped).

Probes emitted (name: where; attributes; error):

- `db.query`: every statement the SQLite (`adapters/db/sqlite.py`, `_Conn.run`, including BEGIN,
  COMMIT and savepoints) and PostgreSQL (`adapters/db/postgres.py`, `_PgExecutor._run` and `ddl`)
  adapters run; `db.system` ("sqlite" | "postgresql"), `db.operation` (`sql_operation`: the leading
  keyword, e.g. "SELECT", bounded), `db.statement` (SQL text, placeholders only); error: the
  port's `DatabaseError`. These attribute dicts are shared by every run of the same statement
  (`statement_attrs`): read them, never modify them.
- `rule.compile`: a filter, rule or sort expression parsed on a parse-cache miss
  (`tools/filter/parser.py`); `filter.length` (characters); error: `FilterSyntaxError`.
- `hook.trigger`: a hook chain run with at least one bound handler (`tools/hooks.py`; the unbound
  fast path is not measured); `hook.name` (e.g. "on_record_create_request"), `hook.handlers` (bound
  handlers); on error also `hook.failed_in`: "handler" (a bound handler raised) or "action" (the
  innermost, real work raised and the error passed through the handlers).
- `smtp.send`: one message sent over SMTP (`adapters/mail/smtp.py`); `server.address`,
  `server.port`; error: `MailError`.
- `s3.request`: one S3 API call (`adapters/blobs/s3.py`, botocore call events; retries included);
  `s3.operation` (e.g. "PutObject"), `s3.bucket`, `http.status_code` (absent when no response came);
  error: the driver's exception when no response came.
- `oauth2.http`: one request to an OAuth2/OIDC provider (`core/auth/oauth2/http.py`);
  `http.method`, `server.address` (host), `url.path` (no query: it may carry codes or tokens),
  `http.status_code` (absent when no response came); error: `ProviderError`.
- `ratelimit.reject`: a request refused with 429 (`apis/middleware/ratelimit.py`); instant
  (start == end); `ratelimit.label` (the matched rule's label, e.g. "*:create", "/api/").
- `realtime.clients`: a realtime client connected or disconnected in this process
  (`core/realtime/broker.py`); instant; `realtime.clients` (clients now connected here),
  `realtime.change` ("connect" | "disconnect").
- `realtime.relay`: a record event or custom message received from another process or node
  (`core/realtime/relay.py`); start is the sender's wall clock at broadcast (frame field `ts`,
  nanoseconds since the epoch) translated to this process's `perf_counter_ns`, end the receipt, so
  the duration is the broker lag (clamped at 0 for clock skew between nodes); `realtime.kind`
  ("record" | "custom"), `realtime.source` (the sending node's id).
- `grpc.call`: one finished call of the gRPC API (`plugins/grpc/call_log.py`; a `Watch` stream when it
  ends); `rpc.system` ("grpc"), `rpc.service` ("satchel.v1.Records"), `rpc.method` (e.g. "List"),
  `http.route` ("/satchel.v1.Records/List", the path `_logs` shows), `http.response.status_code` (the
  REST status the answer maps to, `plugins/grpc/errors.py`); error: the error the call was refused with.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger("satchel.probes")

Listener = Callable[[str, int, int, dict[str, Any], BaseException | None], None]

active = False
"""True once any listener is installed: call sites check it before taking a clock reading."""
_listeners: tuple[Listener, ...] = ()
"""Replaced, never mutated: `emit` iterates it without copying, even if a listener unlistens."""


_OPERATIONS = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}
    | {"CREATE", "DROP", "ALTER", "PRAGMA", "VACUUM", "ANALYZE", "REINDEX"}
)


def sql_operation(sql: str) -> str:
    """The statement's leading keyword, or "OTHER": a bounded value metrics may use as a label."""
    head = sql.lstrip()[:10].split(None, 1)
    op = head[0].upper() if head else ""
    return op if op in _OPERATIONS else "OTHER"


_STATEMENTS: dict[tuple[str, str], dict[str, Any]] = {}
_STATEMENTS_MAX = 4096


def statement_attrs(system: str, sql: str) -> dict[str, Any]:
    """The `db.query` attributes of a statement, built once per statement text and then shared.

    Statement texts come from a bounded set (values are parameters), so a cache makes the probe
    of every statement two lookups. Listeners must treat these dicts as read-only.
    """
    key = (system, sql)
    attrs = _STATEMENTS.get(key)
    if attrs is None:
        if len(_STATEMENTS) >= _STATEMENTS_MAX:
            _STATEMENTS.clear()
        attrs = _STATEMENTS[key] = {"db.system": system, "db.operation": sql_operation(sql), "db.statement": sql}
    return attrs


def instant(name: str, attrs: dict[str, Any]) -> None:
    """Report a point event (start == end), for counts such as a refused request."""
    now = time.perf_counter_ns()
    emit(name, now, now, attrs)


def listen(listener: Listener) -> None:
    global active, _listeners
    _listeners = (*_listeners, listener)
    active = True


def unlisten(listener: Listener) -> None:
    global active, _listeners
    if listener in _listeners:
        i = _listeners.index(listener)
        _listeners = _listeners[:i] + _listeners[i + 1 :]
    active = bool(_listeners)


def emit(name: str, start_ns: int, end_ns: int, attrs: dict[str, Any], error: BaseException | None = None) -> None:
    for listener in _listeners:
        try:
            listener(name, start_ns, end_ns, attrs, error)
        except Exception:  # a broken listener must not break the request it observes
            log.exception("probe listener failed on %s", name)


@contextmanager
def probe(name: str, attrs: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Measure a block (for sites that are not per-query hot; those use `active` + `emit`).

    Yields the attribute dict so the block can add what it learns (a status code, a row count).
    """
    values = attrs if attrs is not None else {}
    if not active:
        yield values
        return
    start = time.perf_counter_ns()
    try:
        yield values
    except BaseException as exc:
        emit(name, start, time.perf_counter_ns(), values, exc)
        raise
    emit(name, start, time.perf_counter_ns(), values)
