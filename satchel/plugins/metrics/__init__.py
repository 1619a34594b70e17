"""Prometheus metrics: `GET /metrics` with request, database, rule, hook, outbound, rate-limit and
realtime metrics, plus process metrics, for one process or every worker of `satchel serve`.

Off unless enabled (`satchel serve --metrics`, or `SATCHEL_METRICS=1`): with it off nothing here is
imported and every probe site stays a flag check. See docs/metrics.md.

This package imports prometheus_client only inside `register`: the client picks its storage
(in-process or the multiprocess directory) from the environment when first imported, and
`satchel serve` sets that directory up (`directory`) before its workers fork.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from satchel.core.app import App
    from satchel.plugins.metrics.plugin import Metrics, MetricsConfig


def register(app: App, config: MetricsConfig) -> Metrics:
    from satchel.plugins.metrics.plugin import register as install

    return install(app, config)


__all__ = ["register"]
