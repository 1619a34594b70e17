"""`python -m bench`: Satchel and PocketBase side by side on this machine; see bench/README.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.load import LoadError
from bench.report import RESULTS_DIR, render_markdown, write_results
from bench.runner import Config, run_benchmark
from bench.scenarios import BY_NAME
from bench.seed import SeedError
from bench.servers import ServerError


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
        help="run only these scenarios; known: " + ", ".join([*BY_NAME, "realtime"]),
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
    p.add_argument(
        "--subscribers", metavar="N,...", help="realtime subscriber counts (default 1000,10000; quick 50)"
    )
    p.add_argument("--out", type=Path, default=RESULTS_DIR, help="directory for latest.md / latest.json")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
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
    )
    try:
        data = run_benchmark(cfg)
    except (LoadError, ServerError, SeedError, ValueError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    md, js = write_results(data, args.out)
    print(render_markdown(data))
    print(f"written: {md} and {js}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
