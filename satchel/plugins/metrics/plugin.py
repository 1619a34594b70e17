"""Installs the plugin: one probe listener, one ASGI middleware (outermost, so it times the whole
stack) and the `/metrics` route, on the process's own registry or the workers' shared directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from starlette.middleware import Middleware

from satchel.core.app import App
from satchel.plugins.metrics.access import Access
from satchel.plugins.metrics.batch import Batcher, Cells
from satchel.plugins.metrics.directory import active_directory
from satchel.plugins.metrics.endpoint import metrics_route
from satchel.plugins.metrics.instruments import Instruments
from satchel.plugins.metrics.listener import ProbeListener
from satchel.plugins.metrics.middleware import MetricsMiddleware
from satchel.plugins.metrics.multiprocess import registry_for
from satchel.tools import probes


class MetricsConfig(Protocol):
    """What `register` reads from the boot configuration (`satchel.config.BootConfig` has it)."""

    metrics_token: str
    metrics_allow: str


@dataclass(slots=True)
class Metrics:
    """The installed plugin; `close` flushes and removes its probe listener (tests build several apps)."""

    instruments: Instruments
    listener: ProbeListener
    batcher: Batcher
    registry: CollectorRegistry | None
    """The process's own registry, None in multiprocess mode (a scrape merges the files)."""

    def close(self) -> None:
        probes.unlisten(self.listener)
        self.batcher.close()


def register(app: App, config: MetricsConfig) -> Metrics:
    access = Access.from_config(config.metrics_token, config.metrics_allow)
    shared = active_directory()
    own = None if shared is not None else _own_registry()
    instruments = Instruments(own)
    batcher = Batcher()
    cells = Cells(batcher)
    metrics = Metrics(instruments, ProbeListener(instruments, cells), batcher, own)

    def registry() -> CollectorRegistry:
        batcher.flush()  # this process's last observations; siblings flush on their own timer
        return own if own is not None else registry_for(shared or Path())

    app.routes.append(metrics_route(access, registry))
    instruments.workers.set(1)
    instruments.realtime_connections.set(0)
    app.asgi_middleware.insert(0, Middleware(MetricsMiddleware, instruments=instruments, cells=cells))
    probes.listen(metrics.listener)
    return metrics


def _own_registry() -> CollectorRegistry:
    """One process serving alone: its own registry, with the standard process collectors."""
    own = CollectorRegistry()
    ProcessCollector(registry=own)
    PlatformCollector(registry=own)
    GCCollector(registry=own)
    return own
