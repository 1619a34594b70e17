"""Redis Streams sink: one stream per deployment, entry id = outbox event id, scripts atomic.

One stream (default `satchel:records`) rather than one per collection: it keeps the outbox's total
order, a consumer group reads it with one cursor, and consumers filter on the `collection` field.
Each entry is XADDed with the explicit id `<event id>-0` and the fields `id`, `collection`,
`action` and `event` (the JSON envelope). Redis refuses an id not above the stream's last one, so
deduplication is the stream's own rule: a re-published event is skipped, never stored twice, and
consumers can resume with `XREAD ... STREAMS satchel:records <last event id>-0`.

A batch goes in Lua scripts of up to SCRIPT_BATCH events, each run atomically and in order, so a
failed batch has stored a prefix at most. With `maxlen=N` each XADD trims approximately
(`MAXLEN ~ N`), which is cheap and never trims the newest entries. Durability is the server's: use
`appendonly yes` (AOF) so acknowledged entries survive a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from satchel.adapters.event_sinks.envelope import encode
from satchel.ports.event_sink import OutboxEvent, SinkError
from satchel.tools.tls_trust import redis_options

log = logging.getLogger("satchel.event_sinks")

DEFAULT_STREAM = "satchel:records"
DEFAULT_TIMEOUT = 5.0
SCRIPT_BATCH = 500
"""Events per script run: Redis serves no one else while a script runs, so keep each run short."""

# ARGV: maxlen ("0": none), then 4 values per event. Replies {stored, skipped}. An id not above the
# stream's top is a duplicate (skipped); any other error stops the script, after a prefix at most.
_XADD_BATCH = """
local stored, skipped = 0, 0
for i = 2, #ARGV, 4 do
  local reply
  if ARGV[1] == '0' then
    reply = redis.pcall('XADD', KEYS[1], ARGV[i] .. '-0',
      'id', ARGV[i], 'collection', ARGV[i + 1], 'action', ARGV[i + 2], 'event', ARGV[i + 3])
  else
    reply = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], ARGV[i] .. '-0',
      'id', ARGV[i], 'collection', ARGV[i + 1], 'action', ARGV[i + 2], 'event', ARGV[i + 3])
  end
  if type(reply) == 'table' and reply.err then
    if string.find(reply.err, 'equal or smaller', 1, true) then
      skipped = skipped + 1
    else
      return redis.error_reply(reply.err)
    end
  else
    stored = stored + 1
  end
end
return {stored, skipped}
"""


class RedisStreamSink:
    def __init__(
        self,
        url: str,
        *,
        name: str,
        stream: str = DEFAULT_STREAM,
        maxlen: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.name = name
        self._stream = stream
        self._maxlen = str(maxlen or 0)
        # one immediate retry: after a server restart the pooled connection is stale, a new one is
        # not; re-running the script is safe because re-added ids are skipped
        self._redis: Redis = Redis.from_url(
            url,
            **redis_options(url),
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
        )
        self._script = self._redis.register_script(_XADD_BATCH)

    async def publish(self, events: Sequence[OutboxEvent]) -> None:
        if not events:
            return
        skipped = 0
        for start in range(0, len(events), SCRIPT_BATCH):
            skipped += await self._add(events[start : start + SCRIPT_BATCH])
        if skipped:
            log.debug("event sink %s: %d of %d events already in the stream", self.name, skipped, len(events))

    async def _add(self, events: Sequence[OutboxEvent]) -> int:
        """One atomic script run; the number of events skipped as already there."""
        args: list[str | bytes] = [self._maxlen]
        for event in events:
            args += [str(event.id), event.collection_name, event.action, encode(event)]
        try:
            _stored, skipped = await self._script(keys=[self._stream], args=args)
        except (RedisError, OSError) as exc:
            raise SinkError(f"Redis Streams sink {self.name}: {type(exc).__name__}: {exc}") from exc
        return int(skipped)

    async def close(self) -> None:
        await self._redis.aclose()
