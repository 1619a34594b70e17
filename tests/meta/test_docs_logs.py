"""docs/logs.md and docs/crons.md state what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from satchel.apis.middleware.request_log import MAX_REQUEST_ID, REQUEST_ID_LENGTH
from satchel.core.logs.request_entry import SECRET_PARAMS
from satchel.core.logs.writer import BATCH_SIZE, FLUSH_INTERVAL_S, MAX_BUFFERED
from satchel.core.settings import default_settings
from satchel.tools.log_format import MAX_LINE
from satchel.wiring import AUX_DB_FILE, LOGS_CLEANUP_JOB

DOCS = Path(__file__).resolve().parents[2] / "docs"
LOGS = (DOCS / "logs.md").read_text()
CRONS = (DOCS / "crons.md").read_text()


def test_documented_settings_and_defaults() -> None:
    for key, value in default_settings()["logs"].items():
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        assert re.search(rf"\| `{key}` \| {re.escape(shown)} \|", LOGS), key


def test_documented_write_path_numbers() -> None:
    assert FLUSH_INTERVAL_S == 1.0 and "one second after its first entry" in LOGS
    assert f"when {BATCH_SIZE} entries wait" in LOGS
    assert f"at most {MAX_BUFFERED:,} entries wait" in LOGS
    assert f"at most {MAX_LINE:,} bytes" in LOGS
    assert f"`<dir>/{AUX_DB_FILE}`" in LOGS


def test_documented_masked_parameters_and_request_ids() -> None:
    for name in SECRET_PARAMS:
        assert f"`{name}`" in LOGS, name
    assert f"1 to {MAX_REQUEST_ID} printable ASCII" in LOGS
    assert f"({REQUEST_ID_LENGTH} characters" in LOGS


def test_documented_builtin_jobs() -> None:
    assert f"| `{LOGS_CLEANUP_JOB}` | `0 */6 * * *` |" in CRONS
    assert "| `__pbAutoBackup__` | `settings.backups.cron` |" in CRONS
