"""The webhook secret column (the store's, also checked against a backup before a restore): a sealed
secret opens only on the webhook it was sealed for, and one stored in clear is read as it is."""

from __future__ import annotations

from satchel.plugins.events.webhooks.store import SECRET as COLUMN
from satchel.tools.keyring import KeyRing

KEY = bytes(range(32))
SECRET = "a-receiver-secret-123456"


def test_the_column_opens_what_it_seals_and_only_for_its_webhook() -> None:
    keys = KeyRing(KEY)
    stored = COLUMN.seal(keys, "hook1", SECRET)
    assert SECRET not in stored
    assert COLUMN.label("hook1") == "webhooks.hook1.secret"
    assert COLUMN.open_stored(keys, "hook1", stored) == (SECRET, "")
    opened, why = COLUMN.open_stored(keys, "hook2", stored)
    assert opened == "" and "the webhook 'hook2'" in why and SECRET not in why
    assert COLUMN.open_stored(KeyRing(), "hook1", SECRET) == (SECRET, "")  # in clear: as it is
