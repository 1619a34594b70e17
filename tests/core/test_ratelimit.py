"""Rate-limit rules: PocketBase's matching order, the settings section's decoding and validation
(codes, messages and params as PocketBase 0.40.6 answers them), and counting over a real Cache."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from satchel.adapters.cache.memory import MemoryCache
from satchel.core.errors import errors_to_json
from satchel.core.ratelimit import Rule, collection_labels, consume, counter_key, path_labels, ruleset
from satchel.core.ratelimit import limiter as limiter_module
from satchel.core.ratelimit.rules import MAX_WINDOW, RuleSet
from satchel.core.ratelimit.section import load_patch, validate
from satchel.ports.cache import CacheError


def rule(label: str, audience: str = "", duration: int = 10, max_requests: int = 5) -> dict[str, Any]:
    return {"label": label, "audience": audience, "duration": duration, "maxRequests": max_requests}


def rules_of(*items: dict[str, Any], excluded: list[str] | None = None) -> RuleSet:
    return RuleSet({"enabled": True, "rules": list(items), "excludedIPs": excluded or []})


def found(rs: RuleSet, labels: list[str] | tuple[str, ...], authenticated: bool = False) -> str | None:
    r = rs.find(labels, authenticated)
    return None if r is None else f"{r.label}{r.audience}"


# ------------------------------------------------------------------------------ matching
def test_labels_of_a_request_and_of_a_collection_action() -> None:
    assert path_labels("GET", "/api/health") == ("GET /api/health", "/api/health")
    assert collection_labels("users", ["authWithPassword", "auth"], "POST", "/api/x") == [
        "users:authWithPassword",
        "users:auth",
        "*:authWithPassword",
        "*:auth",
        "POST /api/x",
        "/api/x",
    ]


def test_earlier_labels_win_over_later_ones() -> None:
    rs = rules_of(rule("/api/"), rule("*:create"), rule("posts:create"), rule("POST /api/collections/posts/records"))
    labels = collection_labels("posts", ["create"], "POST", "/api/collections/posts/records")
    assert found(rs, labels) == "posts:create"
    assert found(rs, labels[1:]) == "*:create"
    assert found(rs, labels[2:]) == "POST /api/collections/posts/records"
    assert found(rs, labels[3:]) == "/api/"
    assert found(rs, collection_labels("tags", ["create"], "POST", "/api/collections/tags/records")) == "*:create"


def test_exact_label_beats_prefix_and_prefixes_go_in_settings_order() -> None:
    rs = rules_of(rule("/api/"), rule("/api/collections/"), rule("/api/health"))
    assert found(rs, path_labels("GET", "/api/health")) == "/api/health"
    # PocketBase takes the first prefix rule in settings order, not the longest one
    assert found(rs, path_labels("GET", "/api/collections/x")) == "/api/"
    rs = rules_of(rule("/api/collections/"), rule("/api/"))
    assert found(rs, path_labels("GET", "/api/collections/x")) == "/api/collections/"


def test_prefix_rules_match_the_path_plus_a_slash() -> None:
    rs = rules_of(rule("/api/batch/"), rule("GET /api/"))
    assert found(rs, path_labels("POST", "/api/batch")) == "/api/batch/"  # "/api/batch" + "/" starts with it
    assert found(rs, path_labels("GET", "/api/anything/deep")) == "GET /api/"
    assert found(rs, path_labels("POST", "/api/anything")) is None
    rs = rules_of(rule("/api"))  # no trailing slash: exact only
    assert found(rs, path_labels("GET", "/api")) == "/api"
    assert found(rs, path_labels("GET", "/api/health")) is None


def test_audience_filters_the_candidates() -> None:
    rs = rules_of(rule("/api/", "@auth"), rule("/api/", "@guest"), rule("*:auth"))
    assert found(rs, path_labels("GET", "/api/x"), authenticated=False) == "/api/@guest"
    assert found(rs, path_labels("GET", "/api/x"), authenticated=True) == "/api/@auth"
    rs = rules_of(rule("/api/health", "@auth"), rule("/api/"))
    assert found(rs, path_labels("GET", "/api/health"), authenticated=False) == "/api/"
    assert found(rs, path_labels("GET", "/api/health"), authenticated=True) == "/api/health@auth"


def test_malformed_stored_rules_are_ignored() -> None:
    rs = RuleSet(
        {
            "enabled": True,
            "rules": [None, "x", rule(""), rule("/a", "@nobody"), rule("/b", duration=0), {"label": "/c"}, rule("/d")],
            "excludedIPs": ["nope", 7, "10.0.0.0/8"],
        }
    )
    assert [r.label for r in rs.rules] == ["/d"]
    assert rs.is_excluded("10.1.2.3")


def test_excluded_ips_and_subnets() -> None:
    rs = rules_of(excluded=["127.0.0.1", "10.0.0.0/8", "2001:db8::/32", "::1"])
    for ip in ("127.0.0.1", "10.200.0.1", "2001:db8::5", "::1", "0:0:0:0:0:0:0:1"):
        assert rs.is_excluded(ip), ip
    for ip in ("127.0.0.2", "11.0.0.1", "2001:db9::1", "::ffff:10.0.0.1", "", "not-an-ip"):
        assert not rs.is_excluded(ip), ip


def test_compiled_once_per_settings_version() -> None:
    section: dict[str, Any] = {"enabled": True, "rules": [rule("/api/")], "excludedIPs": []}
    assert ruleset(section) is ruleset(section)
    swapped = {**section, "rules": [rule("/x/")]}
    assert ruleset(swapped) is not ruleset(section)
    assert [r.label for r in ruleset(swapped).rules] == ["/x/"]


def test_huge_durations_are_clamped_for_the_backend() -> None:
    assert Rule("/a", "", 9_999_999_999_999, 1).window == MAX_WINDOW
    assert Rule("/a", "", 3, 1).window == 3.0


# ------------------------------------------------------------------------------ counting
async def test_consume_counts_in_a_fixed_window() -> None:
    now = [100.0]
    cache = MemoryCache(clock=lambda: now[0])
    r = Rule("/api/", "", 10, 2)
    key = counter_key("/api/", r, "1.2.3.4")
    verdicts = [await consume(cache, key, r) for _ in range(3)]
    assert [(v.allowed, v.limit, v.remaining, v.reset_in) for v in verdicts] == [
        (True, 2, 1, 10.0),
        (True, 2, 0, 10.0),
        (False, 2, 0, 10.0),
    ]
    now[0] += 9.5
    assert (await consume(cache, key, r)).reset_in == 0.5
    now[0] += 0.5
    assert (await consume(cache, key, r)).remaining == 1  # a new window


def test_counter_keys_separate_clients_audiences_and_edited_rules() -> None:
    base = Rule("/api/", "", 10, 2)
    keys = {
        counter_key("/api/", base, "1.2.3.4"),
        counter_key("/api/", base, "1.2.3.5"),
        counter_key("/api/", Rule("/api/", "@guest", 10, 2), "1.2.3.4"),
        counter_key("/api/", Rule("/api/", "", 10, 3), "1.2.3.4"),
        counter_key("/api/", Rule("/api/", "", 11, 2), "1.2.3.4"),
    }
    assert len(keys) == 5


def test_cache_outage_is_logged_at_most_once_a_minute(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(limiter_module.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(limiter_module, "_last_warning", -limiter_module._WARN_EVERY)
    with caplog.at_level(logging.WARNING, logger="satchel.ratelimit"):
        limiter_module.cache_unavailable(CacheError("down"))
        limiter_module.cache_unavailable(CacheError("down"))
        clock[0] += limiter_module._WARN_EVERY
        limiter_module.cache_unavailable(CacheError("still down"))
    assert [r.getMessage() for r in caplog.records] == [
        "rate limits and login guard not enforced: cache unavailable (down)",
        "rate limits and login guard not enforced: cache unavailable (still down)",
    ]


# ------------------------------------------------------------------------------ decoding
def test_load_patch_decodes_as_go_does() -> None:
    out = load_patch(
        {"rateLimits": {"rules": [None, {"label": None, "maxRequests": 3, "extra": 1}], "excludedIPs": None}}
    )
    assert out["rateLimits"] == {
        "rules": [
            {"label": "", "audience": "", "duration": 0, "maxRequests": 0},
            {"label": "", "audience": "", "duration": 0, "maxRequests": 3},
        ],
        "excludedIPs": [],
    }
    assert load_patch({"rateLimits": {"rules": None}})["rateLimits"]["rules"] == []
    assert load_patch({"rateLimits": {"excludedIPs": ["1.2.3.4", None]}})["rateLimits"]["excludedIPs"] == [
        "1.2.3.4",
        "",
    ]
    untouched = {"meta": {"appName": "x"}}
    assert load_patch(untouched) is untouched
    assert load_patch({"rateLimits": "x"}) == {"rateLimits": "x"}  # left for the generic merge to refuse


@pytest.mark.parametrize(
    "section",
    [
        {"rules": "x"},
        {"rules": [1]},
        {"rules": [{"duration": 2.0}]},
        {"rules": [{"duration": 1.5}]},
        {"rules": [{"maxRequests": "2"}]},
        {"rules": [{"maxRequests": True}]},
        {"rules": [{"maxRequests": 1 << 63}]},
        {"rules": [{"label": 5}]},
        {"rules": [{"audience": False}]},
        {"excludedIPs": "1.2.3.4"},
        {"excludedIPs": [1]},
    ],
)
def test_load_patch_refuses_what_go_cannot_decode(section: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        load_patch({"rateLimits": section})


# ------------------------------------------------------------------------------ validation
def errors(section: dict[str, Any]) -> dict[str, Any]:
    full = {"enabled": False, "rules": [], "excludedIPs": [], **section}
    return errors_to_json(validate(full))


BLANK = {"code": "validation_required", "message": "Cannot be blank."}
MIN_1 = {
    "code": "validation_min_greater_equal_than_required",
    "message": "Must be no less than 1.",
    "params": {"threshold": 1},
}
IN_INVALID = {"code": "validation_in_invalid", "message": "Must be a valid value."}
FORMAT = {"code": "validation_match_invalid", "message": "Must be in a valid format."}
BAD_IP = {"code": "validation_invlaid_ip_or_subnet", "message": "Invalid IP or CIDR subnet."}


def conflict(label: str) -> dict[str, Any]:
    return {
        "code": "validation_conflicting_rate_limit_rule",
        "message": f"Rate limit rule configuration with label {label} already exists or conflicts with another rule.",
        "params": {"label": label},
    }


def test_pocketbase_defaults_are_valid() -> None:
    from satchel.core.settings import default_settings

    assert errors({**default_settings()["rateLimits"], "enabled": True}) == {}


def test_rules_required_only_when_enabled() -> None:
    assert errors({"enabled": True}) == {"rules": BLANK}
    assert errors({"enabled": False}) == {}


def test_each_rule_validated_as_pocketbase() -> None:
    got = errors(
        {
            "rules": [
                {"label": "", "audience": "x", "duration": 0, "maxRequests": 0},
                {"label": "bad label!", "audience": "@guest", "duration": -1, "maxRequests": -5},
            ]
        }
    )
    assert got == {
        "rules": {
            "0": {
                "audience": IN_INVALID,
                "duration": BLANK,
                "label": BLANK,
                "maxRequests": BLANK,
            },
            "1": {"duration": MIN_1, "label": FORMAT, "maxRequests": MIN_1},
        }
    }


@pytest.mark.parametrize(
    ("label", "valid"),
    [
        ("GET /api/x", True),
        ("get /api/x-y_z/", True),
        ("/", True),
        ("/api/", True),
        ("users:create", True),
        ("*:auth", True),
        ("tag_1", True),
        ("*", False),
        ("é", False),
        ("GET  /api", False),
        ("/api/x?y", False),
        ("a:b:c", False),
        ("a\n", False),  # Go's `$` is the end of text, not "before a final newline"
    ],
)
def test_label_format(label: str, valid: bool) -> None:
    got = errors({"rules": [rule(label)]})
    assert got == ({} if valid else {"rules": {"0": {"label": FORMAT}}})


def test_conflicts_are_reported_alone_once_every_rule_is_valid() -> None:
    # PocketBase's quirk: "label@@" (every audience) prefixes "label@@@guest"
    dup = errors({"rules": [rule("/api/"), rule("/api/", "@guest"), rule("/x", duration=0)]})
    assert dup == {"rules": {"2": {"duration": BLANK}}}  # a rule's own errors come first
    dup = errors({"rules": [rule("/api/"), rule("/api/", "@guest"), rule("/x"), rule("/x")]})
    assert dup == {"rules": {"1": {"label": conflict("/api/")}}}
    assert errors({"rules": [rule("a"), rule("a", "zz")]}) == {"rules": {"1": {"audience": IN_INVALID}}}
    last = errors({"rules": [rule("/api/", "@auth"), rule("/api/", "@guest"), rule("/api/")]})
    assert last == {"rules": {"2": {"label": conflict("/api/")}}}
    assert errors({"rules": [rule("/api/"), rule("/api/x"), rule("/api")]}) == {}
    assert errors({"rules": [rule("*:auth", "@guest"), rule("*:auth", "@auth")]}) == {}


def test_excluded_ips_validated_as_go_netip() -> None:
    got = errors({"excludedIPs": ["", "1.2.3.4", "10.0.0.0/8", "nope", "::1", "1.2.3.4/40", "1.2.3.4 "]})
    assert got == {"excludedIPs": {"0": BLANK, "3": BAD_IP, "5": BAD_IP, "6": BAD_IP}}
    fine = [
        "::ffff:1.2.3.4",
        "fe80::1%eth0",
        "1.2.3.4/32",
        "10.1.2.3/8",
        "2001:db8::/32",
        "0.0.0.0/0",
        "fe80::1%eth0/64",
    ]
    assert errors({"excludedIPs": fine}) == {}
    wrong = ["01.2.3.4", "1.2.3.4/08", "1.2.3.4/255.0.0.0", "1.2.3.4/", "1.2.3.4/٣", "1.2.3.4/+8"]
    assert errors({"excludedIPs": wrong}) == {"excludedIPs": {str(i): BAD_IP for i in range(len(wrong))}}


def test_rules_and_excluded_ips_reported_together() -> None:
    got = errors({"enabled": True, "excludedIPs": ["x"]})
    assert got == {"rules": BLANK, "excludedIPs": {"0": BAD_IP}}
    got = errors({"enabled": True, "rules": [rule("a", duration=0), rule("a")], "excludedIPs": ["x"]})
    assert got == {"rules": {"0": {"duration": BLANK}}, "excludedIPs": {"0": BAD_IP}}
