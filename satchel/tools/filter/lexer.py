"""Tokenizer for PocketBase's filter language (a hand-written scanner: linear, no backtracking)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from satchel.tools.filter.errors import FilterSyntaxError

Kind = Literal["ident", "number", "text", "sign", "join", "lparen", "rparen", "comma", "func"]

SIGNS = ("?!=", "?>=", "?<=", "?!~", "!=", ">=", "<=", "!~", "?=", "?>", "?<", "?~", "=", ">", "<", "~")


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    value: str
    pos: int


def _ident_start(ch: str) -> bool:
    return ch.isalpha() or ch in "_@#"


def _ident_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_@#.:"


def tokenize(text: str) -> list[Token]:  # noqa: C901 - one scanner loop reads best in one place
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif ch == "(":
            tokens.append(Token("lparen", ch, i))
            i += 1
        elif ch == ")":
            tokens.append(Token("rparen", ch, i))
            i += 1
        elif ch == ",":
            tokens.append(Token("comma", ch, i))
            i += 1
        elif text.startswith(("&&", "||"), i):
            tokens.append(Token("join", text[i : i + 2], i))
            i += 2
        elif ch in "'\"":
            start = i
            value, i = _scan_text(text, i)
            tokens.append(Token("text", value, start))
        elif ch.isdigit() or (ch in "-." and i + 1 < n and (text[i + 1].isdigit() or text[i + 1] == ".")):
            start = i
            i += 1
            while i < n and (text[i].isdigit() or text[i] == "."):
                i += 1
            raw = text[start:i]
            try:
                float(raw)
            except ValueError as exc:
                raise FilterSyntaxError(f"invalid number {raw!r} at {start}") from exc
            tokens.append(Token("number", raw, start))
        elif _ident_start(ch):
            start = i
            while i < n and _ident_char(text[i]):
                i += 1
            name = text[start:i]
            if i < n and text[i] == "(":
                tokens.append(Token("func", name, start))
            else:
                tokens.append(Token("ident", name, start))
        else:
            for sign in SIGNS:
                if text.startswith(sign, i):
                    tokens.append(Token("sign", sign, i))
                    i += len(sign)
                    break
            else:
                raise FilterSyntaxError(f"unexpected character {ch!r} at {i}")
    return tokens


def _scan_text(text: str, i: int) -> tuple[str, int]:
    quote = text[i]
    start = i
    i += 1
    out: list[str] = []
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] == quote:
            out.append(quote)
            i += 2
            continue
        if ch == quote:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise FilterSyntaxError(f"unterminated text starting at {start}")
