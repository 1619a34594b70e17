"""The core's view of the webhook secret column (used to check a backup before a restore) opens what
the webhook store seals, and only on the webhook it was sealed for."""

from __future__ import annotations

from satchel.plugins.events.webhooks import rekey, sealing
from satchel.tools.keyring import KeyRing

KEY = bytes(range(32))
SECRET = "a-receiver-secret-123456"


def test_the_column_opens_what_the_store_seals_and_only_for_its_webhook() -> None:
    keys = KeyRing(KEY)
    stored = sealing.seal(keys, "hook1", SECRET)
    assert SECRET not in stored
    assert rekey.SECRET.open_stored(keys, "hook1", stored) == (SECRET, "")
    opened, why = rekey.SECRET.open_stored(keys, "hook2", stored)
    assert opened == "" and "the webhook 'hook2'" in why and SECRET not in why
    assert sealing.open_stored(keys, "hook1", rekey.SECRET.seal(keys, "hook1", SECRET)) == (SECRET, "")
    assert rekey.SECRET.open_stored(KeyRing(), "hook1", SECRET) == (SECRET, "")  # in clear: as it is
