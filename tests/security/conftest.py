"""Fixtures of this folder: the headless Chromium ones of tests/e2e (browser, dashboard server, watched page)."""

from tests.e2e.conftest import browser, server, watched

__all__ = ["browser", "server", "watched"]
