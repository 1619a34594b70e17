"""Realtime clients and their topics, with PocketBase's topic grammar.

A topic is `collection/*`, `collection/recordId`, the deprecated bare `collection`, or any custom
name, optionally followed by `?options=<url-encoded JSON>` carrying `query` and `headers` that the
rules and the payload see. The topic string as sent is the SSE event name, so two topics that differ
only in their options are two subscriptions. Options are read the way PocketBase's Go code reads
them (URL parsing, case-insensitive JSON keys, values cast to strings): a client sending the same
topic to either server gets the same rule inputs.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from satchel.core.collections.model import Collection
from satchel.core.records.model import Record

OPTIONS_PARAM = "options"

CLIENT_QUEUE = 1000
"""Messages a client may have pending before it is considered stuck and dropped."""


@dataclass(frozen=True, slots=True)
class SubscriptionOptions:
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    """Names in `@request.headers` form (`X-Token` -> `x_token`)."""


# ------------------------------------------------------------------ options


def topic_target(topic: str) -> str:
    """The part before the options: what a topic is about (`posts/*`, `posts/abc`, `chat`)."""
    return topic.split("?", 1)[0]


def parse_options(topic: str) -> SubscriptionOptions:
    """The options of one topic; anything malformed silently yields empty options, as in PocketBase."""
    raw_query = _url_raw_query(topic)
    raw = _query_get(raw_query, OPTIONS_PARAM) if raw_query else None
    if not raw:
        return SubscriptionOptions()
    query, headers = _decode_options(raw)
    return SubscriptionOptions(
        query={str(k): _go_string(v) for k, v in query.items()},
        headers={snakecase(str(k)): _go_string(v) for k, v in headers.items()},
    )


_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _split_scheme(rest: str) -> tuple[str, str] | None:
    """(scheme, remainder) as Go's `getScheme` finds them; None for a leading colon."""
    for i, c in enumerate(rest):
        if c.isascii() and c.isalpha():
            continue
        if c.isascii() and (c.isdigit() or c in "+-."):
            if i == 0:
                break
            continue
        if c == ":":
            return None if i == 0 else (rest[:i], rest[i + 1 :])
        break
    return "", rest


def _url_raw_query(topic: str) -> str | None:
    """The raw query of `topic` read as a URL reference, or None where Go's `url.Parse` fails."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in topic):
        return None
    rest, _, fragment = topic.partition("#")
    split = None if _ESCAPE.search(fragment) else _split_scheme(rest)
    if split is None:
        return None
    scheme, rest = split
    if rest.endswith("?") and rest.count("?") == 1:
        rest, query = rest[:-1], ""
    else:
        rest, _, query = rest.partition("?")
    if not rest.startswith("/"):
        if scheme:
            return query  # opaque reference: the path is not inspected
        if ":" in rest.split("/", 1)[0]:
            return None  # "first path segment in URL cannot contain colon"
    return None if _ESCAPE.search(rest) else query


def _unescape_query(text: str) -> str | None:
    if _ESCAPE.search(text):
        return None
    raw = bytearray()
    i = 0
    encoded = text.encode()
    while i < len(encoded):
        b = encoded[i]
        if b == 0x25:  # %
            raw.append(int(encoded[i + 1 : i + 3], 16))
            i += 3
            continue
        raw.append(0x20 if b == 0x2B else b)  # + is a space in a query
        i += 1
    return raw.decode("utf-8", "surrogateescape")  # invalid bytes stay detectable by the JSON reader


def _query_get(raw_query: str, name: str) -> str | None:
    """First value of `name`, skipping pairs that Go's query parser rejects."""
    for pair in raw_query.split("&"):
        if not pair or ";" in pair:
            continue
        raw_key, _, raw_value = pair.partition("=")
        key = _unescape_query(raw_key)
        value = _unescape_query(raw_value)
        if key is None or value is None:
            continue
        if key == name:
            return value
    return None


class _Stop(Exception):
    """Decoding stopped: what was decoded before the error is kept, as Go's json/v2 leaves it."""


