"""Whether tracing is on and where spans go, from `--tracing` and the standard OTEL variables.

Read without importing OpenTelemetry, so a server with tracing off never loads it. Checked by
`satchel serve` before the workers start: a malformed variable stops the command with a clear
message instead of crashing (and respawning) every worker.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from satchel.config import ConfigError

EXPORTERS = ("otlp", "console", "none")
"""`OTEL_TRACES_EXPORTER` values: OTLP/HTTP, JSON lines on stdout (development), or nothing
(spans still give log records their ids and outbound calls their `traceparent`)."""
PROTOCOL = "http/protobuf"
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


@dataclass(frozen=True, slots=True)
class TracingSettings:
    enabled: bool
    exporters: tuple[str, ...] = ("otlp",)

    @staticmethod
    def resolve(flag: bool, environ: Mapping[str, str] | None = None) -> TracingSettings:
        """On with `--tracing` (SATCHEL_TRACING) or an OTLP endpoint variable; off with OTEL_SDK_DISABLED=true."""
        env = os.environ if environ is None else environ
        if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            return TracingSettings(enabled=False)
        if not (flag or any(env.get(name, "").strip() for name in ENDPOINT_VARIABLES)):
            return TracingSettings(enabled=False)
        # variables are checked only when tracing is on: they may be meant for another program
        return TracingSettings(enabled=True, exporters=_exporters(env))


def _exporters(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get("OTEL_TRACES_EXPORTER", "").strip().lower() or "otlp"
    names = tuple(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
    unknown = [name for name in names if name not in EXPORTERS]
    if unknown or not names:
        raise ConfigError(f"OTEL_TRACES_EXPORTER expects otlp, console or none, got {raw!r}")
    if "otlp" in names:
        protocol = (
            env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "").strip()
            or env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "").strip()
            or PROTOCOL
        )
        if protocol != PROTOCOL:
            raise ConfigError(f"OTEL_EXPORTER_OTLP_PROTOCOL: Satchel exports traces over {PROTOCOL}, got {protocol!r}")
    return tuple(name for name in names if name != "none")
