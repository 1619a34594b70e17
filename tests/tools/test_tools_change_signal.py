"""The shared-memory change flag: a bump in one process is seen by every other mapping at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from satchel.tools.change_signal import ChangeSignal


def test_bump_is_seen_through_another_mapping(tmp_path: Path) -> None:
    a, b = ChangeSignal(tmp_path / "sig"), ChangeSignal(tmp_path / "sig")
    try:
        assert a.read() == b.read() == 0  # a new file starts at zero
        value = a.bump()
        assert value != 0 and b.read() == value
        assert b.bump() != value and a.read() == b.read()
    finally:
        a.close()
        b.close()
    assert (tmp_path / "sig").stat().st_size == 8


def test_bump_in_another_process(tmp_path: Path) -> None:
    sig = ChangeSignal(tmp_path / "sig")
    try:
        before = sig.read()
        code = f"from satchel.tools.change_signal import ChangeSignal; print(ChangeSignal({str(tmp_path / 'sig')!r}).bump())"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert sig.read() == int(out) != before
    finally:
        sig.close()
