"""The timing equaliser's hash follows the configured cost (not the cost at import time)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import extract_parameters

from satchel.tools import passwords


@pytest.fixture
def restore_cost() -> Iterator[None]:
    before = passwords.hasher
    yield
    passwords.configure(time_cost=before.time_cost, memory_cost=before.memory_cost, parallelism=before.parallelism)


def test_dummy_hash_has_the_cost_configured_last(restore_cost: None) -> None:
    passwords.configure(time_cost=1, memory_cost=8, parallelism=1)
    first = extract_parameters(passwords.dummy_hash())
    assert (first.time_cost, first.memory_cost) == (1, 8)
    assert passwords.dummy_hash() == passwords.dummy_hash()  # made once per configuration
    passwords.configure(time_cost=2, memory_cost=16, parallelism=1)
    second = extract_parameters(passwords.dummy_hash())
    assert (second.time_cost, second.memory_cost) == (2, 16)
    assert not passwords.needs_rehash(passwords.dummy_hash())  # same class of work as a real account's
