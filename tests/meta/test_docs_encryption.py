"""docs/encryption.md states what the code does: variables, shadow column, index size, refusals."""

from __future__ import annotations

import re
from pathlib import Path

from satchel.config import ENV_PREFIX, BootConfig
from satchel.core.collections.encrypted_fields import ENCRYPTABLE_TYPES
from satchel.core.fields.options import ENCRYPTED
from satchel.core.fields.registry import FIELD_TYPES
from satchel.core.key_rotation import DEFAULT_BATCH
from satchel.core.records.sealed_fields import SHADOW_SUFFIX
from satchel.core.rules.sealed_filter import SealedFilterError
from satchel.tools.keyring import BLIND_INDEX_HEX

DOCS = Path(__file__).resolve().parents[2] / "docs"
DOC = (DOCS / "encryption.md").read_text()
FLAT = " ".join(DOC.split())


def test_documented_variables_are_boot_options() -> None:
    documented = set(re.findall(rf"{ENV_PREFIX}[A-Z_]+", DOC))
    assert {"SATCHEL_ENCRYPTION_KEY", "SATCHEL_ENCRYPTION_KEYS_OLD", "SATCHEL_ENCRYPTION_KEY_FILE"} <= documented
    assert documented <= set(BootConfig().to_env())


def test_storage_details() -> None:
    assert f"`<field>{SHADOW_SUFFIX}`" in DOC and f"({BLIND_INDEX_HEX} hex digits)" in DOC
    with_option = {t for t, cls in FIELD_TYPES.items() if ENCRYPTED in cls.options}
    assert with_option == ENCRYPTABLE_TYPES
    sentence = re.search(r"record fields you mark `encrypted: true` \(([a-z, ]+) fields\)", FLAT)
    assert sentence is not None and set(re.split(r", | and ", sentence.group(1))) == ENCRYPTABLE_TYPES
    assert f"default {DEFAULT_BATCH}" in FLAT


def test_the_quoted_refusal_is_the_one_clients_get() -> None:
    message = SealedFilterError("ssn", "the operator ~ would need the plaintext in the database.").message
    assert message.replace('"', '\\"') in DOC


def test_security_links_here() -> None:
    security = (DOCS / "security.md").read_text()
    assert "## At rest" in security and "(encryption.md)" in security
