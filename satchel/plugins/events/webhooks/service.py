"""Webhook management for superusers: CRUD, delivery attempts, dead letters and their replay.

Changes are made as schema changes (`app.schema.run` + `claim`): every other worker and node
reloads at its next request and starts (or stops) writing the outbox when the first webhook is
created (or the last one removed). A new or reactivated webhook starts at the outbox head:
it receives changes committed after it was saved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx2

from satchel.core.errors import BadRequestError, NotFoundError
from satchel.plugins.events import outbox_store
from satchel.plugins.events.webhooks import input, store
from satchel.plugins.events.webhooks.sink import WebhookSink
from satchel.tools.datetime import now_str
from satchel.tools.ids import random_id
from satchel.tools.tls_trust import httpx_verify

if TYPE_CHECKING:
    from satchel.core.app import App
    from satchel.ports.database import Executor

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 500


def _page_params(query: dict[str, str]) -> tuple[int, int]:
    def number(key: str, default: int) -> int:
        raw = query.get(key, "")
        return int(raw) if raw.isdigit() and 0 < len(raw) < 10 and int(raw) > 0 else default

    return number("page", 1), min(number("perPage", DEFAULT_PER_PAGE), MAX_PER_PAGE)


class WebhooksService:
    def __init__(self, app: App, changed: Callable[[], Awaitable[None]], timeout: float) -> None:
        self.app = app
        self.changed = changed
        """Re-evaluates whether this process writes the outbox (after a change committed)."""
        self.timeout = timeout

    def _collections(self) -> set[str]:
        return {n for c in self.app.collections.all() for n in (c.id, c.name)}

    async def _get(self, hook_id: str) -> store.Webhook:
        hook = await store.get(self.app.db.executor(), hook_id, self.app.keys)
        if hook is None:
            raise NotFoundError()
        return hook

    async def _signing(self, hook_id: str) -> store.Webhook:
        """A webhook to send with now: a secret that cannot be opened is said, not signed around."""
        hook = await self._get(hook_id)
        if hook.secret_error:
            raise BadRequestError(hook.secret_error)
        return hook

    async def _change(self, work: Callable[[Executor], Awaitable[None]]) -> None:
        async def run() -> None:
            async with self.app.db.transaction() as tx:
                await self.app.schema.claim(tx)
                await work(tx)

        await self.app.schema.run(run)
        await self.changed()

    async def list(self) -> dict[str, Any]:
        hooks = await store.all_webhooks(self.app.db.executor(), self.app.keys)
        items = [h.to_json() for h in hooks]
        return {"page": 1, "perPage": len(items), "totalItems": len(items), "totalPages": 1, "items": items}

    async def view(self, hook_id: str) -> dict[str, Any]:
        return (await self._get(hook_id)).to_json()

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        values = input.parse(body, None, self._collections())
        now = now_str()
        hook = store.Webhook(
            id=random_id(),
            name=values["name"],
            url=values["url"],
            collections=tuple(values["collections"]),
            actions=tuple(values["actions"]),
            secret=values["secret"],
            active=values["active"],
            created=now,
            updated=now,
        )

        async def work(tx: Executor) -> None:
            await store.insert(tx, hook, self.app.keys)
            await outbox_store.set_cursor(tx, hook.sink_name, await outbox_store.head(tx), now)

        await self._change(work)
        return hook.to_json()

    async def update(self, hook_id: str, body: dict[str, Any]) -> dict[str, Any]:
        current = await self._get(hook_id)
        if current.secret_error and "secret" not in body:
            raise BadRequestError(f"{current.secret_error} Or give the webhook a new secret.")
        old = {
            "name": current.name,
            "url": current.url,
            "collections": list(current.collections),
            "actions": list(current.actions),
            "secret": current.secret,
            "active": current.active,
        }
        values = input.parse(body, old, self._collections())
        hook = replace(
            current,
            name=values["name"],
            url=values["url"],
            collections=tuple(values["collections"]),
            actions=tuple(values["actions"]),
            secret=values["secret"],
            active=values["active"],
            updated=now_str(),
            stored_secret="",
            secret_error="",
        )

        async def work(tx: Executor) -> None:
            await store.update(tx, hook, self.app.keys)
            if hook.active and not current.active:  # paused webhooks skip what happened meanwhile
                await outbox_store.set_cursor(tx, hook.sink_name, await outbox_store.head(tx), hook.updated)

        await self._change(work)
        return hook.to_json()

    async def delete(self, hook_id: str) -> None:
        hook = await self._get(hook_id)

        async def work(tx: Executor) -> None:
            await store.delete(tx, hook.id)
            await outbox_store.drop_cursor(tx, hook.sink_name)

        await self._change(work)

    async def attempts(self, hook_id: str, query: dict[str, str]) -> dict[str, Any]:
        hook = await self._get(hook_id)
        page, per_page = _page_params(query)
        total, items = await store.attempts(self.app.db.executor(), hook.id, per_page, (page - 1) * per_page)
        return {
            "page": page,
            "perPage": per_page,
            "totalItems": total,
            "totalPages": (total + per_page - 1) // per_page,
            "items": [a.to_json() for a in items],
        }

    async def dead_letters(self, hook_id: str) -> dict[str, Any]:
        hook = await self._get(hook_id)
        letters = await store.dead_letters(self.app.db.executor(), hook.id)
        items = [d.to_json() for d in letters]
        return {"page": 1, "perPage": len(items), "totalItems": len(items), "totalPages": 1, "items": items}

    async def replay(self, hook_id: str, letter_id: str) -> dict[str, Any]:
        """Send a dead letter again now (one attempt); delivered, it leaves the list."""
        hook = await self._signing(hook_id)
        letter = await store.dead_letter(self.app.db.executor(), hook.id, letter_id)
        if letter is None:
            raise NotFoundError()
        async with httpx2.AsyncClient(timeout=self.timeout, follow_redirects=False, verify=httpx_verify()) as client:
            attempt = await self._resend(WebhookSink(hook, client), letter)
        return {"delivered": not attempt.error, "attempt": attempt.to_json()}

    async def replay_all(self, hook_id: str) -> dict[str, Any]:
        """Send every dead letter again, oldest event first, one attempt each; the delivered ones
        leave the list. Stops at the first refusal: a receiver still failing is not hammered."""
        hook = await self._signing(hook_id)
        letters = sorted(await store.dead_letters(self.app.db.executor(), hook.id), key=lambda d: d.event_id)
        attempts: list[store.Attempt] = []
        async with httpx2.AsyncClient(timeout=self.timeout, follow_redirects=False, verify=httpx_verify()) as client:
            sink = WebhookSink(hook, client)
            for letter in letters:
                attempts.append(await self._resend(sink, letter))
                if attempts[-1].error:
                    break
        delivered = sum(1 for a in attempts if not a.error)
        return {
            "delivered": delivered,
            "failed": len(attempts) - delivered,
            "remaining": len(letters) - delivered,
            "attempts": [a.to_json() for a in attempts],
        }

    async def _resend(self, sink: WebhookSink, letter: store.DeadLetter) -> store.Attempt:
        attempt = await sink.attempt(letter.event_id, letter.event, letter.attempts + 1)
        async with self.app.db.transaction() as tx:
            await store.add_attempt(tx, attempt)
            if not attempt.error:
                await store.delete_dead_letter(tx, letter.id)
        return attempt
