"""docs/metrics.md states what the code does: the metrics table is exactly what Satchel exports,
with their labels, and the options are the boot configuration's."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from prometheus_client import CollectorRegistry

from satchel.config import ENV_PREFIX, BootConfig
from satchel.plugins.metrics.instruments import METRIC_NAMES, Instruments

DOC = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()
ROW = re.compile(r"^\| `(satchel_[a-z_]+)` \| (\w+) \|([^|]*)\|", re.MULTILINE)


def test_the_metrics_table_lists_every_metric_with_its_type_and_labels() -> None:
    rows = {name: (kind, set(re.findall(r"`(\w+)`", labels))) for name, kind, labels in ROW.findall(DOC)}
    assert set(rows) == set(METRIC_NAMES)
    registry = CollectorRegistry()
    instruments = Instruments(registry)
    for metric in vars(instruments).values():
        name = metric._name + ("_total" if metric._type == "counter" else "")
        assert rows[name] == (metric._type, set(metric._labelnames)), name


def test_the_documented_options_are_the_boot_options() -> None:
    options = {ENV_PREFIX + f.name.upper() for f in fields(BootConfig) if f.name.startswith("metrics")}
    assert set(re.findall(r"^\| `(SATCHEL_METRICS\w*)` \|", DOC, re.MULTILINE)) == options
