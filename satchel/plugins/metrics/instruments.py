"""Every metric Satchel exports, defined once (names, labels, buckets).

Names follow Prometheus conventions (`_seconds`, `_total`, base units). Label values are bounded
by construction: route templates (never raw paths), a fixed set of methods and SQL operations,
hook names, rule labels and provider hosts from the server's own configuration.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""HTTP and outbound calls: Satchel answers most requests in well under a millisecond."""
FAST_BUCKETS = (0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0)
"""Database statements and rule compilation: tens of microseconds is the norm."""
LAG_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)


class Instruments:
    """The metric objects; `registry` is None in multiprocess mode (values live in mmap files)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        r = registry
        self.http_requests = Counter(
            "satchel_http_requests_total",
            "HTTP requests answered (gRPC calls too, as POST /package.Service/Method), by method, route and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "satchel_http_request_duration_seconds",
            "Time from the request's arrival to the end of its response (gRPC calls too), by method, route and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.db_duration = Histogram(
            "satchel_db_query_duration_seconds",
            "Time spent in database statements, by database system and SQL operation.",
            ["system", "operation"],
            buckets=FAST_BUCKETS,
            registry=r,
        )
        self.db_errors = Counter(
            "satchel_db_query_errors_total",
            "Database statements that failed, by database system and SQL operation.",
            ["system", "operation"],
            registry=r,
        )
        self.rule_compile = Histogram(
            "satchel_rule_compile_duration_seconds",
            "Filter and API rule expressions parsed (parse-cache misses).",
            buckets=FAST_BUCKETS,
            registry=r,
        )
        self.rule_compile_errors = Counter(
            "satchel_rule_compile_errors_total", "Filter and rule expressions that failed to parse.", registry=r
        )
        self.hook_duration = Histogram(
            "satchel_hook_duration_seconds",
            "Hook chains run with bound handlers (the wrapped action included), by hook.",
            ["hook"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.hook_errors = Counter(
            "satchel_hook_errors_total",
            "Hook chains that ended in an error, by hook and where it was raised (handler or action).",
            ["hook", "failed_in"],
            registry=r,
        )
        self.outbound_duration = Histogram(
            "satchel_outbound_request_duration_seconds",
            "Calls to other services (smtp, s3, oauth2), by service and operation.",
            ["service", "operation"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.outbound_errors = Counter(
            "satchel_outbound_request_errors_total",
            "Calls to other services that failed, by service and operation.",
            ["service", "operation"],
            registry=r,
        )
        self.ratelimit_rejections = Counter(
            "satchel_ratelimit_rejections_total",
            "Requests refused with 429 by a rate-limit rule, by rule label.",
            ["rule"],
            registry=r,
        )
        self.realtime_connections = Gauge(
            "satchel_realtime_connections",
            "Realtime clients (SSE and WebSocket) connected, summed over live workers.",
            multiprocess_mode="livesum",
            registry=r,
        )
        self.broker_lag = Histogram(
            "satchel_realtime_broker_lag_seconds",
            "Time from a sibling's broadcast of a realtime event to its receipt here, by kind.",
            ["kind"],
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.workers = Gauge(
            "satchel_workers",
            "Worker processes serving (1 per live process that registered metrics).",
            multiprocess_mode="livesum",
            registry=r,
        )


METRIC_NAMES = (
    "satchel_http_requests_total",
    "satchel_http_request_duration_seconds",
    "satchel_db_query_duration_seconds",
    "satchel_db_query_errors_total",
    "satchel_rule_compile_duration_seconds",
    "satchel_rule_compile_errors_total",
    "satchel_hook_duration_seconds",
    "satchel_hook_errors_total",
    "satchel_outbound_request_duration_seconds",
    "satchel_outbound_request_errors_total",
    "satchel_ratelimit_rejections_total",
    "satchel_realtime_connections",
    "satchel_realtime_broker_lag_seconds",
    "satchel_workers",
)
"""What a scrape may contain besides `process_*` (the dashboard test checks its queries against it)."""
