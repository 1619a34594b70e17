"""Identifiers: record ids, collection/field ids as PocketBase derives them, random strings.

Collection and field ids are derived (not random) so that a schema created here and one created
by PocketBase from the same definition get the same ids, which keeps imported schemas and SDK
snapshots comparable.
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import string
import threading
import zlib
from dataclasses import dataclass
from typing import NamedTuple

ID_ALPHABET = string.ascii_lowercase + string.digits
DEFAULT_ALPHABET = string.ascii_letters + string.digits
DEFAULT_RECORD_ID_PATTERN = "^[a-z0-9]+$"
DEFAULT_RECORD_ID_AUTOGENERATE = "[a-z0-9]{15}"

# Primary keys double as file and directory names, so PocketBase refuses characters and names that
# are unsafe on common filesystems whenever a collection relaxes the default id pattern.
FORBIDDEN_PK_CHARACTERS = (
    *(".", "/", "\\", "|", '"', "'", "`", "<", ">", ":", "?", "*", "%", "$"),
    *("\0", "\t", "\n", "\r", " "),
)
RESERVED_PKS = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{i}" for i in range(1, 10)] + [f"LPT{i}" for i in range(1, 10)]
)

__all__ = [
    "DEFAULT_ALPHABET",
    "DEFAULT_RECORD_ID_AUTOGENERATE",
    "DEFAULT_RECORD_ID_PATTERN",
    "FORBIDDEN_PK_CHARACTERS",
    "ID_ALPHABET",
    "RESERVED_PKS",
    "IdProblem",
    "collection_id",
    "field_id",
    "is_valid_record_id",
    "random_id",
    "random_string",
    "random_string_by_regex",
    "record_id_problem",
]


class _RandomPool:
    """OS CSPRNG bytes read 4 KiB at a time: one `getrandom` call per ~200 record ids, not one each.

    Every byte is handed out once (under a lock, as threads draw ids too), and a forked child
    starts empty: granian forks its workers from a process that may already hold a filled pool,
    and two workers drawing the same bytes would mint the same ids and tokens.
    """

    CHUNK = 4096

    def __init__(self) -> None:
        self._buf = bytearray()
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._buf = bytearray()
        self._lock = threading.Lock()

    def take(self, n: int) -> bytes:
        with self._lock:
            if len(self._buf) < n:
                self._buf += os.urandom(max(self.CHUNK, n))
            out = bytes(self._buf[:n])
            del self._buf[:n]
        return out


_pool = _RandomPool()


def random_string(length: int, alphabet: str = DEFAULT_ALPHABET) -> str:
    """Uniform over `alphabet`, from the OS CSPRNG.

    Pooled `os.urandom` bytes with rejection sampling done by `bytes.translate` (bytes that would
    bias the modulo are deleted, the rest mapped to characters) instead of `secrets.choice` per
    character: a 15-character record id cost ~80 us that way (15 urandom syscalls), now ~1 us.
    """
    if length < 0:
        raise ValueError("length must not be negative")
    if length and not alphabet:
        raise ValueError("alphabet must not be empty")
    if length == 0:
        return ""
    tables = _translation(alphabet)
    if tables is None:  # characters beyond one byte, or more than 256 of them
        return "".join(secrets.choice(alphabet) for _ in range(length))
    table, biased = tables
    out = ""
    while len(out) < length:
        out += _pool.take(length - len(out) + 8).translate(table, biased).decode("latin-1")
    return out[:length]


@functools.lru_cache(maxsize=32)
def _translation(alphabet: str) -> tuple[bytes, bytes] | None:
    """(byte -> character table, the bytes at or above the largest multiple of the alphabet's size)."""
    size = len(alphabet)
    if size > 256 or max(map(ord, alphabet)) > 255:
        return None
    limit = 256 - 256 % size
    return bytes(ord(alphabet[b % size]) for b in range(256)), bytes(range(limit, 256))


def random_id(length: int = 15) -> str:
    return random_string(length, ID_ALPHABET)


def collection_id(type_: str, name: str) -> str:
    return "pbc_" + str(zlib.crc32((type_ + name).encode()))


def field_id(type_: str, name: str) -> str:
    return type_ + str(zlib.crc32(name.encode()))


class IdProblem(NamedTuple):
    """A PocketBase validation error for a record id: code, message and template params."""

    code: str
    message: str
    params: dict[str, str]


def record_id_problem(value: str) -> IdProblem | None:
    """Why `value` cannot be a primary key, independent of the id field's own pattern/length.

    These are the checks PocketBase adds on top of a custom id pattern; with the default
    `^[a-z0-9]+$` pattern they can never fail, so applying them unconditionally is safe.
    """
    if not value:
        return IdProblem("validation_required", "Cannot be blank.", {})
    for ch in FORBIDDEN_PK_CHARACTERS:
        if ch in value:
            return IdProblem(
                "validation_forbidden_pk_character", f"'{ch}' is not a valid primary key character.", {"ch": ch}
            )
    if value.upper() in RESERVED_PKS:
        reserved = value.upper()
        return IdProblem(
            "validation_reserved_pk",
            f"The primary key '{reserved}' is reserved and cannot be used.",
            {"reserved": reserved},
        )
    return None


def is_valid_record_id(value: str) -> bool:
    """Whether a client-chosen id is safe as a primary key (see `record_id_problem`)."""
    return isinstance(value, str) and record_id_problem(value) is None


# --- random strings from a regex --------------------------------------------------------------
#
# autogeneratePattern values are regexes that PocketBase turns into random values. Rather than
# enumerating a real regex engine's syntax tree, a small parser covers the same operators
# PocketBase's generator handles (literals, classes, `.`, groups, `|`, `?`, `*`, `+`, `{n,m}`) and
# rejects the ones it rejects (anchors, negated classes, flags), so a pattern that saves here also
# saves there.

_MAX_REPEAT = 1000  # the largest count Go's regexp parser accepts
_UNBOUNDED_REPEAT = 6  # how far `*`, `+` and `{n,}` go, as in PocketBase
_BRACES = re.compile(r"\{(\d+)(?:(,)(\d*))?\}", re.ASCII)
_ANY_CHAR = ((ord("A"), ord("Z")), (ord("a"), ord("z")), (ord("0"), ord("9")))
_DIGIT = ((ord("0"), ord("9")),)
_WORD = ((ord("0"), ord("9")), (ord("A"), ord("Z")), (ord("_"), ord("_")), (ord("a"), ord("z")))
_SPACE = ((9, 10), (12, 13), (32, 32))
_CLASS_ESCAPES = {"d": _DIGIT, "w": _WORD, "s": _SPACE}
_CHAR_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}
_POSIX = {
    "alnum": ((48, 57), (65, 90), (97, 122)),
    "alpha": ((65, 90), (97, 122)),
    "digit": _DIGIT,
    "lower": ((97, 122),),
    "upper": ((65, 90),),
    "xdigit": ((48, 57), (65, 70), (97, 102)),
    "word": _WORD,
    "space": ((9, 13), (32, 32)),
}

