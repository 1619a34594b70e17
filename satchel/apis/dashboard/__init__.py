"""The admin dashboard at `/_/`: static files shipped as package data, no build step.

The UI is plain ES modules and CSS that talk only to the public API (as PocketBase's own UI does),
so everything here is file serving: a fixed set of files read once, sent with a strict
Content-Security-Policy (no inline script or style) and revalidated by ETag.
"""

from satchel.apis.dashboard.assets import routes

__all__ = ["routes"]
