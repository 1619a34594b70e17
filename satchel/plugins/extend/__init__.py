"""The Python extension surface: hook decorators, custom routes and the live App, as `app` in hook
files and as `satchel.Satchel` for library use."""

from satchel.plugins.extend.registrar import NotBoundError, Registrar
from satchel.plugins.extend.route_event import RouteEvent

__all__ = ["NotBoundError", "Registrar", "RouteEvent"]
