"""The name an uploaded file is stored under, in PocketBase's scheme.

`<snake_cased base>_<10 random [a-z0-9]><extension>`: clients recognise the original name, the
random part makes names unguessable (unprotected files are served to anyone who knows one) and
keeps two uploads of `photo.jpg` apart. Every name this module returns is a valid blob key part
(`satchel.ports.blobs.KEY_PART`), so it can never address anything outside its record's folder.

One deliberate difference: PocketBase keeps `*` and `#` in extensions; they are dropped here
because blob keys (and URLs, for `#`) do not carry them safely.
"""

from __future__ import annotations

import re
import secrets

RANDOM_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
RANDOM_LENGTH = 10
MAX_SOURCE_BYTES = 300
"""Only the end of a longer original name is looked at (PocketBase cuts before any parsing)."""
MIN_BASE_LENGTH = 3
MAX_BASE_LENGTH = 100
MAX_EXTENSION_LENGTH = 20
MAX_NAME_LENGTH = MAX_BASE_LENGTH + 1 + RANDOM_LENGTH + 1 + MAX_EXTENSION_LENGTH

_EXTENSION_DROP = re.compile(r"[^A-Za-z0-9_.+=-]+", re.ASCII)
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+", re.ASCII)


def random_part(length: int = RANDOM_LENGTH) -> str:
    return "".join(secrets.choice(RANDOM_ALPHABET) for _ in range(length))


def base_name(filename: str) -> str:
    """The last path segment, as Go's multipart reader hands PocketBase a client's file name."""
    return filename.rsplit("/", 1)[-1]


def extract_extension(name: str) -> str:
    """The extension with its dot, double ones included (`a.tar.gz` -> `.tar.gz`); "" when none."""
    last = name.rfind(".")
    if last < 0:
        return ""
    second = name.rfind(".", 0, last)
    return name[second:] if second >= 0 else name[last:]


def snakecase(text: str) -> str:
    """PocketBase's `inflector.Snakecase`: ASCII words joined by `_`, camelCase split, lower-cased."""
    words: list[str] = []
    for word in _WORD_SPLIT.split(text):
        if not word:
            continue
        out = []
        for i, ch in enumerate(word):
            if ch.isupper() and i > 0 and not word[i - 1].isupper():
                out.append("_")
            out.append(ch)
        words.append("".join(out))
    return "_".join(words).lower()


def clean_extension(extension: str) -> str:
    """`.` + the allowed characters of `extension`, outer dots trimmed; "." when nothing is left."""
    return "." + _EXTENSION_DROP.sub("", extension).strip(".")


def stored_name(original: str, detected_extension: str = "") -> str:
    """A fresh stored name for a file the client called `original`.

    `detected_extension` (with its dot, e.g. ".png", or "") stands in when the original name has
    no usable extension; PocketBase takes it from the sniffed content type.
    """
    raw = original.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_SOURCE_BYTES:
        original = raw[-MAX_SOURCE_BYTES:].decode("utf-8", "ignore")
    extension = extract_extension(original)
    clean = clean_extension(extension)
    if clean == ".":
        clean = clean_extension(detected_extension) if detected_extension else ""
        if clean == ".":
            clean = ""
    if len(clean) > MAX_EXTENSION_LENGTH:
        clean = "." + clean[-MAX_EXTENSION_LENGTH:].strip(".")
    stem = original[: len(original) - len(extension)] if extension else original
    base = snakecase(stem.strip("."))
    if len(base) < MIN_BASE_LENGTH:
        base += random_part()
    elif len(base) > MAX_BASE_LENGTH:
        base = base[:MAX_BASE_LENGTH]
    return f"{base}_{random_part()}{clean}"
