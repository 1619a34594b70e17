"""The Grafana dashboard (deploy/grafana/satchel.json) is valid JSON and only queries metrics Satchel exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector

from satchel.plugins.metrics.instruments import METRIC_NAMES, Instruments

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "satchel.json"
PROMQL_WORDS = {
    "sum", "rate", "irate", "increase", "histogram_quantile", "by", "without", "avg", "max", "min", "count",
    "label_values", "topk", "bottomk", "and", "or", "unless", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "clamp_min", "clamp_max", "abs", "job", "le",
}  # fmt: skip
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def exported() -> set[str]:
    """Every sample name a scrape can carry: Satchel's metrics (with histogram series) and process_*."""
    registry = CollectorRegistry()
    Instruments(registry)
    names = {s.name for family in registry.collect() for s in family.samples}
    for family in registry.collect():  # labelled families without samples yet still name their series
        if family.type == "histogram":
            names |= {family.name + suffix for suffix in ("_bucket", "_sum", "_count")}
        elif family.type == "counter":
            names.add(family.name + "_total")
        else:
            names.add(family.name)
    names |= {s.name for family in ProcessCollector(registry=None).collect() for s in family.samples}
    return names


def metric_names(expr: str) -> set[str]:
    bare = _RANGES.sub(" ", _MATCHERS.sub(" ", _STRINGS.sub(" ", expr)))
    bare = _GROUPING.sub(" ", bare)
    found = set()
    for m in _IDENT.finditer(bare):
        word = m.group(0)
        if word in PROMQL_WORDS or word.startswith("$") or bare[m.end() : m.end() + 1] == "(":
            continue
        found.add(word)
    return found


def expressions(dashboard: dict[str, Any]) -> list[str]:
    out = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", []) if "expr" in t]
    out += [v["query"] for v in dashboard["templating"]["list"] if v.get("type") == "query"]
    return out


def test_the_dashboard_is_valid_json_with_unique_panel_ids() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and dashboard["uid"] and dashboard["title"]


def test_every_expression_names_only_metrics_satchel_exports() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    known = exported()
    used: set[str] = set()
    for expr in expressions(dashboard):
        names = metric_names(expr)
        assert names, f"no metric in {expr!r}"
        assert names <= known, f"{expr!r} names {sorted(names - known)}, not exported"
        used |= names
    # the panels the issue asks for: request rate, errors, latency, DB, realtime, broker lag, rate limits
    for wanted in (
        "satchel_http_requests_total",
        "satchel_http_request_duration_seconds_bucket",
        "satchel_db_query_duration_seconds_sum",
        "satchel_realtime_connections",
        "satchel_realtime_broker_lag_seconds_bucket",
        "satchel_ratelimit_rejections_total",
    ):
        assert wanted in used


def test_the_name_extraction_catches_a_misspelt_metric() -> None:
    assert metric_names('sum by (route) (rate(satchel_http_request_total{job=~"$job"}[5m]))') == {
        "satchel_http_request_total"
    }
    assert "satchel_http_request_total" not in exported()
    assert {f"{n}_bucket" for n in METRIC_NAMES if n.endswith("_seconds")} <= exported()
