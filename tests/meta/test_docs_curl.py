"""The curl commands in the docs work when pasted: readers copy them as they are.

Two ways a pasted command silently fails against Satchel:
- a JSON body without `Content-Type: application/json`: curl's `-d` sends it form-encoded, which
  the server (like PocketBase) reads as no fields at all, so a PATCH answers 200 and changes nothing;
- `"`, `<` or `>` written raw in the URL (`?filter=level>=8`): granian's HTTP parser refuses such a
  request line with a bare 400 before Satchel sees it (PocketBase accepts it), so filters go through
  `-G --data-urlencode`.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def curl_commands(text: str) -> list[tuple[int, str]]:
    """Each curl command with its backslash-continued lines joined, and its line number."""
    lines = text.split("\n")
    found: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        if re.search(r"(^|[\s`$(])curl\s", lines[i]):
            start, command = i, lines[i]
            while command.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command.rstrip()[:-1] + " " + lines[i].strip()
            found.append((start + 1, command))
        i += 1
    return found


def test_json_bodies_say_they_are_json() -> None:
    wrong = [
        f"{doc.name}:{line}"
        for doc in DOCS
        for line, command in curl_commands(doc.read_text())
        if re.search(r"(-d|--data|--data-raw)\s+'[{\[]", command) and not re.search(r"(?i)content-type|--json", command)
    ]
    assert wrong == []


def test_urls_have_no_character_the_http_parser_refuses() -> None:
    wrong = []
    for doc in DOCS:
        for line, command in curl_commands(doc.read_text()):
            for url in re.findall(r"""["']?(https?://\S+)""", command):
                query = url.rstrip("\"'").partition("?")[2]
                if re.search(r'[<>"]', query):
                    wrong.append(f"{doc.name}:{line}")
    assert wrong == []
