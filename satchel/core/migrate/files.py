"""Uploaded files: the storage tree copied beside the target, swapped in only once the rows commit.

PocketBase and Satchel keep local files in `<data dir>/storage/<collectionId>/<recordId>/<name>`
(thumbnails under `thumbs_<name>/`), so the tree is copied as it is. It is first copied to a
hidden directory next to the final one (same file system, so the swap is two renames), and only
moved into place after the database copy committed; a failed run leaves the old tree untouched.
Blocking: run these in a thread.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from satchel.core.files.storages import STORAGE_DIR
from satchel.tools.ids import random_string

STAGING_PREFIX = ".migrate-"
"""Hidden directories of a copy in progress, beside the target's storage tree."""
FilesProgress = Callable[[int, int], None]
"""`(files copied, files in all)`."""


def list_files(root: Path) -> list[Path]:
    """Every regular file under `root`, relative to it (symbolic links are not followed)."""
    if not root.is_dir():
        return []
    out: list[Path] = []
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                out.append(path.relative_to(root))
    return sorted(out)


def stage(source_dir: Path, target_dir: Path, progress: FilesProgress | None = None) -> tuple[Path, int]:
    """Copy `source_dir/storage` into a new hidden directory of `target_dir`; (its path, files copied)."""
    source = source_dir / STORAGE_DIR
    files = list_files(source)
    target_dir.mkdir(parents=True, exist_ok=True)
    for leftover in target_dir.glob(f"{STAGING_PREFIX}*"):  # from a run that was killed
        shutil.rmtree(leftover, ignore_errors=True)
    staged = target_dir / f"{STAGING_PREFIX}{STORAGE_DIR}-{random_string(8)}"
    staged.mkdir()
    try:
        for n, rel in enumerate(files, 1):
            dest = staged / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / rel, dest)
            if progress is not None:
                progress(n, len(files))
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return staged, len(files)


def swap_in(staged: Path, target_dir: Path) -> None:
    """Make `staged` the target's storage tree; the tree it replaces is removed."""
    final = target_dir / STORAGE_DIR
    previous = target_dir / f"{STAGING_PREFIX}previous-{random_string(8)}"
    had = final.exists()
    if had:
        os.rename(final, previous)
    try:
        os.rename(staged, final)
    except BaseException:
        if had:
            os.rename(previous, final)
        raise
    if had:
        shutil.rmtree(previous, ignore_errors=True)


def discard(staged: Path) -> None:
    shutil.rmtree(staged, ignore_errors=True)
