"""Newman runs the Postman collection that `satchel openapi postman` makes, against a live server.

The collection is generated from the data directory the server runs on (the CLI, as a user would),
then run with a superuser token and a seeded record's id. Every request carries the collection's
own status tests (no 5xx; a documented status or the error shape with the same status); the run
must pass them all, and the record requests must have succeeded with their documented status.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.contracts.live_server import Seeded
from tests.e2e.dashboard_server import _env
from tests.required_service import unavailable

NEWMAN_DIR = Path(__file__).parent / "newman"
NEWMAN = NEWMAN_DIR / "node_modules" / ".bin" / "newman"
FOLDERS = ("health", "posts", "post_stats", "members auth", "files")


def _postman(live: Seeded, out: Path) -> dict[str, object]:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "satchel",
            "openapi",
            "postman",
            "--dir",
            str(live.data_dir),
            "--base-url",
            live.url,
            "--out",
            str(out),
        ],
        check=True,
        env=_env(),
        capture_output=True,
        timeout=120,
    )
    collection: dict[str, object] = json.loads(out.read_text())
    return collection


def test_newman_runs_the_generated_collection(live: Seeded, tmp_path: Path) -> None:
    if shutil.which("node") is None or not NEWMAN.exists():
        unavailable("newman is not installed", "cd tests/contracts/newman && npm ci")
    collection = _postman(live, tmp_path / "satchel.postman.json")
    folders = [item["name"] for item in collection["item"]]  # type: ignore[attr-defined]
    assert set(FOLDERS) <= set(folders) and "webhooks" in folders
    report = tmp_path / "report.json"
    args = [
        str(NEWMAN),
        "run",
        str(tmp_path / "satchel.postman.json"),
        "--env-var",
        f"token={live.token}",
        "--env-var",
        f"id={live.ids['post']}",
        "--env-var",
        "collection=posts",
        "--env-var",
        f"recordId={live.ids['filePost']}",
        "--env-var",
        f"filename={live.ids['file']}",
        "--reporters",
        "cli,json",
        "--reporter-json-export",
        str(report),
        "--color",
        "off",
    ]
    for folder in FOLDERS:
        args += ["--folder", folder]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    run = json.loads(report.read_text())["run"]
    assert run["stats"]["assertions"]["failed"] == 0
    assert run["stats"]["assertions"]["total"] >= 2 * run["stats"]["requests"]["total"] > 20
    codes = {e["item"]["name"]: e["response"]["code"] for e in run["executions"]}
    assert codes["Health check"] == 200
    assert codes["List posts records"] == 200
    assert codes["View a posts record"] == 200
    assert codes["Create a posts record"] == 200  # the body made from the schema's required keys is valid
    assert codes["Update a posts record"] == 200
    assert codes["Delete a posts record"] == 204
    assert codes["List post_stats records"] == 200
    assert codes["List the enabled auth methods"] == 200
    assert codes["Download a record's file (or a thumbnail of an image)"] == 200
    assert codes["Sign in with an identity and a password"] == 400  # the example credentials are refused
