"""Where the key ring comes from: SATCHEL_ENCRYPTION_KEY with SATCHEL_ENCRYPTION_KEYS_OLD, or a key
file whose first line is the current key and further lines older ones; bad keys are named by place."""

from __future__ import annotations

from pathlib import Path

import pytest

from satchel.config import BootConfig, ConfigError

A, B, C = "aa" * 32, "bb" * 32, "cc" * 32


@pytest.fixture(autouse=True)
def _clean_env(isolated_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SATCHEL_ENCRYPTION_KEY", "SATCHEL_ENCRYPTION_KEY_FILE", "SATCHEL_ENCRYPTION_KEYS_OLD"):
        monkeypatch.delenv(name, raising=False)


def test_old_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", A)
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEYS_OLD", f" {B},\n{C} ")
    cfg = BootConfig.from_env()
    assert cfg.encryption_key_bytes() == bytes.fromhex(A)
    assert cfg.old_encryption_keys() == (bytes.fromhex(B), bytes.fromhex(C))
    assert cfg.to_env()["SATCHEL_ENCRYPTION_KEYS_OLD"] == f" {B},\n{C} "  # handed to the workers
    assert B not in repr(cfg)


def test_a_key_file_with_several_lines(tmp_path: Path) -> None:
    ring = tmp_path / "ring.key"
    ring.write_text(f"{A}\n\n{B}\n{C}\n")
    cfg = BootConfig.from_env(encryption_key_file=str(ring))
    assert cfg.encryption_key_bytes() == bytes.fromhex(A)
    assert cfg.old_encryption_keys() == (bytes.fromhex(B), bytes.fromhex(C))


def test_a_bad_old_key_is_named_by_its_place_never_quoted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEYS_OLD", f"{B} not-a-key")
    with pytest.raises(ConfigError, match=r"SATCHEL_ENCRYPTION_KEYS_OLD \(key 2\)") as info:
        BootConfig.from_env()
    assert "not-a-key" not in str(info.value)
    monkeypatch.delenv("SATCHEL_ENCRYPTION_KEYS_OLD")
    ring = tmp_path / "ring.key"
    ring.write_text(f"{A}\nshort\n")
    with pytest.raises(ConfigError, match=r"SATCHEL_ENCRYPTION_KEY_FILE \(line 2\)"):
        BootConfig.from_env(encryption_key_file=str(ring))
