"""The realtime broker URL: flag > env > automatic, the transport it picks, clear errors without passwords."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from nats_service import nats_url
from redis_service import redis_url

from satchel.adapters.broker.mesh import MeshBroker, socket_dir
from satchel.adapters.broker.nats import NatsBroker
from satchel.adapters.broker.redis import RedisBroker
from satchel.cli.main import main
from satchel.config import BootConfig, ConfigError, broker_kind, parse_broker_url
from satchel.core.realtime.broker import LocalTransport
from satchel.core.realtime.relay import BrokerTransport
from satchel.wiring import broker_from_url, build_app


def test_flag_beats_env_beats_automatic(monkeypatch: pytest.MonkeyPatch) -> None:
    assert BootConfig.from_env().broker_url == ""
    monkeypatch.setenv("SATCHEL_BROKER_URL", "nats://bus:4222")
    assert BootConfig.from_env().broker_url == "nats://bus:4222"
    assert BootConfig.from_env(broker_url="redis://r:6379/1").broker_url == "redis://r:6379/1"
    assert BootConfig.from_env().to_env()["SATCHEL_BROKER_URL"] == "nats://bus:4222"  # handed to workers


@pytest.mark.parametrize(
    ("url", "workers", "kind"),
    [
        ("", 1, "memory"),
        ("", 4, "local"),
        ("memory:", 4, "memory"),
        ("local:", 1, "local"),
        ("redis://h:6379/0", 1, "redis"),
        ("rediss://h:6380/0", 2, "redis"),
        ("nats://h:4222", 1, "nats"),
        ("tls://h:4222", 1, "nats"),
    ],
)
def test_what_a_url_means(url: str, workers: int, kind: str) -> None:
    assert broker_kind(parse_broker_url(url), workers) == kind


@pytest.mark.parametrize("url", ["memory", "local", "nats:/h", "amqp://h/", "NATS://h", "postgres://h", "unix:///s"])
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="--broker-url expects memory:, local:, redis://"):
        parse_broker_url(url)


def test_a_password_never_shows_in_the_error() -> None:
    with pytest.raises(ConfigError) as info:
        parse_broker_url("amqp://user:s3cret@h/")
    assert "s3cret" not in str(info.value)


async def test_the_url_picks_the_broker(tmp_path: Path) -> None:
    assert broker_from_url("", 1, tmp_path) is None
    mesh = broker_from_url("", 2, tmp_path)
    assert isinstance(mesh, MeshBroker) and mesh.directory == socket_dir(tmp_path.resolve())
    assert isinstance(broker_from_url("redis://127.0.0.1:6379/15", 1, tmp_path), RedisBroker)
    assert isinstance(broker_from_url("nats://127.0.0.1:4222", 1, tmp_path), NatsBroker)
    assert isinstance(build_app(tmp_path / "one").realtime.transport, LocalTransport)
    assert isinstance(build_app(tmp_path / "many", workers=2).realtime.transport, BrokerTransport)


def test_long_data_dirs_meet_in_a_private_temp_dir(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 120)
    where = socket_dir(deep)
    assert len(str(where)) < 80 and where == socket_dir(deep)  # every process computes the same place
    assert socket_dir(tmp_path / "short") == tmp_path / "short" / ".realtime"


def test_serve_stops_when_the_broker_is_unreachable(
    tmp_path: Path, isolated_env: None, fake_granian: list[Any]
) -> None:
    url = "redis://:s3cret@127.0.0.1:1/0"  # nothing listens on port 1
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path), "--broker-url", url])
    assert r.exit_code == 1 and "cannot reach the broker at redis://:***@127.0.0.1:1/0" in r.output
    assert "s3cret" not in r.output and fake_granian == []


def test_serve_checks_real_brokers_before_starting(tmp_path: Path, isolated_env: None, fake_granian: list[Any]) -> None:
    for url in (redis_url(), nats_url()):
        r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path), "--broker-url", url])
        assert r.exit_code == 0, r.output
    assert len(fake_granian) == 2
    assert fake_granian[0]["respawn_failed_workers"] is True
