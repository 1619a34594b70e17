"""The dependency audit of .ci/run: the lock is current, and no locked version has a known vulnerability.

1. `requirements-ci.lock` must be what `.ci/lock.py` writes from this (CI) environment, which was
   installed under it as a constraint: a dependency added to pyproject.toml without re-locking fails.
2. `pip-audit` checks every pin against PyPI's vulnerability data (exit 1 on any finding; the
   report lists the advisory ids and fixed versions). Pins it could not look up are listed; when it
   could look up none (PyPI's JSON API unreachable), that is said loudly, and is an error only with
   SATCHEL_AUDIT_STRICT=1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements-ci.lock"


def audit(requirements: Path) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """(vulnerable pins with their advisories, pins that could not be audited) from pip-audit."""
    proc = subprocess.run(  # noqa: S603 (our own interpreter and file)
        [
            sys.executable,
            "-m",
            "pip_audit",
            "-r",
            str(requirements),
            "--no-deps",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"pip-audit failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}") from None
    deps = report.get("dependencies", [])
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if d.get("skip_reason")]
    return vulnerable, skipped


def main() -> int:
    stale = subprocess.run([sys.executable, str(ROOT / ".ci" / "lock.py"), "--check"], check=False)  # noqa: S603
    if stale.returncode != 0:
        return 1
    vulnerable, skipped = audit(LOCK)
    for dep in vulnerable:
        for vuln in dep["vulns"]:  # type: ignore[attr-defined]
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed version"
            print(f"VULNERABLE {dep['name']}=={dep['version']}: {vuln['id']} (fixed in {fixed})")
    pins = sum(1 for line in LOCK.read_text().splitlines() if "==" in line)
    if skipped and len(skipped) == pins:
        print(
            f"WARNING: pip-audit could look up none of the {pins} pins (PyPI's JSON API unreachable?)", file=sys.stderr
        )
        return 1 if os.environ.get("SATCHEL_AUDIT_STRICT") == "1" else 0
    for dep in skipped:
        print(f"not audited: {dep['name']}: {dep['skip_reason']}", file=sys.stderr)
    if vulnerable:
        return 1
    print(f"pip-audit: no known vulnerabilities in {pins - len(skipped)} pins of {LOCK.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
