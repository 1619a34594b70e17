"""Turns timing probes (`satchel.tools.probes`) into metric observations (batched: see `batch`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from satchel.plugins.metrics.batch import Cells, HistogramCell
from satchel.plugins.metrics.instruments import Instruments

_NS = 1e-9
_S3_EXPECTED = frozenset({404, 416})
"""Statuses the blob store asks for and handles (a missing key, a range past the end)."""
_Observe = Callable[[dict[str, Any], float, BaseException | None], None]
GRPC_METHOD = "POST"
"""gRPC calls are counted with the HTTP requests: each is an HTTP/2 POST to `/package.Service/Method`."""


class ProbeListener:
    """A `probes.Listener`: dispatches by probe name to one small method each."""

    def __init__(self, instruments: Instruments, cells: Cells) -> None:
        self.m = instruments
        self.cells = cells
        self._db: dict[tuple[Any, Any], HistogramCell] = {}
        """`db.query` fires for every statement: its cells by (system, operation), one lookup."""
        self._by_name: dict[str, _Observe] = {
            "db.query": self._db_query,
            "rule.compile": self._rule_compile,
            "hook.trigger": self._hook,
            "smtp.send": self._smtp,
            "s3.request": self._s3,
            "oauth2.http": self._oauth2,
            "ratelimit.reject": self._ratelimit,
            "realtime.clients": self._realtime_clients,
            "realtime.relay": self._relay,
            "grpc.call": self._grpc_call,
        }

    def __call__(
        self, name: str, start_ns: int, end_ns: int, attrs: dict[str, Any], error: BaseException | None
    ) -> None:
        observe = self._by_name.get(name)
        if observe is not None:
            observe(attrs, (end_ns - start_ns) * _NS, error)

    def _db_query(self, attrs: dict[str, Any], seconds: float, error: BaseException | None) -> None:
        system, operation = attrs.get("db.system", ""), attrs.get("db.operation", "OTHER")
        cell = self._db.get((system, operation))
        if cell is None:
            cell = self._db[system, operation] = self.cells.histogram(self.m.db_duration, str(system), str(operation))
        cell.observe(seconds)
        if error is not None:
            system, operation = str(system), str(operation)
            self.cells.counter(self.m.db_errors, system, operation).inc()

    def _rule_compile(self, attrs: dict[str, Any], seconds: float, error: BaseException | None) -> None:
        self.cells.histogram(self.m.rule_compile).observe(seconds)
        if error is not None:
            self.cells.counter(self.m.rule_compile_errors).inc()

    def _hook(self, attrs: dict[str, Any], seconds: float, error: BaseException | None) -> None:
        hook = str(attrs.get("hook.name", "")) or "unnamed"
        self.cells.histogram(self.m.hook_duration, hook).observe(seconds)
        if error is not None:
            self.cells.counter(self.m.hook_errors, hook, str(attrs.get("hook.failed_in", "handler"))).inc()

    def _outbound(self, service: str, operation: str, seconds: float, failed: bool) -> None:
        self.cells.histogram(self.m.outbound_duration, service, operation).observe(seconds)
        if failed:
            self.cells.counter(self.m.outbound_errors, service, operation).inc()

    def _smtp(self, attrs: dict[str, Any], seconds: float, error: BaseException | None) -> None:
        self._outbound("smtp", "send", seconds, error is not None)

    def _s3(self, attrs: dict[str, Any], seconds: float, error: BaseException | None) -> None:
        # an error status is raised by the driver only after the probe: judge it by the status
        status = attrs.get("http.status_code")
        failed = error is not None or (isinstance(status, int) and status >= 400 and status not in _S3_EXPECTED)
        self._outbound("s3", str(attrs.get("s3.operation", "")), seconds, failed)

    def _oauth2(self, attrs: dict[str, Any], seconds: float, error: BaseException | None) -> None:
        self._outbound("oauth2", str(attrs.get("server.address", "")), seconds, error is not None)

    def _ratelimit(self, attrs: dict[str, Any], seconds: float, error: BaseException | None) -> None:
        self.cells.counter(self.m.ratelimit_rejections, str(attrs.get("ratelimit.label", ""))).inc()

    def _realtime_clients(self, attrs: dict[str, Any], seconds: float, error: BaseException | None) -> None:
        self.m.realtime_connections.set(int(attrs.get("realtime.clients", 0)))

    def _relay(self, attrs: dict[str, Any], seconds: float, error: BaseException | None) -> None:
        self.cells.histogram(self.m.broker_lag, str(attrs.get("realtime.kind", ""))).observe(seconds)

    def _grpc_call(self, attrs: dict[str, Any], seconds: float, error: BaseException | None) -> None:
        """A call in the request families, as its `_logs` entry shows it: `POST /satchel.v1.Records/List`
        with the REST status its answer maps to (one label set for both APIs' dashboards and alerts)."""
        route = str(attrs.get("http.route", ""))
        status = str(attrs.get("http.response.status_code", 500))
        self.cells.counter(self.m.http_requests, GRPC_METHOD, route, status).inc()
        self.cells.histogram(self.m.http_duration, GRPC_METHOD, route, status).observe(seconds)
