"""OpenTelemetry tracing: a server span per request, child spans from the timing probes,
`traceparent` on outbound calls, trace ids on log records. See docs/tracing.md.

Off unless `--tracing` (SATCHEL_TRACING) or an OTLP endpoint variable turns it on; off, nothing
here is installed and OpenTelemetry is never imported, so requests pay nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from satchel.config import BootConfig
from satchel.plugins.tracing.settings import TracingSettings

if TYPE_CHECKING:
    from satchel.core.app import App
    from satchel.plugins.tracing.runtime import Tracing


def settings(config: BootConfig) -> TracingSettings:
    """Raises `ConfigError` for malformed OTEL variables (only when tracing is on)."""
    return TracingSettings.resolve(config.tracing)


def enabled(config: BootConfig) -> bool:
    return settings(config).enabled


def register(app: App, config: BootConfig) -> Tracing:
    """Install the tracing seams on `app`; the tracer itself starts with the ASGI lifespan."""
    from satchel.plugins.tracing.install import install
    from satchel.plugins.tracing.runtime import Tracing

    tracing = Tracing(settings(config))
    install(app, tracing)
    return tracing
