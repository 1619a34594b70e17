"""Ids derived like PocketBase's, record id safety, and regex-driven random strings."""

from __future__ import annotations

import os
import re
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from satchel.tools.ids import (
    ID_ALPHABET,
    collection_id,
    field_id,
    is_valid_record_id,
    random_id,
    random_string,
    random_string_by_regex,
    record_id_problem,
)


def test_derived_ids_match_pocketbase() -> None:
    assert collection_id("base", "posts") == "pbc_1125843985"
    assert collection_id("auth", "_superusers") == "pbc_3142635823"
    assert field_id("text", "title") == "text724990059"


def test_random_id_and_string() -> None:
    ids = {random_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[a-z0-9]{15}", i) for i in ids)
    assert len(random_id(30)) == 30 and set(random_id(200)) <= set(ID_ALPHABET)
    assert set(random_string(100, "xy")) == {"x", "y"}
    assert random_string(0, "") == ""
    with pytest.raises(ValueError):
        random_string(3, "")
    with pytest.raises(ValueError):
        random_string(-1)


def test_random_string_beyond_one_byte_alphabets() -> None:
    assert set(random_string(200, "é€")) == {"é", "€"}  # not byte-mappable: drawn per character
    long_alphabet = "".join(chr(0x100 + i) for i in range(300))
    assert set(random_string(50, long_alphabet)) <= set(long_alphabet)


def test_a_forked_child_never_reuses_the_parents_random_bytes() -> None:
    """Server workers are forked from a process that has already drawn ids: a pool copied into
    the child would make both mint the same ids and tokens."""
    random_id()  # the pool now holds unread bytes
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.write(write_end, random_id(64).encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    child = os.read(read_end, 64).decode()
    os.close(read_end)
    assert len(child) == 64 and child != random_id(64)


def test_random_string_is_unbiased() -> None:
    """A plain `byte % 36` would make the first 4 characters ~14% likelier (about 6 sigma here)."""
    counts = Counter(random_string(72_000, ID_ALPHABET))
    expected, sigma = 2000, (72_000 * (1 / 36) * (35 / 36)) ** 0.5
    assert set(counts) == set(ID_ALPHABET)
    assert all(abs(n - expected) < 5 * sigma for n in counts.values()), counts


@pytest.mark.parametrize("value", ["abc123def456ghi", "a", "ABC_def-1", "ünïcode", "x" * 300])
def test_valid_record_ids(value: str) -> None:
    assert is_valid_record_id(value)
    assert record_id_problem(value) is None


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "validation_required"),
        ("a.b", "validation_forbidden_pk_character"),
        ("../etc", "validation_forbidden_pk_character"),
        ("a b", "validation_forbidden_pk_character"),
        ("a\x00", "validation_forbidden_pk_character"),
        ("a:b", "validation_forbidden_pk_character"),
        ("con", "validation_reserved_pk"),
        ("Lpt9", "validation_reserved_pk"),
    ],
)
def test_invalid_record_ids(value: str, code: str) -> None:
    assert not is_valid_record_id(value)
    problem = record_id_problem(value)
    assert problem is not None and problem.code == code


def test_reserved_only_as_whole_id() -> None:
    assert is_valid_record_id("console") and is_valid_record_id("com10")
    problem = record_id_problem("nul")
    assert problem is not None and problem.params == {"reserved": "NUL"}
    problem = record_id_problem("a/b")
    assert problem is not None and problem.params == {"ch": "/"}


@pytest.mark.parametrize(
    "pattern",
    [
        "[a-z0-9]{15}",
        "[a-zA-Z0-9]{50}",
        "[A-Z]{3}-[0-9]{4}",
        r"\d{4}",
        r"\w{10}",
        r"x[ab]{2,4}",
        "literal",
        "(ab|cd|ef)",
        "(?:ab)+",
        "(?P<n>x)y?",
        "a*b+c?",
        "a{2,}",
        ".{8}",
        "[]a-]{5}",
        "[-a]{5}",
        r"[\d_]{6}",
        r"\.\-\\\[",
        r"\x41",
        "a{",
    ],
)
def test_random_by_regex_output_matches(pattern: str) -> None:
    compiled = re.compile(pattern)
    for _ in range(30):
        assert compiled.fullmatch(random_string_by_regex(pattern)), pattern


def test_random_by_regex_go_only_syntax() -> None:
    assert random_string_by_regex("a{,3}") == "a{,3}"  # not a quantifier in Go's syntax: literal text
    assert random_string_by_regex(r"\x{42}\x43") == "BC"
    assert re.fullmatch("[A-Z0-9]{6}", random_string_by_regex("[[:upper:][:digit:]]{6}"))


def test_random_by_regex_explores_the_range() -> None:
    lengths = {len(random_string_by_regex("a{2,4}")) for _ in range(200)}
    assert lengths == {2, 3, 4}
    assert {random_string_by_regex("(x|y)") for _ in range(100)} == {"x", "y"}
    assert {random_string_by_regex("[ab]") for _ in range(100)} == {"a", "b"}


def test_unbounded_repetition_is_capped_like_pocketbase() -> None:
    assert max(len(random_string_by_regex("a*")) for _ in range(200)) <= 6
    assert len(random_string_by_regex("a{9,}")) == 9


@pytest.mark.parametrize(
    "pattern",
    [
        "",  # empty match: PocketBase rejects these
        "a|",
        "()",
        "^a",  # anchors: PocketBase rejects them
        "a$",
        r"\bx",
        "[^a]",  # negated classes, negated escapes and flags: deliberately unsupported
        r"\D",
        r"\pL",
        "(?i)a",
        "*a",  # malformed
        "a**",
        "a{2}{3}",
        "[z-a]",
        "a{5,1}",
        "a{1001}",
        "(a",
        "a)",
        "[a",
        "\\",
        "[[:nope:]]",
    ],
)
def test_random_by_regex_rejects(pattern: str) -> None:
    with pytest.raises(ValueError):
        random_string_by_regex(pattern)


@given(st.text(alphabet="abcXYZ019-_", min_size=1, max_size=10), st.integers(0, 5))
def test_random_by_regex_literals_and_counts(text: str, n: int) -> None:
    escaped = re.escape(text)
    pattern = f"(?:{escaped}){{{n}}}"
    assert random_string_by_regex(pattern) == text * n
