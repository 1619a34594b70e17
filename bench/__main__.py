"""`python -m bench`: Satchel and PocketBase side by side on this machine; see bench/README.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.deploy import DBS, Deployment
from bench.load import LoadError
from bench.pg import parse_setting
from bench.report import RESULTS_DIR, render_markdown, write_results
from bench.runner import Config, run_benchmark
from bench.scenarios import BY_NAME, SECTIONS
from bench.seed import SeedError
from bench.servers import ServerError
from bench.summary import write_summary


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small data, 2 s runs, 1 round: under 2 minutes")
    p.add_argument(
        "--only",
        metavar="SCENARIO,...",
        help="run only these scenarios; known: "
        + ", ".join([*BY_NAME, *SECTIONS])
        + " (apis: REST, GraphQL and gRPC list/get on Satchel alone)",
    )
    p.add_argument("--satchel-workers", type=_positive_int, default=2, metavar="N", help="Satchel worker processes (2)")
    p.add_argument(
        "--realtime-workers",
        type=_positive_int,
        metavar="N",
        help="workers of the Satchel used for the realtime scenario (default: --satchel-workers)",
    )
    p.add_argument(
        "--realtime-clients",
        type=_positive_int,
        metavar="N",
        help="client processes holding the realtime subscribers (default: one per 2,500 subscribers, at most one "
        "per CPU)",
    )
    p.add_argument("--duration", type=float, metavar="S", help="seconds per run (default 10, quick 2)")
    p.add_argument("--rounds", type=_positive_int, metavar="N", help="A/B rounds (default 2, quick 1)")
    p.add_argument("--subscribers", metavar="N,...", help="realtime subscriber counts (default 1000,10000; quick 50)")
    p.add_argument(
        "--db",
        choices=DBS,
        help="Satchel's database: sqlite (default) or postgres (a fresh database on BENCH_PG_URL, default "
        "postgres://postgres@127.0.0.1:5432/postgres, dropped after); PocketBase always uses its SQLite",
    )
    p.add_argument(
        "--nodes",
        type=_positive_int,
        default=1,
        metavar="N",
        help="Satchel nodes behind nginx on PostgreSQL + Redis + NATS (implies --db postgres); the workers of "
        "--satchel-workers are split over them",
    )
    p.add_argument(
        "--pg-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting of the fresh PostgreSQL database (repeatable), e.g. synchronous_commit=off: commits "
        "not flushed one by one, as with SQLite's synchronous=NORMAL that Satchel and PocketBase use",
    )
    p.add_argument(
        "--metrics",
        action="store_true",
        help="serve Satchel with --metrics (Prometheus metrics on), to measure their cost against a run without",
    )
    p.add_argument(
        "--summary",
        action="store_true",
        help="only rewrite summary.md from the latest*.json already in --out (runs nothing)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=RESULTS_DIR,
        help="directory for latest.md / latest.json (latest-postgres.*, latest-<N>nodes.*) and summary.md",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.summary:
        print(f"written: {write_summary(args.out)}", file=sys.stderr)
        return 0
    try:
        db = args.db or ("postgres" if args.nodes > 1 else "sqlite")
        settings = tuple(parse_setting(text) for text in args.pg_set)
        extra = ("--metrics",) if args.metrics else ()
        deployment = Deployment(db=db, nodes=args.nodes, pg_set=settings, satchel_args=extra)
    except ValueError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    subscribers = tuple(int(x) for x in args.subscribers.split(",") if x.strip()) if args.subscribers else None
    cfg = Config(
        quick=args.quick,
        only=args.only,
        satchel_workers=args.satchel_workers,
        realtime_workers=args.realtime_workers,
        realtime_clients=args.realtime_clients,
        duration_s=args.duration,
        rounds=args.rounds,
        subscribers=subscribers,
        deployment=deployment,
    )
    try:
        data = run_benchmark(cfg)
    except (LoadError, ServerError, SeedError, ValueError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    md, js = write_results(data, args.out, deployment.stem)
    summary = write_summary(args.out)
    print(render_markdown(data))
    print(f"written: {md}, {js} and {summary}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
