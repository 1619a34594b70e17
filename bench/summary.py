"""bench/results/summary.md: the deployments side by side, each beside the PocketBase of its own run.

Every run measures PocketBase again, on a machine whose load changes between runs, so the summary
never compares a Satchel figure with another run's PocketBase: each deployment gets its own Satchel,
PocketBase and ratio columns, and the ratios are what compares across deployments.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bench.report import RESULTS_DIR, A, B, _num, _ratio, aux_names, cpu_ms_per_request, title

SUMMARY = "summary.md"
ORDER = ("sqlite", "postgres")
_NODES = re.compile(r"^latest-(\d+)nodes\.json$")


def result_files(directory: Path) -> list[Path]:
    """latest.json (SQLite), latest-postgres.json, then latest-<N>nodes.json by N: those that exist."""
    found = [directory / "latest.json", directory / "latest-postgres.json"]
    nodes = sorted((int(m.group(1)), p) for p in directory.glob("latest-*nodes.json") if (m := _NODES.match(p.name)))
    return [p for p in [*found, *(p for _, p in nodes)] if p.is_file()]


def load(directory: Path) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for path in result_files(directory):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and "meta" in data:
            out.append((path.name, data))
    return out


def _by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in data.get("scenarios", [])}


def _server(entry: dict[str, Any] | None, kind: str, key: str) -> Any:
    if entry is None:
        return None
    server = entry.get("servers", {}).get(kind)
    return None if not server else server.get(key)


def _names(runs: list[tuple[str, dict[str, Any]]]) -> list[str]:
    names: list[str] = []
    for _, data in runs:
        names += [e["name"] for e in data.get("scenarios", []) if e["name"] not in names]
    return names


def _head(runs: list[tuple[str, dict[str, Any]]], what: str) -> list[str]:
    cols = ["scenario"]
    for _, data in runs:
        short = _short(data["meta"])
        cols += [f"{short}: Satchel {what}", f"{short}: PB {what}", f"{short}: S/PB"]
    return ["| " + " | ".join(cols) + " |", "|---|" + "---:|" * (len(cols) - 1)]


def _short(meta: dict[str, Any]) -> str:
    label = meta.get("deployment", "sqlite")
    return {"sqlite": "SQLite", "postgres": "PostgreSQL"}.get(label, f"{meta.get('nodes', '?')} nodes")


def metric_table(runs: list[tuple[str, dict[str, Any]]], key: str, what: str, digits: int) -> list[str]:
    lines = _head(runs, what)
    tables = [_by_name(data) for _, data in runs]
    for name in _names(runs):
        cells = [name]
        for table in tables:
            pair = (_server(table.get(name), A, key), _server(table.get(name), B, key))
            cells += [_num(pair[0], digits), _num(pair[1], digits), _ratio(*pair)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def cpu_table(runs: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Satchel's CPU per request including the processes it relies on, against PocketBase's (database inside)."""
    lines = _head(runs, "CPU ms/req")
    tables = [(_by_name(data), aux_names(data)) for _, data in runs]
    for name in _names(runs):
        cells = [name]
        for table, helpers in tables:
            entry = table.get(name)
            own = cpu_ms_per_request(entry, A) if entry else None
            total = (
                None
                if own is None or entry is None
                else own + sum(cpu_ms_per_request(entry, A, h) or 0.0 for h in helpers)
            )
            pb = cpu_ms_per_request(entry, B) if entry else None
            cells += [_num(total, 2), _num(pb, 2), _ratio(total, pb)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _lost(entry: dict[str, Any] | None, kind: str) -> str:
    lost = _server(entry, kind, "lost")
    return "—" if lost is None else f"{lost}/{_server(entry, kind, 'expected')}"


def realtime_table(runs: list[tuple[str, dict[str, Any]]]) -> list[str]:
    cols = ["subscribers"]
    for _, data in runs:
        short = _short(data["meta"])
        cols += [f"{short}: Satchel p99 from send ms", f"{short}: PB p99 from send ms", f"{short}: S/PB"]
        cols += [f"{short}: lost S", f"{short}: lost PB"]
    lines = ["| " + " | ".join(cols) + " |", "|---:|" + "---:|" * (len(cols) - 1)]
    counts = sorted({e["subscribers"] for _, data in runs for e in data.get("realtime", [])})
    for n in counts:
        cells = [str(n)]
        for _, data in runs:
            entry = next((e for e in data.get("realtime", []) if e["subscribers"] == n), None)
            s, pb = (_server(entry, k, "p99_from_send_ms") for k in (A, B))
            cells += [_num(s, 2), _num(pb, 2), _ratio(s, pb), _lost(entry, A), _lost(entry, B)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _sources(runs: list[tuple[str, dict[str, Any]]]) -> list[str]:
    lines = []
    for file, data in runs:
        m = data["meta"]
        what = m.get("deployment_text") or f"one node on SQLite, {m.get('satchel_workers_used', '?')} worker(s)"
        lines.append(
            f"- `{file}` — {title(m)}: {m['mode']} run of {m['started']} ({m.get('elapsed_s', '?')} s, "
            f"{m['rounds']} round(s) x {m['duration_s']:g} s); {what}."
        )
    modes = {data["meta"]["mode"] for _, data in runs}
    if len(modes) > 1:
        lines.append("- **The runs mix quick and full modes**: quick runs use 10x less data; compare ratios with care.")
    return lines


def render(runs: list[tuple[str, dict[str, Any]]]) -> str:
    if not runs:
        return "# Satchel deployments vs PocketBase\n\nNo results yet: run `python -m bench` first.\n"
    out = ["# Satchel deployments vs PocketBase", "", "Sources (bench/results/):", "", *_sources(runs), ""]
    out += [
        "Each deployment's columns come from one run, in which PocketBase (always one process on its embedded "
        "SQLite, reached directly) was measured alternately with that Satchel: compare the S/PB ratios across "
        "deployments, not one run's Satchel with another run's PocketBase. Ratios: req/s > 1 = Satchel faster; "
        "p99 and CPU > 1 = Satchel slower / costlier. The machine is shared, so figures are indicative.",
        "",
    ]
    if any(data.get("scenarios") for _, data in runs):
        out += ["## Throughput (req/s)", "", *metric_table(runs, "rps", "req/s", 1), ""]
        out += ["## Latency p99 (ms)", "", *metric_table(runs, "p99_ms", "p99", 2), ""]
        out += [
            "## CPU per request (ms)",
            "",
            "Satchel's figure includes the processes it relies on in that deployment (PostgreSQL backends, nginx, "
            "Redis, NATS); PocketBase's includes SQLite, which runs inside it.",
            "",
            *cpu_table(runs),
            "",
        ]
    if any(data.get("realtime") for _, data in runs):
        out += ["## Realtime (SSE)", "", *realtime_table(runs), ""]
    return "\n".join(out)


def write_summary(directory: Path = RESULTS_DIR) -> Path:
    path = directory / SUMMARY
    path.write_text(render(load(directory)))
    return path
