"""When tracing is on, what it exports, and that off means nothing installed and nothing imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from satchel.cli.main import main
from satchel.config import BootConfig, ConfigError
from satchel.plugins.tracing.settings import TracingSettings

ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}


@pytest.mark.parametrize(
    ("flag", "env", "expected"),
    [
        (False, {}, TracingSettings(enabled=False)),
        (True, {}, TracingSettings(enabled=True, exporters=("otlp",))),
        (False, ENDPOINT, TracingSettings(enabled=True, exporters=("otlp",))),
        (False, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, TracingSettings(True, ("otlp",))),
        (True, {"OTEL_SDK_DISABLED": "true"}, TracingSettings(enabled=False)),
        (True, {"OTEL_TRACES_EXPORTER": "console"}, TracingSettings(enabled=True, exporters=("console",))),
        (True, {"OTEL_TRACES_EXPORTER": "otlp, console"}, TracingSettings(enabled=True, exporters=("otlp", "console"))),
        (True, {"OTEL_TRACES_EXPORTER": "none"}, TracingSettings(enabled=True, exporters=())),
        (True, {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, TracingSettings(enabled=True, exporters=("otlp",))),
        # malformed variables do not matter while tracing is off: they may be another program's
        (False, {"OTEL_TRACES_EXPORTER": "jaeger"}, TracingSettings(enabled=False)),
    ],
)
def test_flag_and_standard_variables(flag: bool, env: dict[str, str], expected: TracingSettings) -> None:
    assert TracingSettings.resolve(flag, env) == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER expects otlp, console or none"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "exports traces over http/protobuf, got 'grpc'"),
        ({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, "got 'http/json'"),
    ],
)
def test_unsupported_choices_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TracingSettings.resolve(True, env)


def test_the_flag_reaches_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    assert BootConfig.from_env().tracing is False
    monkeypatch.setenv("SATCHEL_TRACING", "true")
    assert BootConfig.from_env().tracing is True
    assert BootConfig.from_env().to_env()["SATCHEL_TRACING"] == "True"


def test_serve_stops_on_a_malformed_variable(
    tmp_path: Path, isolated_env: None, fake_granian: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path), "--tracing"])
    assert r.exit_code == 2 and "http/protobuf" in r.output
    assert fake_granian == []


def test_serve_passes_the_flag_to_the_workers(
    tmp_path: Path, isolated_env: None, fake_granian: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path), "--tracing"])
    assert r.exit_code == 0, r.output
    assert os.environ["SATCHEL_TRACING"] == "True" and len(fake_granian) == 1


PROBE = """
import sys
from satchel.config import BootConfig
from satchel.tools import probes
from satchel.wiring import build_asgi
asgi = build_asgi(BootConfig.from_env())
app = asgi.state.satchel
print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
print(len(app.asgi_middleware), probes.active, type(app.auth.oauth2.http.transport).__name__)
"""


def _run_probe(tmp_path: Path, **env: str) -> list[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SATCHEL_"))}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**base, "SATCHEL_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.splitlines()


def test_off_installs_nothing_and_never_imports_opentelemetry(tmp_path: Path) -> None:
    assert _run_probe(tmp_path) == ["[]", "0 False NoneType"]


def test_on_installs_the_middleware_and_transport_but_starts_with_the_lifespan(tmp_path: Path) -> None:
    modules, seams = _run_probe(tmp_path, SATCHEL_TRACING="1")
    assert "opentelemetry.sdk.trace" in modules
    assert seams == "1 False TracedTransport"  # probes are listened to once the worker's lifespan starts
