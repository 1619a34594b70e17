"""The cache URL: flag > env > `memory:`, the adapter it picks, clear errors that never show a password."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from redis_service import redis_url

from satchel.adapters.cache.memory import MemoryCache
from satchel.adapters.cache.redis import RedisCache
from satchel.cli.main import main
from satchel.config import BootConfig, ConfigError, parse_cache_url, redact_url
from satchel.wiring import cache_from_url


def test_flag_beats_env_beats_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert BootConfig.from_env().cache_url == "memory:"
    monkeypatch.setenv("SATCHEL_CACHE_URL", "redis://cache:6379/2")
    assert BootConfig.from_env().cache_url == "redis://cache:6379/2"
    assert BootConfig.from_env(cache_url="rediss://other:6380/0").cache_url == "rediss://other:6380/0"
    assert BootConfig.from_env().to_env()["SATCHEL_CACHE_URL"] == "redis://cache:6379/2"  # handed to workers


@pytest.mark.parametrize("url", ["", "memory", "memory://", "redis:/x", "http://h/", "REDIS://h/0", "postgres://h"])
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="--cache-url expects memory: or redis://"):
        parse_cache_url(url)


def test_passwords_are_redacted() -> None:
    assert redact_url("redis://:s3cret@host:6379/0") == "redis://:***@host:6379/0"
    assert redact_url("redis://user:s3cret@host/1") == "redis://user:***@host/1"
    assert redact_url("redis://host:6379/0") == "redis://host:6379/0"
    with pytest.raises(ConfigError) as info:
        parse_cache_url("http://user:s3cret@host/")
    assert "s3cret" not in str(info.value)


async def test_the_url_picks_the_adapter() -> None:
    assert isinstance(cache_from_url("memory:"), MemoryCache)
    redis = cache_from_url("redis://127.0.0.1:6379/15")
    assert isinstance(redis, RedisCache)
    await redis.close()
    with pytest.raises(ConfigError):
        cache_from_url("memcached://h")


def test_serve_refuses_an_unknown_scheme(tmp_path: Path, isolated_env: None) -> None:
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path), "--cache-url", "memcached://h"])
    assert r.exit_code == 2 and "--cache-url expects memory: or redis://" in r.output


def test_serve_stops_when_redis_is_unreachable(tmp_path: Path, isolated_env: None, fake_granian: list[Any]) -> None:
    url = "redis://:s3cret@127.0.0.1:1/0"  # nothing listens on port 1
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path), "--cache-url", url])
    assert r.exit_code == 1 and "cannot reach the cache at redis://:***@127.0.0.1:1/0" in r.output
    assert "s3cret" not in r.output and fake_granian == []


def test_serve_notes_per_worker_counts_with_the_memory_cache(
    tmp_path: Path, isolated_env: None, fake_granian: list[Any]
) -> None:
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path), "--workers", "3"])
    assert r.exit_code == 0, r.output
    assert "each worker keeps its own rate-limit and failed-login counts (up to 3x" in r.output
    assert fake_granian[0]["workers"] == 3
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path), "--workers", "3", "--cache-url", redis_url()])
    assert r.exit_code == 0, r.output
    assert "each worker keeps its own" not in r.output
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path)])
    assert "each worker keeps its own" not in r.output  # one process: nothing to warn about