_WS = " \t\r\n"
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class _Reader:
    """A strict JSON reader that decodes step by step, so a late error keeps the earlier members."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        while self.pos < len(self.text) and self.text[self.pos] in _WS:
            self.pos += 1
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise _Stop
        self.pos += 1

    def members(self) -> Iterator[str]:
        """Yield the names of an object's members; the caller reads each value. Repeated names stop."""
        self.expect("{")
        seen: set[str] = set()
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            name = self.string()
            if name in seen:
                raise _Stop
            seen.add(name)
            self.expect(":")
            yield name
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("}")
            return

    def string(self) -> str:
        self.expect('"')
        out: list[str] = []
        text = self.text
        while self.pos < len(text):
            c = text[self.pos]
            self.pos += 1
            if c == '"':
                return "".join(out)
            if c == "\\":
                out.append(self._escape())
            elif ord(c) < 0x20 or 0xD800 <= ord(c) <= 0xDFFF:
                raise _Stop  # control character or invalid UTF-8
            else:
                out.append(c)
        raise _Stop

    def _escape(self) -> str:
        c = self.text[self.pos : self.pos + 1]
        self.pos += 1
        if c in _ESCAPES:
            return _ESCAPES[c]
        if c != "u":
            raise _Stop
        code = self._hex4()
        if 0xD800 <= code <= 0xDBFF and self.text[self.pos : self.pos + 2] == "\\u":
            self.pos += 2
            low = self._hex4()
            if 0xDC00 <= low <= 0xDFFF:
                return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00))
            raise _Stop
        if 0xD800 <= code <= 0xDFFF:
            raise _Stop
        return chr(code)

    def _hex4(self) -> int:
        digits = self.text[self.pos : self.pos + 4]
        self.pos += 4
        if len(digits) != 4 or any(d not in "0123456789abcdefABCDEF" for d in digits):
            raise _Stop
        return int(digits, 16)

    def value(self) -> Any:
        c = self.peek()
        if c == "{":
            obj: dict[str, Any] = {}
            for name in self.members():
                obj[name] = self.value()
            return obj
        if c == "[":
            self.pos += 1
            items: list[Any] = []
            if self.peek() == "]":
                self.pos += 1
                return items
            while True:
                items.append(self.value())
                if self.peek() == ",":
                    self.pos += 1
                    continue
                self.expect("]")
                return items
        if c == '"':
            return self.string()
        for word, literal in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return literal
        m = _NUMBER.match(self.text, self.pos)
        if m is None:
            raise _Stop
        self.pos = m.end()
        number = float(m.group())
        if number in (float("inf"), float("-inf")):
            raise _Stop  # out of float64 range
        return number


