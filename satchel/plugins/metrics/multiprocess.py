"""One scrape for every worker of `satchel serve --workers N`: prometheus_client's multiprocess mode.

Why this design: granian's workers are separate processes behind one port, so a scrape lands on
any one of them. Each worker writes its values to memory-mapped files in a directory the server
owns (`PROMETHEUS_MULTIPROC_DIR`), and whichever worker is scraped merges them all. No extra
port, process or network hop; an observation is an mmap write. `satchel serve` prepares the
directory before the workers start (`directory`): a given one is emptied, otherwise a fresh
private temporary one is made and removed at exit.

Live gauges (realtime connections, workers) of a worker that died are dropped at scrape time (its
pid no longer exists), so a respawned worker is not counted twice; its counters stay, as totals
must. `process_*` metrics come from `/proc/<pid>` of every live worker, labelled by pid.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, ProcessCollector, multiprocess
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

_PID_RE = re.compile(r"_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def live_pids(path: Path) -> list[int]:
    """Workers that registered (a live-gauge file each) and still run; the dead ones' gauges go."""
    pids = set()
    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        match = _PID_RE.search(name)
        if match:
            pids.add(int(match.group(1)))
    alive = []
    for pid in sorted(pids):
        if _alive(pid):
            alive.append(pid)
        else:
            multiprocess.mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]
    return alive


class WorkerProcesses(Collector):
    """`process_*` metrics of every live worker, each series labelled with its `pid`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def collect(self) -> Iterable[Metric]:
        merged: dict[str, Metric] = {}
        for pid in live_pids(self.path):
            collector = ProcessCollector(pid=_constant(pid), registry=None)
            for family in collector.collect():
                target = merged.get(family.name)
                if target is None:
                    target = merged[family.name] = Metric(family.name, family.documentation, family.type)
                for sample in family.samples:
                    target.add_sample(sample.name, {**sample.labels, "pid": str(pid)}, sample.value)
        return list(merged.values())


def _constant(pid: int) -> Callable[[], int]:
    return lambda: pid


def registry_for(path: Path) -> CollectorRegistry:
    """A registry that merges every worker's files (built per scrape: it holds no state)."""
    registry = CollectorRegistry()
    live_pids(path)  # drop dead workers' live gauges before they are merged
    multiprocess.MultiProcessCollector(registry, str(path))  # type: ignore[no-untyped-call]
    registry.register(WorkerProcesses(path))
    return registry
