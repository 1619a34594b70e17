"""Rate limiting as PocketBase configures it (the `rateLimits` settings section), over the Cache port.

`rules` matches a request's labels to the one rule that applies, `limiter` counts the request in
that rule's window, `section` decodes and validates the settings. Enforcement lives in
`satchel.apis.middleware.ratelimit`; login brute-force protection in `satchel.core.auth.login_guard`.
"""

from satchel.core.ratelimit.limiter import Verdict, consume, counter_key
from satchel.core.ratelimit.rules import Rule, RuleSet, collection_labels, path_labels, ruleset

__all__ = ["Rule", "RuleSet", "Verdict", "collection_labels", "consume", "counter_key", "path_labels", "ruleset"]
