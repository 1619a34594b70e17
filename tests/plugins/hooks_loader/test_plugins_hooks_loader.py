"""Loading `satchel_hooks/*.py`: order, helpers, errors as file and line, the --dev watcher's decisions."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from satchel.config import BootConfig
from satchel.plugins import hooks_loader
from satchel.plugins.hooks_loader.loader import HookFilesError, load_folder
from satchel.plugins.hooks_loader.watch import HookWatcher


def write(folder: Path, name: str, code: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(code))
    return path


def test_files_load_in_name_order_with_helpers(tmp_path: Path) -> None:
    hooks = tmp_path / "satchel_hooks"
    write(hooks, "_util.py", "PREFIX = 'v1'\n")
    write(
        hooks,
        "20_second.py",
        """
        from satchel_hooks._util import PREFIX

        @app.route("/api/second")
        async def second(e):
            return PREFIX
        """,
    )
    write(hooks, "10_first.py", "@app.on_record_create('posts')\nasync def first(e):\n    await e.next()\n")
    write(hooks, "notes.txt", "not python")
    registrar = load_folder(hooks)
    assert [b.hook for b in registrar.bindings] == ["on_record_create"]
    assert registrar.bindings[0].tags == ("posts",)
    assert [r.path for r in registrar.routes] == ["/api/second"]
    assert hooks_loader.check(BootConfig(dir=tmp_path / "satchel_data")) == 2


def test_a_second_load_reads_edited_helpers_again(tmp_path: Path) -> None:
    hooks = tmp_path / "h"
    write(hooks, "_util.py", "N = 1\n")
    write(hooks, "a.py", "from satchel_hooks._util import N\nasync def h(e):\n    return N\nfor i in range(N):\n    app.route(f'/api/n{i}')(h)\n")
    assert len(load_folder(hooks).routes) == 1
    write(hooks, "_util.py", "N = 3\n")
    assert len(load_folder(hooks).routes) == 3


@pytest.mark.parametrize(
    ("code", "line", "message"),
    [
        ("x = 1\ndef broken(:\n", 2, "SyntaxError: "),
        ("\n\n@app.on_record_create('posts')\nasync def h(e):\n    await e.next()\nrecrod.save()\n", 6, "NameError: name 'recrod' is not defined"),
        ("@app.on_record_create('posts')\ndef h(e):\n    pass\n", 1, "TypeError: on_record_create: handler 'h' must be an `async def`"),
        ("app.records.find('posts')\n", 1, "NotBoundError: the app is not running yet"),
        ("import sys\nsys.exit(3)\n", 2, "SystemExit: 3"),
        ("@app.on_nothing()\nasync def h(e):\n    pass\n", 1, "AttributeError: 'Registrar' object has no attribute 'on_nothing'"),
    ],
)
def test_errors_name_the_file_and_line(tmp_path: Path, code: str, line: int, message: str) -> None:
    hooks = tmp_path / "satchel_hooks"
    path = write(hooks, "bad.py", code)
    with pytest.raises(HookFilesError) as caught:
        load_folder(hooks)
    [problem] = caught.value.problems
    assert (problem.path, problem.line) == (path, line)
    assert problem.message.startswith(message)
    assert f"{path}, line {line}: {message}" in str(caught.value)


def test_every_broken_file_is_listed_and_a_helper_is_blamed_for_its_own_error(tmp_path: Path) -> None:
    hooks = tmp_path / "satchel_hooks"
    helper = write(hooks, "_util.py", "def boom():\n    return 1 / 0\n")
    write(hooks, "a.py", "from satchel_hooks._util import boom\nboom()\n")
    b = write(hooks, "b.py", "import not_a_module_anywhere\n")
    write(hooks, "c.py", "async def fine(e):\n    await e.next()\napp.on_serve()(fine)\n")
    with pytest.raises(HookFilesError) as caught:
        load_folder(hooks)
    assert [(p.path, p.line, p.message) for p in caught.value.problems] == [
        (helper, 2, "ZeroDivisionError: division by zero"),
        (b, 1, "ModuleNotFoundError: No module named 'not_a_module_anywhere'"),
    ]


def test_the_folder_defaults_to_satchel_hooks_beside_the_data(tmp_path: Path) -> None:
    assert hooks_loader.hooks_folder(BootConfig(dir=tmp_path / "data")) == tmp_path / "satchel_hooks"
    assert hooks_loader.hooks_folder(BootConfig(dir=tmp_path / "data", hooks_dir="/x/y")) == Path("/x/y")
    assert hooks_loader.check(BootConfig(dir=tmp_path / "data")) == 0  # no folder: nothing to do


def test_the_watcher_restarts_only_after_an_edit_that_loads(tmp_path: Path) -> None:
    hooks = tmp_path / "satchel_hooks"
    good = "async def h(e):\n    return {}\napp.route('/api/x')(h)\n"
    write(hooks, "a.py", good)
    restarts: list[int] = []
    reports: list[str] = []
    watcher = HookWatcher(hooks, lambda: restarts.append(1), reports.append)
    assert watcher.poll() is False and restarts == []  # nothing changed
    write(hooks, "a.py", good + "oops(\n")
    assert watcher.poll() is False and restarts == []
    assert "a.py, line 4: SyntaxError" in reports[-1] and "previous hooks" in reports[-1]
    write(hooks, "a.py", good + "# fixed\n")
    assert watcher.poll() is True and restarts == [1]
    write(hooks, "_helper.py", "X = 1\n")  # a helper changing counts too
    assert watcher.poll() is True and restarts == [1, 1]
    (hooks / "a.py").unlink()
    assert watcher.poll() is True and len(restarts) == 3
