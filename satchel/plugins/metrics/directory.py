"""The workers' shared metrics directory, prepared by `satchel serve` before the workers start.

Kept free of prometheus_client imports: the server's parent process must not load the client (it
would fix its storage mode before the directory is announced, and its workers fork from it).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_directory(given: str | None = None) -> tuple[Path, bool]:
    """The directory for this server's workers, empty; and whether it is ours to remove at exit.

    A given directory is emptied of value files (an earlier run's would add to the counts);
    otherwise a fresh private temporary one is made.
    """
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        return path, False
    return Path(tempfile.mkdtemp(prefix="satchel-metrics-")), True


def remove_directory(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def active_directory() -> Path | None:
    """The directory when this process runs in multiprocess mode."""
    value = os.environ.get(ENV)
    return Path(value) if value and os.path.isdir(value) else None
