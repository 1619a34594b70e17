"""`--log-format json|text` (env SATCHEL_LOG_FORMAT): flag > env > the default chosen by `--dev`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from satchel.cli.main import main
from satchel.config import BootConfig, ConfigError


def test_default_follows_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SATCHEL_LOG_FORMAT", raising=False)
    monkeypatch.delenv("SATCHEL_DEV", raising=False)
    assert BootConfig.from_env().stdout_log_format == "json"
    assert BootConfig.from_env(dev=True).stdout_log_format == "text"
    assert BootConfig.from_env(dev=True, log_format="json").stdout_log_format == "json"


def test_env_then_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATCHEL_LOG_FORMAT", "text")
    assert BootConfig.from_env().stdout_log_format == "text"
    assert BootConfig.from_env(log_format="json").stdout_log_format == "json"
    monkeypatch.setenv("SATCHEL_LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="--log-format"):
        BootConfig.from_env()


def test_serve_hands_the_format_to_its_workers(tmp_path: Path, isolated_env: None, fake_granian: list[Any]) -> None:
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path), "--log-format", "text"])
    assert r.exit_code == 0, r.output
    assert len(fake_granian) == 1 and os.environ["SATCHEL_LOG_FORMAT"] == "text"
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path), "--log-format", "yaml"])
    assert r.exit_code == 2 and "yaml" in r.output
