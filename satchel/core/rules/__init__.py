"""Access rules and filters: PocketBase's filter semantics over the SQL tree."""

from satchel.core.rules.resolver import FilterError, Resolver, uses_request_or_collection

__all__ = ["FilterError", "Resolver", "uses_request_or_collection"]
