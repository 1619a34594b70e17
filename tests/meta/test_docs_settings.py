"""docs/settings.md states what the code does: secrets, variables, hooks, reload delay, key formats."""

from __future__ import annotations

import re
from pathlib import Path

from satchel.config import ENV_PREFIX, BootConfig
from satchel.core import schema_events
from satchel.core.hooks import Hooks
from satchel.core.secrets_at_rest import SETTINGS_SECRET_PATHS
from satchel.tools.secretbox import KEY_SIZE, VERSION

DOC = (Path(__file__).resolve().parents[2] / "docs" / "settings.md").read_text()
FLAT = " ".join(DOC.split())


def test_every_secret_is_named() -> None:
    for path in SETTINGS_SECRET_PATHS:
        assert f"`{'.'.join(path)}`" in FLAT


def test_documented_variables_are_boot_options() -> None:
    documented = set(re.findall(rf"{ENV_PREFIX}[A-Z_]+", DOC))
    options = set(BootConfig().to_env())
    assert {"SATCHEL_ENCRYPTION_KEY", "SATCHEL_ENCRYPTION_KEY_FILE"} <= documented <= options


def test_documented_hooks_exist() -> None:
    documented = set(re.findall(r"`(on_[a-z_]+)`", DOC)) | set(re.findall(r"hooks\.(on_[a-z_]+)", DOC))
    assert "on_settings_reload" in documented and documented <= set(Hooks().names())


def test_reload_delay_and_key_format() -> None:
    assert f"at worst after {schema_events.POLL_INTERVAL:g} seconds" in FLAT
    assert f"The key is {KEY_SIZE} bytes, written as {2 * KEY_SIZE} hex digits" in FLAT
    assert f'"{VERSION}.' in DOC and f"`{VERSION}`" in DOC
