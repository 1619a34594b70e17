"""`--dev`: watch the hook folder and restart the workers after an edit that loads cleanly.

Runs as a thread of the server's main process (which forks the workers). Polling the folder's few
files costs nothing measurable and needs no file-watching dependency; an edit that fails to load is
reported (file, line, error) and the workers keep running the previous version until it is fixed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from satchel.plugins.hooks_loader.loader import HookFilesError, hook_files, load_folder

Snapshot = dict[str, tuple[int, int]]
INTERVAL = 0.3


def snapshot(folder: Path) -> Snapshot:
    """Name -> (mtime, size) of every `.py` file in the folder, helpers included."""
    out: Snapshot = {}
    if not folder.is_dir():
        return out
    for path in folder.glob("*.py"):
        try:
            stat = path.stat()
        except OSError:  # removed between the listing and the stat
            continue
        out[path.name] = (stat.st_mtime_ns, stat.st_size)
    return out


class HookWatcher:
    def __init__(
        self,
        folder: Path,
        restart: Callable[[], None],
        report: Callable[[str], None],
        interval: float = INTERVAL,
    ) -> None:
        self.folder = folder
        self.restart = restart
        self.report = report
        self.interval = interval
        self._stop = threading.Event()
        self._seen = snapshot(folder)
        self._thread = threading.Thread(target=self._run, name="satchel-hooks-watch", daemon=True)

    def start(self) -> HookWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def poll(self) -> bool:
        """Look once; True when the workers were asked to restart."""
        now = snapshot(self.folder)
        if now == self._seen:
            return False
        self._seen = now
        try:
            if hook_files(self.folder):
                load_folder(self.folder)
        except HookFilesError as exc:
            self.report(f"{exc}\n(the workers keep the previous hooks until this is fixed)")
            return False
        self.report(f"hook files changed in {self.folder}: restarting the workers")
        self.restart()
        return True
