"""Outbox sinks at boot: `--event-sink URL` (repeatable) > SATCHEL_EVENT_SINKS, checked before serving,
and a build without the sinks factory refused with a clear message (never a password in it)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from satchel import wiring
from satchel.cli.main import main
from satchel.config import BootConfig, ConfigError, parse_event_sinks


def test_flag_beats_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATCHEL_EVENT_SINKS", "nats://a:4222  redis://b:6379/0")
    assert parse_event_sinks(BootConfig.from_env().event_sinks) == ["nats://a:4222", "redis://b:6379/0"]
    cfg = BootConfig.from_env(event_sinks="amqp://guest:guest@c:5672/")
    assert parse_event_sinks(cfg.event_sinks) == ["amqp://guest:guest@c:5672/"]
    assert "guest:guest" not in repr(cfg)  # URLs may hold passwords: kept out of the repr
    assert BootConfig.from_env(event_sinks="").event_sinks == ""


@pytest.mark.parametrize("value", ["nats", "://x", "nats://", "not a url", "nats://a nats://a"])
def test_malformed_lists_are_refused(value: str) -> None:
    with pytest.raises(ConfigError):
        parse_event_sinks(value)


def test_a_password_never_shows_in_the_error() -> None:
    with pytest.raises(ConfigError) as info:
        parse_event_sinks("amqp//guest:s3cret@host nats://x")
    assert "s3cret" not in str(info.value)


def test_no_sinks_needs_no_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wiring, "EVENT_SINKS_MODULE", "satchel.adapters.no_such_module")
    assert wiring.event_sinks_from_urls("") == []


def test_a_missing_factory_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wiring, "EVENT_SINKS_MODULE", "satchel.adapters.no_such_module")
    with pytest.raises(
        ConfigError, match=re.escape("--event-sink needs satchel.adapters.no_such_module.sink_from_url")
    ):
        wiring.event_sinks_from_urls("nats://127.0.0.1:4222")


def test_serve_refuses_to_start_without_the_factory(
    tmp_path: Path, isolated_env: None, fake_granian: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wiring, "EVENT_SINKS_MODULE", "satchel.adapters.no_such_module")
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path), "--event-sink", "nats://user:s3cret@127.0.0.1:4222"])
    assert r.exit_code == 2 and "--event-sink needs" in r.output
    assert "s3cret" not in r.output and fake_granian == []


def test_serve_passes_every_flag_to_the_workers(
    tmp_path: Path, isolated_env: None, fake_granian: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []

    def factory(value: str) -> list[Any]:
        built.append(value)
        return []

    monkeypatch.setattr("satchel.wiring.event_sinks_from_urls", factory)
    r = CliRunner().invoke(
        main, ["serve", "--dir", str(tmp_path), "--event-sink", "nats://a:4222", "--event-sink", "redis://b:6379/1"]
    )
    assert r.exit_code == 0, r.output
    assert built == ["nats://a:4222 redis://b:6379/1"]
    assert os.environ["SATCHEL_EVENT_SINKS"] == "nats://a:4222 redis://b:6379/1"  # what workers read
