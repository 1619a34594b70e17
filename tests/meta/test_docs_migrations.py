"""docs/migrations.md states what the code does: its commands and options, its example migration."""

from __future__ import annotations

import re
from pathlib import Path

from satchel.cli.migrations import migrate
from satchel.config import MIGRATIONS_FOLDER
from satchel.core.migrations import revert, run_pending
from satchel.testing import running_app
from satchel.tools.sql import ir

DOC = (Path(__file__).resolve().parents[2] / "docs" / "migrations.md").read_text()


def test_every_command_and_option_is_documented() -> None:
    assert set(migrate.commands) == set(re.findall(r"\| `satchel migrate ([a-z-]+)", DOC))
    options = {opt for cmd in migrate.commands.values() for p in cmd.params for opt in p.opts if opt.startswith("--")}
    assert options and all(f"`{opt}" in DOC for opt in options), options
    assert f"`{MIGRATIONS_FOLDER}/`" in DOC


async def test_the_example_migration_runs(tmp_path: Path) -> None:
    example = re.search(r"```python\n(.*?)```", DOC, re.DOTALL)
    assert example is not None
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1700000000_posts.py").write_text(
        "async def up(app):\n"
        "    await app.collections_service.create({'name': 'posts', 'fields': [{'name': 'title', 'type': 'text'}]})\n"
    )
    async with running_app(tmp_path / "data") as app:
        assert await run_pending(app, folder) == ["1700000000_posts.py"]
        await app.db.writer().execute(ir.Insert("posts", {"id": ir.Param("post00000000001"), "title": ir.Param("a")}))
        (folder / "1700000001_add_flag.py").write_text(example.group(1))
        assert await run_pending(app, folder) == ["1700000001_add_flag.py"]
        rows = await app.db.executor().fetch_all(ir.Select((ir.col("published"),), ir.Table("posts")))
        assert [bool(r["published"]) for r in rows] == [True]
        assert await revert(app, folder) == ["1700000001_add_flag.py"]
        posts = app.collections.get("posts")
        assert posts is not None and posts.field("published") is None
