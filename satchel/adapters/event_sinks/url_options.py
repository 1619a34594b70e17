"""Sink options from a URL's query string: read once at start-up, unknown or malformed ones refused.

A typo such as `?exchagne=` must stop the server with a clear message instead of silently
publishing somewhere else, so every option a sink does not consume is an error.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit, urlunsplit


class SinkOptions:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.scheme = parts.scheme.lower()
        self.driver_url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        """The URL without our query string, for the driver (credentials kept, never logged)."""
        self.host = f"{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"
        """Host and port only: safe to show in names and messages."""
        self.path = parts.path.strip("/")
        """The vhost (AMQP) or database number (Redis); no secrets live there."""
        self._values: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key in self._values:
                raise ValueError(f"event sink URL option {key!r} is given twice")
            self._values[key] = value

    def text(self, key: str, default: str) -> str:
        return self.text_value(key, self._values.pop(key, default))

    def name(self, kind: str, *target: str) -> str:
        """The sink's cursor key: `name=` if given, else the broker's address (never its credentials)
        and what the sink writes to, so two sinks never share a cursor by accident."""
        given = self._values.pop("name", None)
        if given is not None:
            return self.text_value("name", given)
        return "/".join([f"{kind}://{self.host}", *(t for t in target if t)])

    def text_value(self, key: str, value: str) -> str:
        if not value:
            raise ValueError(f"event sink URL option {key!r} is empty")
        return value

    def optional_text(self, key: str) -> str | None:
        return self._values.pop(key, None) or None

    def number(self, key: str, default: float) -> float:
        raw = self._values.pop(key, None)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"event sink URL option {key!r} must be a number, not {raw!r}") from None
        if not value > 0 or value == float("inf"):
            raise ValueError(f"event sink URL option {key!r} must be a positive number, not {raw!r}")
        return value

    def integer(self, key: str) -> int | None:
        raw = self._values.pop(key, None)
        if raw is None:
            return None
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(f"event sink URL option {key!r} must be a positive integer, not {raw!r}")
        return int(raw)

    def done(self) -> None:
        """Refuse whatever option no sink consumed."""
        if self._values:
            unknown = ", ".join(sorted(self._values))
            raise ValueError(f"unknown {self.scheme}:// event sink URL option(s): {unknown}")
