"""The segment language: every error points at the offending token and its column."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.engine.factories import CATEGORIES, NOW, make_state

from fencun.engine.segments import SegmentError, check_segment, evaluate_segment


@pytest.mark.parametrize(
    ("text", "column", "token"),
    [
        ("tag:vip adn interest:sofa", 9, "adn"),
        ("distance<10 km", 13, "km"),
        ("interest:chair", 10, "chair"),
        ("orders>=x", 9, "x"),
        ("foo:bar", 1, "foo"),
        ("(tag:vip", 9, ""),
        ("tag:vip and", 12, ""),
    ],
)
def test_errors_point_at_the_bad_token(text, column, token):
    with pytest.raises(SegmentError) as info:
        check_segment(text, CATEGORIES)
    assert info.value.column == column
    assert info.value.token == token
    assert f"column {column}" in str(info.value)


def test_segments_select_what_they_say():
    state = make_state(400, 21)
    vip = evaluate_segment("tag:vip", state, NOW)
    assert (vip == state.tag_mask("vip")).all()
    near = evaluate_segment("distance<10km", state, NOW)
    assert (near == (state.distance_km < 10)).all()  # unknown distance never matches
    assert (evaluate_segment("not tag:vip", state, NOW) == ~vip).all()
    both = evaluate_segment("tag:vip and (distance<10km or not has:location)", state, NOW)
    assert (both == (vip & (near | np.isnan(state.lat)))).all()


@given(st.text(max_size=60))
def test_any_text_either_parses_or_raises_a_segment_error(text):
    try:
        check_segment(text, CATEGORIES)
    except SegmentError as exc:
        assert 1 <= exc.column <= len(text) + 1 or exc.column == 2001


def test_channel_selects_who_subscribed_last_through_that_code():
    from fencun.engine.state import FollowerState

    state = FollowerState(CATEGORIES, [])
    state.fold([
        {"kind": "subscribe", "openid": "o_store", "at": NOW - 300, "scene": "ADD_SCENE_QR_CODE", "scene_value": "store42"},
        {"kind": "subscribe", "openid": "o_world", "at": NOW - 200, "scene": "qrscene_store42"},
        {"kind": "subscribe", "openid": "o_poster", "at": NOW - 100, "scene": "qrscene_poster7"},
        {"kind": "subscribe", "openid": "o_search", "at": NOW - 100, "scene": "ADD_SCENE_SEARCH"},
        # Followed again later through search: no longer the code's.
        {"kind": "subscribe", "openid": "o_again", "at": NOW - 400, "scene": "qrscene_store42"},
        {"kind": "subscribe", "openid": "o_again", "at": NOW - 50, "scene": "ADD_SCENE_SEARCH"},
    ], now=NOW)
    chosen = evaluate_segment("channel:store42", state, NOW)
    assert sorted(o for o, m in zip(state.openids, chosen, strict=True) if m) == ["o_store", "o_world"]
    assert not evaluate_segment("channel:nowhere", state, NOW).any()
    assert evaluate_segment("scene:qrcode and not channel:store42", state, NOW).sum() == 1
