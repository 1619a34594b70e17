"""CI must run exactly the test command the README advertises, and must not pass on an empty suite."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CI_SCRIPT = REPO / ".ci" / "run"
README = REPO / "README.md"


def first_sh_block(markdown: str) -> list[str]:
    match = re.search(r"^```(?:sh|bash|shell)[ \t]*\n(.*?)^```", markdown, re.MULTILINE | re.DOTALL)
    assert match, "README.md has no ```sh block"
    return match.group(1).splitlines()


def commands(line: str) -> list[str]:
    """Shell commands of one line: comment dropped, split on && / || / ;, whitespace normalised."""
    code = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
    return [" ".join(part.split()) for part in re.split(r"&&|\|\||;", code) if part.strip()]


def pytest_commands(lines: list[str]) -> list[str]:
    return [cmd for line in lines for cmd in commands(line) if cmd.startswith("python -m pytest")]


def readme_test_command() -> str:
    found = pytest_commands(first_sh_block(README.read_text()))
    assert len(found) == 1, f"expected one `python -m pytest` command in README's first sh block, got {found}"
    return found[0]


def ci_lines() -> list[str]:
    return CI_SCRIPT.read_text().splitlines()


def test_commands_parses_chained_lines() -> None:
    line = "pip install -e '.[test]' && python -m pytest    # run the whole test suite"
    assert commands(line) == ["pip install -e '.[test]'", "python -m pytest"]
    assert commands("# python -m pytest") == []


def test_ci_runs_the_readme_test_command() -> None:
    expected = readme_test_command()
    # `python -m pytest || rc=$?` keeps the exit code for the exit-5 check; the command itself must match
    found = [shlex.join(shlex.split(cmd)) for cmd in pytest_commands(ci_lines())]
    assert found, ".ci/run never runs `python -m pytest`"
    assert set(found) == {shlex.join(shlex.split(expected))}, (found, expected)


def test_ci_script_is_strict_and_executable() -> None:
    assert os.access(CI_SCRIPT, os.X_OK), ".ci/run must be executable"
    text = CI_SCRIPT.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") or text.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in text
    res = subprocess.run(["bash", "-n", str(CI_SCRIPT)], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr


def test_ci_fails_when_no_tests_are_collected() -> None:
    text = CI_SCRIPT.read_text()
    assert re.search(r"\$rc -eq 5|\$\{?rc\}?\s*==\s*5|-eq 5", text), ".ci/run must treat pytest exit 5 as failure"


def test_ci_runs_the_static_checks() -> None:
    cmds = {cmd for line in ci_lines() for cmd in commands(line)}
    for required in ("ruff check satchel tests", "mypy", "lint-imports"):
        assert required in cmds, f".ci/run does not run `{required}`"