def _decode_options(raw: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """`{"query": {...}, "headers": {...}}` as PocketBase 0.40 decodes it (Go's encoding/json/v2).

    Names match exactly; decoding stops at the first error (bad syntax, a repeated name, a member of
    the wrong type, trailing data), keeping whatever was decoded before it.
    """
    maps: dict[str, dict[str, Any]] = {"query": {}, "headers": {}}
    reader = _Reader(raw)
    try:
        if reader.peek() != "{":
            raise _Stop
        for name in reader.members():
            target = maps.get(name)
            if target is None:
                reader.value()
            elif reader.peek() == "{":
                for key in reader.members():
                    target[key] = reader.value()
            elif reader.text.startswith("null", reader.pos):
                reader.pos += 4
                target.clear()
            else:
                raise _Stop  # not an object: a type error ends decoding
    except _Stop:
        pass
    return maps["query"], maps["headers"]


def _go_string(value: Any) -> str:
    """A JSON value as PocketBase's `cast.ToString` renders it (objects and arrays become "")."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ""  # out of float64 range: Go fails to decode the number
        text = format(Decimal(repr(value)), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    return ""


_SNAKE_SPLIT = re.compile(r"[^0-9A-Za-z]+")


def snakecase(name: str) -> str:
    """PocketBase's header-name normalisation: `X-Token` -> `x_token`, `myHeader` -> `my_header`."""
    out: list[str] = []
    for word in _SNAKE_SPLIT.split(name):
        if not word:
            continue
        if out:
            out.append("_")
        for i, c in enumerate(word):
            if c.isupper() and i > 0 and not word[i - 1].isupper():
                out.append("_")
            out.append(c)
    return "".join(out).lower()


# ------------------------------------------------------------------ record topics


def record_targets(collection: Collection, record_id: str) -> dict[str, bool]:
    """Topic targets a record event is delivered to, each with whether it is a list subscription."""
    return {
        f"{collection.name}/{record_id}": False,
        f"{collection.id}/{record_id}": False,
        f"{collection.name}/*": True,
        f"{collection.id}/*": True,
        collection.name: True,  # deprecated form of `name/*`
        collection.id: True,
    }


# ------------------------------------------------------------------ clients


class Message(NamedTuple):
    """One message for one topic; the same object is queued for every client that receives it."""

    topic: str
    data: bytes
    frames: dict[str, bytes]
    """Encodings of this message by wire format, filled by the first stream that writes it and reused
    by every other stream (the SSE frame minus its per-client `id:` line, for instance)."""


def message(topic: str, data: bytes) -> Message:
    return Message(topic, data, {})


class Outbox:
    """A client's pending messages: a bounded FIFO read by one stream.

    The subset of `asyncio.Queue` the stream and tests use, plus `take_all`, so a stream that wakes
    up writes everything pending at once, and `wait`, which costs one future rather than a task.
    `None` is the end marker; it is always accepted.
    """

    def __init__(self, maxsize: int = CLIENT_QUEUE) -> None:
        self.maxsize = maxsize
        self._items: deque[Message | None] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: Message | None) -> None:
        if item is not None and len(self._items) >= self.maxsize:
            raise asyncio.QueueFull
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def get_nowait(self) -> Message | None:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    async def get(self) -> Message | None:
        while not self._items:
            await self.wait()
        return self._items.popleft()

    def take_all(self) -> list[Message | None]:
        items = list(self._items)
        self._items.clear()
        return items

    def clear(self) -> None:
        self._items.clear()

    async def wait(self) -> None:
        """Until something is pending (at once if something already is)."""
        if self._items:
            return
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._waiter = None


@dataclass(eq=False)
class Client:
    """One SSE connection: its subscriptions, the auth bound by its last subscribe call, its outbox."""

    id: str
    ip: str = ""
    auth: Record | None = None
    subscriptions: dict[str, SubscriptionOptions] = field(default_factory=dict)
    queue: Outbox = field(default_factory=Outbox)
    discarded: bool = False
    _by_target: dict[str, list[tuple[str, SubscriptionOptions]]] = field(default_factory=dict, init=False, repr=False)

    def subscribe(self, topics: list[str]) -> None:
        for topic in topics:
            if topic:
                self.subscriptions[topic] = parse_options(topic)
        self._index()

    def unsubscribe(self) -> None:
        self.subscriptions.clear()
        self._index()

    def _index(self) -> None:
        self._by_target = {}
        for topic, options in self.subscriptions.items():
            self._by_target.setdefault(topic_target(topic), []).append((topic, options))

    def targets(self) -> set[str]:
        return set(self._by_target)

    def topics_for(self, target: str) -> list[tuple[str, SubscriptionOptions]]:
        """The subscribed topics about `target`, with their options (computed at subscribe time)."""
        return self._by_target.get(target, [])

    @property
    def auth_key(self) -> tuple[str, str] | None:
        auth = self.auth
        return None if auth is None else (auth.collection_id, auth.id)

    def send(self, name: str, data: bytes) -> bool:
        """Queue a message without waiting; False when the client is too far behind."""
        return self.push(message(name, data))

    def push(self, item: Message) -> bool:
        """Queue a (possibly shared) message without waiting; False when the client is too far behind."""
        if self.discarded:
            return True
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            return False
        return True

    def discard(self) -> None:
        """Stop the stream: pending messages are dropped and the stream sees the end marker next."""
        if self.discarded:
            return
        self.discarded = True
        self.queue.clear()
        self.queue.put_nowait(None)

    def is_auth(self, collection_id: str, record_id: str) -> bool:
        return self.auth is not None and self.auth.collection_id == collection_id and self.auth.id == record_id
