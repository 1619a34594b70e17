"""GraphQL at `/api/graphql`: queries, mutations and (over WebSocket) subscriptions, per collection.

On by default (`SATCHEL_GRAPHQL=0` turns it off): it exposes nothing REST does not, since every
resolver goes through the same records service, rules and hooks. The schema is generated from
the live collections and rebuilt lazily after they change. See docs/graphql.md.

graphql-core is imported only inside `register`, so a server with GraphQL off never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from satchel.core.app import App
    from satchel.plugins.graphql.execution import Options
    from satchel.plugins.graphql.plugin import GraphQL


def register(app: App, options: Options | None = None) -> GraphQL:
    from satchel.plugins.graphql.plugin import register as install

    return install(app, options)


__all__ = ["register"]
