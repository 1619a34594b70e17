"""docs/hooks.md states what the code does: every hook point, the RouteEvent members, the defaults."""

from __future__ import annotations

import re

from satchel.core.hooks import Hooks
from satchel.plugins.extend import Registrar, RouteEvent
from satchel.plugins.hooks_loader import FOLDER
from tests.plugins.docs_examples import DOC, examples, hook_files

TEXT = DOC.read_text()


def test_every_hook_point_is_documented_and_nothing_else() -> None:
    documented = set(re.findall(r"`(on_[a-z0-9_]+)`", TEXT))
    assert documented == set(Hooks().names())


def test_documented_decorators_and_route_event_members_exist() -> None:
    for name in re.findall(r"@app\.(\w+)\(", TEXT):
        assert hasattr(Registrar, name), name
    for member in re.findall(r"`(?:await )?e\.(\w+)", TEXT):
        # RouteEvent members, or fields of the hook events the page shows
        known = hasattr(RouteEvent, member) or member in RouteEvent.__annotations__
        assert known or member in ("record", "response", "result", "next"), member
    for member in set(re.findall(r"`app\.(\w+)`", TEXT)) - {"crons"}:  # named as not in main yet
        assert hasattr(Registrar, member), member


def test_examples_are_the_ones_the_tests_run() -> None:
    # test_plugins_serve_hooks.py serves every satchel_hooks/ example; test_plugins_library.py runs app.py
    assert set(examples()) == {f"satchel_hooks/{n}" for n in hook_files()} | {"app.py"}
    assert f"`{FOLDER}` next to" in TEXT or f"{FOLDER} next to" in TEXT

