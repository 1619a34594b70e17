"""Tokenizer for PocketBase's filter language, faithful to fexpr's scanner (which PocketBase uses).

Accept/reject parity with PocketBase matters more than elegance here, because a filter or rule
that one server accepts and the other refuses is a compatibility bug. So the scanner keeps
fexpr's less obvious behaviours on purpose:

- Only ASCII is allowed outside quoted text and comments; whitespace is just space, tab and `\\n`.
- A group's extent is found first by counting parentheses while skipping quoted text (comments
  are *not* skipped at that stage), and only then is its inside tokenized on its own, so a `)`
  inside a comment inside a group still closes the group.
- In quoted text a backslash always takes the next character with it (so it never ends the
  text); only `\\n`, `\\r`, `\\t`, `\\\\`, `\\'` and `\\"` are decoded, any other pair is kept
  as written (PocketBase 0.40's fexpr, whose rules differ from older fexpr releases).
- NUL ends the whole filter where a new token would start at the outermost level, is swallowed
  when it ends an identifier, number, operator, whitespace run or comment, and is an error
  inside text, groups and function arguments (Go's scanner reads NUL as its end marker).
- Function calls need the `(` right after the name, take identifiers, numbers, texts or nested
  calls (three levels of calls in all), and allow one trailing comma.

Everything is a linear scan; the regular expressions are single character classes (or one
escape pair), so there is no backtracking, and nested group extents are remembered, not rescanned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from satchel.tools.filter.ast import SIGN_OPS
from satchel.tools.filter.errors import FilterSyntaxError

Kind = Literal["ident", "number", "text", "sign", "join", "lparen", "rparen", "func", "comma"]

MAX_DEPTH = 20
# fexpr allows a call inside a call inside a call, and no deeper.
MAX_CALL_DEPTH = 3

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"
_WHITESPACE = frozenset(" \t\n")
_IDENT_SPECIAL_START = frozenset("@_#")
_IDENT_START = frozenset(_LETTERS) | _IDENT_SPECIAL_START
_NUMBER_START = frozenset(_DIGITS + "-")
_DIGIT_SET = frozenset(_DIGITS)
_QUOTES = frozenset("'\"")
_SIGN_CHARS = frozenset("=?!><~")
_JOIN_CHARS = frozenset("&|")

_IDENT_RUN = re.compile(r"[A-Za-z0-9_.:]*")
_WS_RUN = re.compile(r"[ \t\n]*")
_SIGN_RUN = re.compile(r"[=?!><~]*")
_JOIN_RUN = re.compile(r"[&|]*")
_COMMENT_STOP = re.compile(r"[\n\x00]")
_GROUP_STOP = re.compile(r"[()'\"\x00]")
_TEXT_STOP = {"'": re.compile(r"['\\\x00]"), '"': re.compile(r"[\"\\\x00]")}
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
# The only escapes PocketBase decodes; any other backslash pair is kept as written.
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "'": "'", '"': '"'}

_NUL = "\x00"


@dataclass(frozen=True, slots=True)
class Token:
    """One lexeme. `pos` is a character offset into the filter, for error messages.

    Groups are `lparen` ... `rparen`; a call is `func` (the name; its `(` is implied), then its
    arguments separated by `comma` (a trailing one may appear), then `rparen`.
    """

    kind: Kind
    value: str
    pos: int


def tokenize(text: str, *, max_depth: int = MAX_DEPTH) -> list[Token]:
    """Split a filter into tokens, dropping whitespace and comments.

    Raises FilterSyntaxError for anything fexpr's scanner would reject, and for parenthesised
    groups nested deeper than `max_depth`.
    """
    return _Lexer(text, max_depth).run()


def _unescape(match: re.Match[str]) -> str:
    return _ESCAPES.get(match.group(1), match.group())


def _is_valid_identifier(name: str) -> bool:
    return name[-1] not in ".:" and not (len(name) == 1 and name in _IDENT_SPECIAL_START)


class _Lexer:
    def __init__(self, text: str, max_depth: int) -> None:
        self.text = text
        self.max_depth = max_depth
        self.tokens: list[Token] = []
        self.group_ends: dict[int, int] = {}

    def emit(self, kind: Kind, value: str, pos: int) -> None:
        self.tokens.append(Token(kind, value, pos))

    def run(self) -> list[Token]:
        text = self.text
        pos, end = 0, len(text)
        # Region ends of the enclosing groups; `end` is the current group's closing `)`.
        outer_ends: list[int] = []
        while True:
            if pos >= end:
                if not outer_ends:
                    return self.tokens
                self.emit("rparen", ")", end)
                pos, end = end + 1, outer_ends.pop()
                continue
            ch = text[pos]
            if ch == _NUL and not outer_ends:
                return self.tokens  # Go's scanner takes NUL for the end of input
            if ch == "(":
                if len(outer_ends) >= self.max_depth:
                    raise FilterSyntaxError(f"filter nesting is too deep (max {self.max_depth} groups)", pos)
                close = self.group_end(pos, end)
                self.emit("lparen", "(", pos)
                outer_ends.append(end)
                pos, end = pos + 1, close
            else:
                pos = self.token(pos, end)

    def token(self, pos: int, end: int) -> int:
        """Scan one non-group token (or skip whitespace/a comment) at `pos`; return where it stops."""
        ch = self.text[pos]
        if ch in _WHITESPACE:
            return self.whitespace(pos, end)
        if ch in _IDENT_START:
            return self.identifier(pos, end, MAX_CALL_DEPTH)
        if ch in _NUMBER_START:
            return self.number(pos, end)
        if ch in _QUOTES:
            return self.quoted(pos, end)
        if ch in _SIGN_CHARS:
            return self.operator(pos, end, _SIGN_RUN, "sign")
        if ch in _JOIN_CHARS:
            return self.operator(pos, end, _JOIN_RUN, "join")
        if ch == "/":
            return self.comment(pos, end)
        raise FilterSyntaxError(f"unexpected character {ch!r}", pos)

    def swallow_nul(self, pos: int, end: int) -> int:
        """A run scanner that meets NUL stops there and consumes it, as fexpr's do."""
        return pos + 1 if pos < end and self.text[pos] == _NUL else pos

    def whitespace(self, pos: int, end: int) -> int:
        match = _WS_RUN.match(self.text, pos, end)
        assert match is not None  # a `*` pattern always matches
        return self.swallow_nul(match.end(), end)

    def comment(self, pos: int, end: int) -> int:
        if pos + 1 >= end or self.text[pos + 1] != "/":
            raise FilterSyntaxError("invalid comment (expected '//')", pos)
        stop = _COMMENT_STOP.search(self.text, pos + 2, end)
        return end if stop is None else stop.start() + 1

    def operator(self, pos: int, end: int, run: re.Pattern[str], kind: Kind) -> int:
        match = run.match(self.text, pos, end)
        assert match is not None
        literal = match.group()
        valid = literal in SIGN_OPS if kind == "sign" else literal in ("&&", "||")
        if not valid:
            raise FilterSyntaxError(f"invalid {'sign' if kind == 'sign' else 'join'} operator {literal!r}", pos)
        self.emit(kind, literal, pos)
        return self.swallow_nul(match.end(), end)

    def number(self, pos: int, end: int) -> int:
        text = self.text
        i, had_dot = pos + 1, False
        while i < end:
            ch = text[i]
            if ch in _DIGIT_SET:
                i += 1
            elif ch == "." and not had_dot:
                had_dot = True
                i += 1
            else:
                break
        literal = text[pos:i]
        if literal == "-" or literal.endswith("."):
            raise FilterSyntaxError(f"invalid number {literal!r}", pos)
        self.emit("number", literal, pos)
        return self.swallow_nul(i, end)

    def text_end(self, pos: int, end: int) -> int:
        """Index of the quote closing the text opened at `pos` (a backslash always takes the next char)."""
        text, quote = self.text, self.text[pos]
        stop_at = _TEXT_STOP[quote]
        i = pos + 1
        while True:
            stop = stop_at.search(text, i, end)
            if stop is None or stop.group() == _NUL:
                raise FilterSyntaxError("unterminated quoted text", pos)
            j = stop.start()
            if stop.group() == quote:
                return j
            if j + 1 >= end or text[j + 1] == _NUL:
                raise FilterSyntaxError("unterminated quoted text", pos)
            i = j + 2

    def quoted(self, pos: int, end: int) -> int:
        close = self.text_end(pos, end)
        self.emit("text", _ESCAPE.sub(_unescape, self.text[pos + 1 : close]), pos)
        return close + 1

    def group_end(self, pos: int, end: int) -> int:
        """Index of the `)` closing the group opened at `pos`, counting parens outside texts only.

        A fresh scan from a nested `(` met on the way would read the same characters in the same
        state, so its match is remembered and nesting costs no rescans. (The `< end` guard covers
        a `(` that an enclosing scan read inside quotes because of a quote in a comment.)
        """
        known = self.group_ends.get(pos)
        if known is not None and known < end:
            return known
        text, opened, i = self.text, [pos], pos + 1
        while True:
            stop = _GROUP_STOP.search(text, i, end)
            if stop is None or stop.group() == _NUL:
                raise FilterSyntaxError(f"unbalanced parentheses: missing {len(opened)} closing bracket(s)", pos)
            j, ch = stop.start(), stop.group()
            if ch == "(":
                opened.append(j)
            elif ch == ")":
                self.group_ends[opened.pop()] = j
                if not opened:
                    return j
            else:
                j = self.text_end(j, end)
            i = j + 1

    def identifier(self, pos: int, end: int, call_depth: int) -> int:
        match = _IDENT_RUN.match(self.text, pos + 1, end)
        assert match is not None
        i = match.end()
        name = self.text[pos:i]
        if i < end and self.text[i] == "(":
            if call_depth <= 0:
                raise FilterSyntaxError(f"functions nest too deeply (max {MAX_CALL_DEPTH} levels)", pos)
            if not _is_valid_identifier(name):
                raise FilterSyntaxError(f"invalid function name {name!r}", pos)
            self.emit("func", name, pos)
            return self.arguments(i + 1, end, name, call_depth)
        if not _is_valid_identifier(name):
            raise FilterSyntaxError(f"invalid identifier {name!r}", pos)
        self.emit("ident", name, pos)
        return self.swallow_nul(i, end)

    def arguments(self, pos: int, end: int, name: str, call_depth: int) -> int:
        text, expect_comma = self.text, False
        while pos < end and text[pos] != _NUL:
            ch = text[pos]
            if ch == ")":
                self.emit("rparen", ")", pos)
                return pos + 1
            if ch in _WHITESPACE:
                pos = self.whitespace(pos, end)
                continue
            if ch == "/":
                pos = self.comment(pos, end)
                continue
            if ch == ",":
                if not expect_comma:
                    raise FilterSyntaxError(f"unexpected comma in function {name!r}", pos)
                self.emit("comma", ",", pos)
                expect_comma = False
                pos += 1
                continue
            if expect_comma:
                raise FilterSyntaxError(f"expected a comma after the last argument of function {name!r}", pos)
            if ch in _IDENT_START:
                pos = self.identifier(pos, end, call_depth - 1)
            elif ch in _NUMBER_START:
                pos = self.number(pos, end)
            elif ch in _QUOTES:
                pos = self.quoted(pos, end)
            else:
                raise FilterSyntaxError(f"unsupported character {ch!r} in arguments of function {name!r}", pos)
            expect_comma = True
        raise FilterSyntaxError(f"function {name!r} is missing its closing ')'", pos)
