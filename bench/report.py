"""Markdown and JSON output of a benchmark run.

Ratios are always Satchel / PocketBase: for req/s above 1 means Satchel is faster, for p99 and RSS
above 1 means Satchel is slower / bigger. The JSON keeps every round so a reader can check the spread.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.apis import apis_table

RESULTS_DIR = Path(__file__).resolve().parent / "results"
A, B = "satchel", "pocketbase"
TITLES = {"sqlite": "Satchel", "postgres": "Satchel on PostgreSQL"}


def title(meta: dict[str, Any]) -> str:
    """How the Satchel of a run was deployed, in a few words (runs before deployments existed: SQLite)."""
    label = meta.get("deployment", "sqlite")
    if label in TITLES:
        return TITLES[label]
    return f"Satchel, {meta.get('nodes', '?')} nodes on PostgreSQL behind nginx"


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b <= 0 or a < 0:
        return "—"
    return f"{a / b:.2f}"


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _mb(kb: float | None) -> str:
    return "—" if kb is None else f"{kb / 1024:.0f}"


def _get(entry: dict[str, Any], kind: str, key: str) -> Any:
    server = entry.get("servers", {}).get(kind)
    return None if not server else server.get(key)


def _errors(entry: dict[str, Any], kind: str) -> str:
    errors = _get(entry, kind, "errors")
    if errors is None:
        return "—"
    total = sum(errors.values())
    return str(total) if not total else f"**{total}** ({', '.join(f'{k} {v}' for k, v in sorted(errors.items()))})"


def http_table(data: dict[str, Any]) -> list[str]:
    lines = [
        "| scenario | Satchel req/s | PocketBase req/s | req/s S/PB | Satchel p50 ms | PocketBase p50 ms "
        "| Satchel p99 ms | PocketBase p99 ms | p99 S/PB | Satchel RSS MB | PocketBase RSS MB | RSS S/PB "
        "| Satchel PSS MB | PocketBase PSS MB | PSS S/PB | errors S | errors PB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in data.get("scenarios", []):
        name = entry["name"]
        if _get(entry, A, "ids_exhausted") or _get(entry, B, "ids_exhausted"):
            name += " ¹"
        rps = (_get(entry, A, "rps"), _get(entry, B, "rps"))
        p50 = (_get(entry, A, "p50_ms"), _get(entry, B, "p50_ms"))
        p99 = (_get(entry, A, "p99_ms"), _get(entry, B, "p99_ms"))
        rss = (_get(entry, A, "rss_kb"), _get(entry, B, "rss_kb"))
        pss = (_get(entry, A, "pss_kb"), _get(entry, B, "pss_kb"))
        lines.append(
            f"| {name} | {_num(rps[0])} | {_num(rps[1])} | {_ratio(*rps)} | {_num(p50[0], 2)} | {_num(p50[1], 2)} "
            f"| {_num(p99[0], 2)} | {_num(p99[1], 2)} | {_ratio(*p99)} | {_mb(rss[0])} | {_mb(rss[1])} "
            f"| {_ratio(*rss)} | {_mb(pss[0])} | {_mb(pss[1])} | {_ratio(*pss)} "
            f"| {_errors(entry, A)} | {_errors(entry, B)} |"
        )
    return lines


def realtime_table(data: dict[str, Any]) -> list[str]:
    lines = [
        "| subscribers | creates/s | client procs | Satchel p50 ms | PocketBase p50 ms | Satchel p99 ms "
        "| PocketBase p99 ms | Satchel p50 from send | PocketBase p50 from send | Satchel p99 from send "
        "| PocketBase p99 from send | p99-from-send S/PB | lost S | lost PB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in data.get("realtime", []):

        def lost(kind: str, e: dict[str, Any] = entry) -> str:
            server = e["servers"].get(kind)
            return "—" if not server else f"{server['lost']}/{server['expected']}"

        def ms(key: str, e: dict[str, Any] = entry) -> str:
            return f"{_num(_get(e, A, key), 2)} | {_num(_get(e, B, key), 2)}"

        send = (_get(entry, A, "p99_from_send_ms"), _get(entry, B, "p99_from_send_ms"))
        lines.append(
            f"| {entry['subscribers']} | {entry['rate']:g} | {entry.get('clients') or '—'} | {ms('p50_ms')} "
            f"| {ms('p99_ms')} | {ms('p50_from_send_ms')} | {ms('p99_from_send_ms')} | {_ratio(*send)} "
            f"| {lost(A)} | {lost(B)} |"
        )
    return lines


def realtime_memory_table(data: dict[str, Any]) -> list[str]:
    lines = [
        "| subscribers | Satchel KiB/conn PSS | PocketBase KiB/conn PSS | PSS/conn S/PB | Satchel KiB/conn RSS "
        "| PocketBase KiB/conn RSS | RSS/conn S/PB | Satchel peak RSS MB | PocketBase peak RSS MB "
        "| Satchel peak PSS MB | PocketBase peak PSS MB | peak PSS S/PB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in data.get("realtime", []):
        per_pss = (_get(entry, A, "pss_kib_per_conn"), _get(entry, B, "pss_kib_per_conn"))
        per_rss = (_get(entry, A, "rss_kib_per_conn"), _get(entry, B, "rss_kib_per_conn"))
        rss = (_get(entry, A, "rss_kb"), _get(entry, B, "rss_kb"))
        pss = (_get(entry, A, "pss_kb"), _get(entry, B, "pss_kb"))
        lines.append(
            f"| {entry['subscribers']} | {_num(per_pss[0])} | {_num(per_pss[1])} | {_ratio(*per_pss)} "
            f"| {_num(per_rss[0])} | {_num(per_rss[1])} | {_ratio(*per_rss)} | {_mb(rss[0])} | {_mb(rss[1])} "
            f"| {_mb(pss[0])} | {_mb(pss[1])} | {_ratio(*pss)} |"
        )
    return lines


def aux_names(data: dict[str, Any]) -> list[str]:
    """The helper processes measured beside Satchel in this run (its PostgreSQL backends, nginx, ...)."""
    names: list[str] = []
    for entry in data.get("scenarios", []):
        for run in (entry.get("servers", {}).get(A) or {}).get("runs", []):
            names += [n for n in run.get("aux", {}) if n not in names]
    return names


def cpu_ms_per_request(entry: dict[str, Any], kind: str, aux: str | None = None) -> float | None:
    """CPU milliseconds per answered request over all rounds: the server's own (aux None) or a helper's."""
    runs = (entry.get("servers", {}).get(kind) or {}).get("runs", [])
    requests = sum(r["requests"] for r in runs)
    if not runs or requests <= 0:
        return None
    if aux is None:
        spent = sum(r.get("server_cpu_s", 0.0) for r in runs)
    else:
        spent = sum(r.get("aux", {}).get(aux, {}).get("cpu_s", 0.0) for r in runs)
    return float(1000 * spent / requests)


def aux_table(data: dict[str, Any]) -> list[str]:
    """CPU per request of Satchel, of each process it relies on, and of PocketBase (whose database is inside it)."""
    names = aux_names(data)
    head = ["scenario", "Satchel CPU ms/req", *(f"{n} CPU ms/req" for n in names), "Satchel total CPU ms/req"]
    head += ["PocketBase CPU ms/req", "total CPU S/PB", *(f"{n} peak PSS MB" for n in names)]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for entry in data.get("scenarios", []):
        own = cpu_ms_per_request(entry, A)
        helpers = [cpu_ms_per_request(entry, A, n) for n in names]
        total = None if own is None else own + sum(h or 0.0 for h in helpers)
        pb = cpu_ms_per_request(entry, B)
        runs = (entry.get("servers", {}).get(A) or {}).get("runs", [])
        pss = [max((r.get("aux", {}).get(n, {}).get("pss_kb", 0) for r in runs), default=None) for n in names]
        cells = [entry["name"], _num(own, 2), *(_num(h, 2) for h in helpers), _num(total, 2), _num(pb, 2)]
        cells += [_ratio(total, pb), *(_mb(kb) for kb in pss)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _deployment_lines(m: dict[str, Any]) -> list[str]:
    if m.get("deployment", "sqlite") == "sqlite":
        return []
    lines = [f"- Satchel deployment: {m.get('deployment_text', m.get('deployment'))}."]
    settings = m.get("pg_settings") or {}
    if settings:
        shown = ", ".join(f"{k} {v}" for k, v in settings.items() if k != "server_version")
        lines.append(
            f"- PostgreSQL {settings.get('server_version', '?')} on this machine, server defaults ({shown}); its "
            "backends, like nginx, Redis and NATS, are separate processes: the HTTP table's Satchel CPU/RSS/PSS "
            "figures are Satchel's own, the CPU table above adds the others."
        )
    return lines


def _footer(data: dict[str, Any]) -> list[str]:
    m = data["meta"]
    sizes = m["sizes"]
    workers = m.get("satchel_workers_used")
    quick = " (smaller data and shorter runs than a full run; numbers are indicative only)"
    lines = [
        f"- Mode **{m['mode']}**"
        + (quick if m["mode"] == "quick" else "")
        + f": {m['rounds']} round(s) per scenario and server, alternating order; {m['duration_s']:g} s per run"
        + (f" after a {m['warmup_s']:g} s warm-up in round 1" if m.get("warmup_s") else "")
        + f"; {m['connections']} connections, {m['threads']} threads ({m['loader']}); medians over rounds.",
        *_deployment_lines(m),
        f"- Machine: {m['cpu']}, {m['cpus']} CPUs, Linux {m['kernel']}, Python {m['python']}; "
        f"{m['satchel']}; pocketbase {m['pocketbase']}. Load generator, client and servers share the machine.",
        "- RSS: peak of the server's whole process tree, sampled every 100 ms during the run (max over rounds). "
        "PSS: the same for proportional memory, where a page shared by several processes (granian's master "
        "and its forked workers) counts once in all rather than once per process.",
        "- Ratios are Satchel / PocketBase: req/s > 1 = Satchel faster; p99 and RSS > 1 = Satchel slower / bigger.",
    ]
    if data.get("scenarios") or data.get("realtime"):  # an `--only apis` run has neither: its own line below
        lines[1:1] = [
            f"- Data: posts {sizes['posts']:,} rows, posts_big {sizes['posts_big']:,} rows, posts_owned "
            f"{sizes['posts_owned']:,} rows over {sizes['users']} users; {sizes['delete_pool']:,} records pre-created "
            "per delete run.",
            f"- Satchel workers: {workers if workers is not None else '—'} (requested "
            f"{m['satchel_workers_requested']}); realtime against a separate fresh Satchel with "
            f"{m.get('realtime_satchel_workers', '—')} worker(s) per subscriber count (a create on any worker reaches "
            "the subscribers of every worker; a subscribe call reaching another worker than the stream is forwarded).",
        ]
    if any(_get(e, A, "ids_exhausted") or _get(e, B, "ids_exhausted") for e in data.get("scenarios", [])):
        lines.append("- ¹ the pre-created ids ran out before the time was up: that run is shorter (req/s still valid).")
    if data.get("realtime"):
        lines += [
            "- Realtime latency: p50/p99 = the event's arrival in the subscriber's socket (kernel receive timestamp, "
            "SO_TIMESTAMPNS) minus the moment the create *response* arrived (a lower bound of commit-to-delivery, "
            "negative when the event overtakes the response); 'from send' = minus the moment the create was sent "
            "(an upper bound). Creates/s capped so that subscribers x rate <= 10,000 deliveries/s; subscribers "
            f"spread over 'client procs' processes. {m['realtime_duration_s']:g} s of creates, then up to 5 s for "
            "stragglers.",
            "- Realtime memory: KiB/conn = (server process tree's RSS or PSS with every subscriber connected and "
            "subscribed, before the first create) minus (the same just before connecting them, after a "
            f"{m.get('realtime_warmup', 0)}-subscriber warm-up), divided by the subscribers connected; peak = max "
            "sampled every 100 ms over the whole run. Fresh servers for each subscriber count.",
        ]
    if data.get("apis"):
        lines.append(
            f"- API styles: one fresh Satchel ({m.get('apis_workers', '?')} worker(s)) serving `--grpc` too, posts "
            f"{m.get('apis_posts', 0):,} rows, as a guest; "
            f"{m.get('apis_duration_s', 0):g} s per run, the rounds and connections above. REST and GraphQL by wrk, "
            "gRPC by h2load (HTTP/2, one stream in flight per connection, like wrk's connections); every call "
            "checked once before (GraphQL without `errors`, gRPC with grpc-status 0). Server CPU ms/req = the "
            "process tree's CPU during the runs / answered requests."
        )
    return lines


def render_markdown(data: dict[str, Any]) -> str:
    m = data["meta"]
    out = [f"# {title(m)} vs PocketBase — {m['mode']} run, {m['started']} ({m.get('elapsed_s', '?')} s)", ""]
    if data.get("scenarios"):
        out += ["## HTTP", "", *http_table(data), ""]
        if aux_names(data):
            out += ["### CPU per request, Satchel and the processes it relies on", "", *aux_table(data), ""]
    if data.get("realtime"):
        out += ["## Realtime (SSE, `posts/*`)", "", *realtime_table(data), ""]
        out += ["### Realtime memory", "", *realtime_memory_table(data), ""]
    if data.get("apis"):
        out += ["## API styles (Satchel only: PocketBase has neither GraphQL nor gRPC)", "", *apis_table(data), ""]
    out += ["## Notes", "", *_footer(data)]
    if data.get("notes"):
        out += [f"- {note}" for note in data["notes"]]
    if data.get("scenarios") or data.get("apis"):
        out += ["", "## Scenarios", ""]
        out += [f"- `{e['name']}`: {e['summary']}" for e in [*data.get("scenarios", []), *data.get("apis", [])]]
    return "\n".join(out) + "\n"


def write_results(data: dict[str, Any], directory: Path = RESULTS_DIR, stem: str = "latest") -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    md = directory / f"{stem}.md"
    js = directory / f"{stem}.json"
    md.write_text(render_markdown(data))
    js.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    return md, js
