"""`satchel serve --metrics`: the workers' shared metrics directory is ready before they start and
gone after; a given one is emptied of an earlier run's files; a bad allow-list stops the start."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import granian
import pytest
from click.testing import CliRunner

from satchel.cli.main import main

ENV = "PROMETHEUS_MULTIPROC_DIR"


@pytest.fixture
def seen_by_workers(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Like `fake_granian`, and records what a worker would find when it starts."""
    seen: list[dict[str, Any]] = []

    class Fake:
        def __init__(self, target: str, **options: Any) -> None:
            pass

        def serve(self) -> None:
            directory = os.environ.get(ENV, "")
            seen.append(
                {
                    "dir": directory,
                    "exists": bool(directory) and Path(directory).is_dir(),
                    "files": sorted(p.name for p in Path(directory).iterdir()) if directory else [],
                    "metrics": os.environ.get("SATCHEL_METRICS"),
                    "client_loaded": "prometheus_client" in sys.modules,
                }
            )

    monkeypatch.setattr(granian, "Granian", Fake)
    monkeypatch.setenv(ENV, "")  # recorded first, so that what `serve` exports is undone afterwards
    monkeypatch.delenv(ENV)
    return seen


def test_serve_metrics_prepares_a_private_directory_and_removes_it(
    tmp_path: Path, isolated_env: None, seen_by_workers: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "prometheus_client", raising=False)
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path / "data"), "--metrics"])
    assert r.exit_code == 0, r.output
    [seen] = seen_by_workers
    assert seen["exists"] and seen["files"] == [] and seen["metrics"] == "True"
    # the parent must not load the client: workers fork from it and the client fixes its mode on import
    assert seen["client_loaded"] is False
    assert not Path(seen["dir"]).exists()


def test_a_given_directory_is_emptied_of_earlier_runs_and_kept(
    tmp_path: Path, isolated_env: None, seen_by_workers: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    given = tmp_path / "metrics"
    given.mkdir()
    (given / "counter_4242.db").write_bytes(b"stale")
    (given / "README").write_text("not ours")
    monkeypatch.setenv(ENV, str(given))
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path / "data"), "--metrics"])
    assert r.exit_code == 0, r.output
    assert seen_by_workers[0]["files"] == ["README"]
    assert given.is_dir()


def test_without_metrics_no_directory_is_made(
    tmp_path: Path, isolated_env: None, seen_by_workers: list[dict[str, Any]]
) -> None:
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path / "data")])
    assert r.exit_code == 0, r.output
    assert seen_by_workers[0]["dir"] == ""


def test_a_malformed_allow_list_stops_the_start(
    tmp_path: Path, isolated_env: None, seen_by_workers: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SATCHEL_METRICS_ALLOW", "10.0.0.0/8,nope")
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path / "data"), "--metrics"])
    assert r.exit_code == 2 and "SATCHEL_METRICS_ALLOW: 'nope' is not an IP address or network" in r.output
    assert seen_by_workers == []
