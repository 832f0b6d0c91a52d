"""Log lines are searched for a secret's shape only when they hold one of its hints: every match holds one."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from entrypoints.logs import MASK, SECRET_SHAPES, MaskedRenderer


@given(st.data())
def test_every_text_a_shape_matches_holds_one_of_its_hints(data: st.DataObject) -> None:
    for shape, hints in SECRET_SHAPES:
        text = data.draw(st.from_regex(shape))
        assert any(hint in shape.search(text).group(0) for hint in hints)  # type: ignore[union-attr]


def test_a_line_with_a_key_or_a_token_is_masked_and_one_without_is_left_alone() -> None:
    renderer = MaskedRenderer(lambda logger, name, event: event["event"], ["configured-secret-value"])
    key, token = "sk_live_0123456789abcdef", "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl"
    line = f"POST /x 200 {key} {token} configured-secret-value"

    assert renderer(None, "info", {"event": line}) == f"POST /x 200 {MASK} {MASK} {MASK}"
    assert renderer(None, "info", {"event": "GET /api/wallet 200 request_id=ab_cd"}) == (
        "GET /api/wallet 200 request_id=ab_cd"
    )


def test_a_key_or_a_token_after_a_control_character_is_masked_in_a_json_line() -> None:
    """JSON writes a newline, a tab or another control character as an escape (`\\n`, `\\u0001`): the key or token
    right after it starts no word in the line's text, and is masked all the same."""
    renderer = MaskedRenderer(lambda logger, name, event: json.dumps(event["event"]), [])
    key, token = "sk_live_0123456789abcdef", "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl"
    for before in ("\n", "\t", "\r", "\x01", "\x1f", "\b", "\f"):
        line = renderer(None, "info", {"event": f"got{before}{key}{before}{token}"})
        assert key not in line and "eyJzdWIiOi" not in line, line
    assert renderer(None, "info", {"event": "desk_queue task_list"}) == '"desk_queue task_list"'
