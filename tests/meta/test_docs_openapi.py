"""docs/openapi.md states what the code does: commands, options, audiences, what the fuzzing leaves out."""

from __future__ import annotations

import re
from pathlib import Path

import click

from satchel.apis.openapi.components import LIST_PARAMS
from satchel.apis.openapi.plugin_paths import plugin_entries
from satchel.apis.openapi.system_paths import ANYONE, system_entries
from satchel.cli.main import main
from tests.contracts.test_schemathesis import EXCLUDED

DOC = (Path(__file__).resolve().parents[2] / "docs" / "openapi.md").read_text()


def test_documented_commands_and_options_exist() -> None:
    group = main.commands["openapi"]
    assert isinstance(group, click.Group)
    for name, options in re.findall(r"^satchel openapi (\w+)((?: --[\w-]+)*)", DOC, re.MULTILINE):
        command = group.commands[name]
        known = {opt for p in command.params for opt in getattr(p, "opts", [])}
        for option in re.findall(r"--[\w-]+", options):
            assert option in known, (name, option)
    assert set(group.commands) == {"export", "postman"}


def test_documented_list_parameters() -> None:
    for name in LIST_PARAMS:
        assert f"`{name}`" in DOC, name


def test_routes_open_to_everyone_are_named_in_the_audience_table() -> None:
    areas = {"health": "/api/health", "files": "/api/files", "batch": "/api/batch", "realtime": "/api/realtime",
             "API keys": "/api/keys", "OAuth2 redirect": "/api/oauth2-redirect", "the docs": "/api/docs",
             "GraphQL": "/api/graphql"}  # fmt: skip
    public = {e.path for e in [*system_entries(), *plugin_entries()] if e.audience == ANYONE}
    for path in public:
        assert any(path.startswith(prefix) or path == "/api/openapi.json" for prefix in areas.values()), path
    row = next(line for line in DOC.splitlines() if line.startswith("| anyone else"))
    for area in areas:
        assert area in row, area


def test_what_the_fuzzing_leaves_out_is_documented() -> None:
    words = {
        "realtime.connect": "the SSE stream",
        "settings.update": "settings updates",
        "collections.import": "imports",
        "backups.restore": "backup restore",
        "backups.upload": "upload",
    }
    assert set(EXCLUDED) == set(words)
    flat = " ".join(DOC.split())
    for phrase in words.values():
        assert phrase in flat, phrase
