"""Stored file names: PocketBase's scheme (examples probed against PocketBase 0.40.6) and the
properties every name must have whatever a client calls its file."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from satchel.core.files.naming import (
    MAX_NAME_LENGTH,
    RANDOM_LENGTH,
    extract_extension,
    snakecase,
    stored_name,
)
from satchel.ports.blobs import check_key

RANDOM = rf"[a-z0-9]{{{RANDOM_LENGTH}}}"


@pytest.mark.parametrize(
    ("original", "detected", "pattern"),
    [
        ("Hello World.TXT", "", rf"hello_world_{RANDOM}\.TXT"),
        ("a.txt", "", rf"a{RANDOM}_{RANDOM}\.txt"),  # too short: a random part is added to the base
        ("b.png", "", rf"b{RANDOM}_{RANDOM}\.png"),
        ("a.b.c.d", "", rf"a_b_{RANDOM}\.c\.d"),  # double extensions are kept whole
        ("Pass Wd.tar.GZ", "", rf"pass_wd_{RANDOM}\.tar\.GZ"),
        ("ñandú.txt", "", rf"and_{RANDOM}\.txt"),  # only ASCII letters and digits make words
        ("noext", ".png", rf"noext_{RANDOM}\.png"),  # no extension: the sniffed type's
        ("noext", "", rf"noext_{RANDOM}"),
        ("myTestDB.json", "", rf"my_test_db_{RANDOM}\.json"),
        ("...hidden", "", rf"{RANDOM}_{RANDOM}\.hidden"),  # "..hidden" is the extension, cleaned
        ("x.tx*t#", "", rf"x{RANDOM}_{RANDOM}\.txt"),  # `*` and `#` dropped (PocketBase keeps them)
    ],
)
def test_examples(original: str, detected: str, pattern: str) -> None:
    name = stored_name(original, detected)
    assert re.fullmatch(pattern, name), name


def test_every_call_draws_a_new_random_part() -> None:
    assert len({stored_name("report.pdf") for _ in range(50)}) == 50


def test_extension_and_snakecase_helpers() -> None:
    assert extract_extension("test.txt") == ".txt"
    assert extract_extension("test.tar.gz") == ".tar.gz"
    assert extract_extension("test.a.tar.gz") == ".tar.gz"
    assert extract_extension("test") == ""
    assert snakecase("myTestDB") == "my_test_db"
    assert snakecase("ABC def_ghi--JKL") == "abc_def_ghi_jkl"


def test_long_names_are_bounded_from_the_end_and_the_extension_cut_to_20() -> None:
    name = stored_name("x" * 500 + ".txt")
    assert re.fullmatch(rf"x{{100}}_{RANDOM}\.txt", name)
    name = stored_name("file." + "e" * 40)
    assert name.endswith("." + "e" * 20) and len(name) <= MAX_NAME_LENGTH


@given(st.text(max_size=400), st.sampled_from(["", ".png", ".tar.gz", ".x*#"]))
def test_any_original_gives_a_safe_bounded_key_part(original: str, detected: str) -> None:
    name = stored_name(original, detected)
    assert check_key(f"collection/record/{name}")
    assert "/" not in name and len(name) <= MAX_NAME_LENGTH
    assert re.search(rf"_{RANDOM}(\.|$)", name)


@given(
    st.text(alphabet=st.characters(codec="ascii", categories=("L", "N")), min_size=3, max_size=50),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=10),
)
def test_a_plain_extension_is_kept_as_sent(base: str, extension: str) -> None:
    name = stored_name(f"{base}.{extension}")
    assert name.endswith(f".{extension}")
    assert name.startswith(snakecase(base)[:100])