Ranges = tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class _Lit:
    text: str


@dataclass(frozen=True, slots=True)
class _Set:
    ranges: Ranges


@dataclass(frozen=True, slots=True)
class _Seq:
    items: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Alt:
    options: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Rep:
    node: _Node
    lo: int
    hi: int


_Node = _Lit | _Set | _Seq | _Alt | _Rep


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.src = pattern
        self.pos = 0

    def fail(self, why: str) -> ValueError:
        return ValueError(f"unsupported or invalid pattern {self.src!r}: {why}")

    def peek(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.src[i] if i < len(self.src) else ""

    def parse(self) -> _Node:
        node = self.alternation()
        if self.pos < len(self.src):
            raise self.fail("unexpected )")
        return node

    def alternation(self) -> _Node:
        options = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            options.append(self.sequence())
        return options[0] if len(options) == 1 else _Alt(tuple(options))

    def sequence(self) -> _Node:
        items: list[_Node] = []
        while self.peek() not in ("", "|", ")"):
            atom = self.atom()
            items.append(self.quantified(atom))
        if not items:  # PocketBase's generator has no case for an empty match (``, `a|`, `()`)
            raise self.fail("empty expression")
        return items[0] if len(items) == 1 else _Seq(tuple(items))

    def quantified(self, atom: _Node) -> _Node:
        bounds = self.quantifier()
        if bounds is None:
            return atom
        if self.peek() == "?":  # lazy: irrelevant when generating
            self.pos += 1
        if self.quantifier() is not None:
            raise self.fail("nested repetition operator")
        return _Rep(atom, *bounds)

    def quantifier(self) -> tuple[int, int] | None:
        ch = self.peek()
        simple = {"*": (0, -1), "+": (1, -1), "?": (0, 1)}
        if ch in simple:
            self.pos += 1
            lo, hi = simple[ch]
        elif ch == "{" and (braces := self.braces()) is not None:
            lo, hi = braces
        else:
            return None
        if hi < 0:
            hi = max(lo, _UNBOUNDED_REPEAT)
        return lo, hi

    def braces(self) -> tuple[int, int] | None:
        """`{n}`, `{n,}` or `{n,m}` at the cursor; anything else is a literal `{` (as in Go)."""
        m = _BRACES.match(self.src, self.pos)
        if m is None:
            return None
        body = m.group(0)
        lo = int(m.group(1))
        hi = (int(m.group(3)) if m.group(3) else -1) if m.group(2) else lo
        if lo > _MAX_REPEAT or hi > _MAX_REPEAT or (hi >= 0 and hi < lo):
            raise self.fail(f"invalid repeat count {body}")
        self.pos = m.end()
        return lo, hi

    def atom(self) -> _Node:
        ch = self.peek()
        if ch in ("*", "+", "?") or (ch == "{" and self.braces() is not None):
            raise self.fail("missing argument to repetition operator")
        if ch in ("^", "$"):
            raise self.fail("anchors are not supported")
        self.pos += 1
        if ch == "(":
            return self.group()
        if ch == "[":
            return _Set(self.char_class())
        if ch == ".":
            return _Set(_ANY_CHAR)
        if ch == "\\":
            esc = self.escape()
            return _Set(esc) if isinstance(esc, tuple) else _Lit(esc)
        return _Lit(ch)

    def group(self) -> _Node:
        if self.peek() == "?":
            if self.src.startswith("?:", self.pos):
                self.pos += 2
            elif self.src.startswith(("?P<", "?<"), self.pos):
                close = self.src.find(">", self.pos)
                if close < 0:
                    raise self.fail("invalid named capture")
                self.pos = close + 1
            else:
                raise self.fail("flags are not supported")
        node = self.alternation()
        if self.peek() != ")":
            raise self.fail("missing )")
        self.pos += 1
        return node

    def escape(self) -> str | Ranges:
        ch = self.peek()
        if not ch:
            raise self.fail("trailing backslash")
        self.pos += 1
        if ch in _CLASS_ESCAPES:
            return _CLASS_ESCAPES[ch]
        if ch in _CHAR_ESCAPES:
            return _CHAR_ESCAPES[ch]
        if ch == "x":
            return self.hex_escape()
        if ch.isascii() and ch.isalnum():
            raise self.fail(f"escape \\{ch} is not supported")
        return ch

    def hex_escape(self) -> str:
        if self.peek() == "{":
            end = self.src.find("}", self.pos)
            digits = self.src[self.pos + 1 : end] if end > 0 else ""
            self.pos = end + 1
        else:
            digits = self.src[self.pos : self.pos + 2]
            self.pos += 2
        try:
            return chr(int(digits, 16))
        except ValueError:
            raise self.fail("invalid hex escape") from None

    def char_class(self) -> Ranges:
        if self.peek() == "^":
            raise self.fail("negated classes are not supported")
        ranges: list[tuple[int, int]] = []
        first = True
        while True:
            ch = self.peek()
            if not ch:
                raise self.fail("missing ]")
            if ch == "]" and not first:
                self.pos += 1
                return tuple(ranges)
            first = False
            if self.src.startswith("[:", self.pos):
                ranges.extend(self.posix_class())
                continue
            lo = self.class_char()
            if isinstance(lo, tuple):
                ranges.extend(lo)
                continue
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.pos += 1
                hi = self.class_char()
                if isinstance(hi, tuple) or ord(hi) < ord(lo):
                    raise self.fail(f"invalid range {lo}-{hi}")
                ranges.append((ord(lo), ord(hi)))
            else:
                ranges.append((ord(lo), ord(lo)))

    def class_char(self) -> str | Ranges:
        ch = self.peek()
        self.pos += 1
        return self.escape() if ch == "\\" else ch

    def posix_class(self) -> Ranges:
        end = self.src.find(":]", self.pos + 2)
        name = self.src[self.pos + 2 : end] if end > 0 else ""
        if name not in _POSIX:
            raise self.fail(f"unsupported class [:{name}:]")
        self.pos = end + 2
        return _POSIX[name]


def _pick(ranges: Ranges) -> str:
    n = secrets.randbelow(sum(hi - lo + 1 for lo, hi in ranges))
    for lo, hi in ranges:
        size = hi - lo + 1
        if n < size:
            return chr(lo + n)
        n -= size
    raise AssertionError("unreachable")


def _generate(node: _Node, out: list[str]) -> None:
    if isinstance(node, _Lit):
        out.append(node.text)
    elif isinstance(node, _Set):
        out.append(_pick(node.ranges))
    elif isinstance(node, _Seq):
        for item in node.items:
            _generate(item, out)
    elif isinstance(node, _Alt):
        _generate(node.options[secrets.randbelow(len(node.options))], out)
    else:
        for _ in range(node.lo + secrets.randbelow(node.hi - node.lo + 1)):
            _generate(node.node, out)


def random_string_by_regex(pattern: str) -> str:
    """A random string that fully matches `pattern` (raises ValueError for unsupported syntax).

    Unbounded repetitions (`*`, `+`, `{n,}`) stop at 6 (or n when larger), as PocketBase's do, so
    secure values need an explicit count such as `[a-z0-9]{30}`.
    """
    out: list[str] = []
    _generate(_Parser(pattern).parse(), out)
    return "".join(out)
