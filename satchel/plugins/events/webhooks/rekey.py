"""Webhook secrets under another key: the start-up check, `satchel keys rotate` and `settings rotate-key`
go through `satchel.core.sealed_columns` with the column `store.SECRET`; what is webhook-specific is
the operator's note at start.

Kept apart from the store because these run from the command line on an app without the events
plugin started (`open_app`), the way the settings secrets are re-sealed by core.
"""

from __future__ import annotations

from satchel.tools.keyring import KeyRing


def clear_warning(keys: KeyRing, in_clear: int) -> str:
    """A note for the operator at start while webhook secrets are stored in clear ("" when none are)."""
    if not in_clear:
        return ""
    if keys.current is None:
        return (
            f"Warning: {in_clear} webhook secret(s) are stored in clear in the database: set SATCHEL_ENCRYPTION_KEY "
            "or --encryption-key-file to encrypt them (generate a key with `satchel keys new`)."
        )
    return (
        f"Note: {in_clear} webhook secret(s) written before a key was configured are still in clear: they are "
        "encrypted on their next save, or all at once by `satchel keys rotate`."
    )
