"""The transcript diff must catch every kind of divergence the conformance tests rely on it for."""

from __future__ import annotations

import copy
from typing import Any

from diff import diff_transcripts, format_diff


def transcript() -> dict[str, Any]:
    return {
        "scenario": "t",
        "notes": [{"label": "n", "value": 1}],
        "exchanges": [
            {
                "step": "list",
                "request": {"method": "GET", "path": "/api/x", "query": {}},
                "response": {"status": 200, "contentType": "application/json", "body": {"items": [1, True]}},
            }
        ],
    }


def test_identical_transcripts_have_no_diff() -> None:
    assert diff_transcripts(transcript(), transcript()) == []


def test_status_body_and_type_differences_are_reported() -> None:
    cand = transcript()
    cand["exchanges"][0]["response"]["status"] = 400
    cand["exchanges"][0]["response"]["body"]["items"] = [1, 1]  # True vs 1: same in Python, not on the wire
    lines = diff_transcripts(transcript(), cand)
    assert any("status: 200 != 400" in line for line in lines)
    assert any("body.items[1]" in line for line in lines)


def test_content_type_parameters_are_ignored_but_media_type_is_not() -> None:
    cand = transcript()
    cand["exchanges"][0]["response"]["contentType"] = "application/json; charset=utf-8"
    assert diff_transcripts(transcript(), cand) == []
    cand["exchanges"][0]["response"]["contentType"] = "text/plain"
    assert diff_transcripts(transcript(), cand) != []


def test_missing_exchanges_and_misalignment_are_reported() -> None:
    ref = transcript()
    extra = copy.deepcopy(ref["exchanges"][0])
    extra["step"] = "other"
    ref["exchanges"].append(extra)
    cand = transcript()
    cand["exchanges"][0]["step"] = "renamed"
    lines = diff_transcripts(ref, cand)
    assert any("exchange count differs" in line for line in lines)
    assert any("misaligned" in line for line in lines)


def test_top_level_sections_outside_exchanges_are_compared() -> None:
    cand = transcript()
    cand["notes"][0]["value"] = 2
    assert diff_transcripts(transcript(), cand) == ["notes[0].value: 1 != 2"]


def test_ignored_keys_are_skipped() -> None:
    cand = transcript()
    cand["exchanges"][0]["response"]["body"]["extra"] = "x"
    assert diff_transcripts(transcript(), cand) != []
    assert diff_transcripts(transcript(), cand, ignore_keys=["extra"]) == []


def test_format_diff_truncates() -> None:
    text = format_diff([str(i) for i in range(10)], limit=3)
    assert text.splitlines() == ["0", "1", "2", "... 7 more lines"]
