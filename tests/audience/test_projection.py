"""Follower state is a projection of the event log: any arrival order, then replay, agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fencun.audience import kinds
from fencun.audience.models import Event, Follower
from fencun.audience.services import rebuild_followers, record_event

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
FIELDS = (
    "subscribed",
    "subscribed_at",
    "unsubscribed_at",
    "subscribe_scene",
    "subscribe_scene_value",
    "lat",
    "lng",
    "location_at",
    "last_interaction_at",
    "tags",
    "unionid",
)

event_strategy = st.tuples(
    st.sampled_from(
        [
            kinds.SUBSCRIBE,
            kinds.UNSUBSCRIBE,
            kinds.TEXT,
            kinds.LOCATION,
            kinds.CLICK,
            kinds.VIEW,
            kinds.PROFILE,
        ]
    ),
    st.integers(min_value=0, max_value=10_000),  # minutes after T0
    st.sampled_from(["o_a", "o_b"]),
    st.integers(min_value=0, max_value=3),
)


def _payload(kind: str, variant: int, minute: int) -> dict:
    if kind == kinds.SUBSCRIBE:
        return (
            {"scene": "ADD_SCENE_QR_CODE", "scene_value": f"s{variant}"}
            if variant
            else {"scene": "ADD_SCENE_OTHERS"}
        )
    if kind == kinds.LOCATION:
        return {"lat": 23.0 + variant / 100, "lng": 114.0 + minute / 1e5}
    if kind == kinds.PROFILE:
        return {
            "subscribed": variant != 0,
            "subscribe_time": int((T0 + timedelta(minutes=minute)).timestamp()),
            "tags": [variant, 100],
            "unionid": f"u{variant}",
        }
    return {"content": "hi"} if kind == kinds.TEXT else {"key": "K"}


def _state(account):
    return {
        f.openid: tuple(getattr(f, name) for name in FIELDS)
        for f in Follower.objects.filter(account=account)
    }


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(event_strategy, min_size=1, max_size=25), st.randoms(use_true_random=False))
def test_live_projection_in_any_order_equals_replay(make_account, events, rnd):
    Event.objects.all().delete()
    Follower.objects.all().delete()
    from fencun.channels.models import Account

    account = Account.objects.first() or make_account()
    shuffled = list(enumerate(events))
    rnd.shuffle(shuffled)
    for index, (kind, minute, openid, variant) in shuffled:
        record_event(
            account,
            kind=kind,
            openid=openid,
            occurred_at=T0 + timedelta(minutes=minute),
            payload=_payload(kind, variant, minute),
            source="test",
            dedup_key=f"k{index}",
        )
    live = _state(account)
    rebuild_followers(account)
    assert _state(account) == live


@pytest.mark.django_db
def test_duplicate_dedup_key_is_stored_once(make_account):
    account = make_account()
    first = record_event(
        account,
        kind="text",
        openid="o1",
        occurred_at=T0,
        payload={"content": "a"},
        source="callback",
        dedup_key="wx:o1:1",
    )
    again = record_event(
        account,
        kind="text",
        openid="o1",
        occurred_at=T0,
        payload={"content": "a"},
        source="callback",
        dedup_key="wx:o1:1",
    )
    assert first.created and not again.created
    assert again.event.pk == first.event.pk
    assert Event.objects.count() == 1


@pytest.mark.django_db
def test_location_and_view_do_not_open_the_service_window(make_account):
    account = make_account()
    for i, kind in enumerate([kinds.LOCATION, kinds.VIEW]):
        record_event(
            account,
            kind=kind,
            openid="o1",
            occurred_at=T0,
            payload={"lat": 23.0, "lng": 114.0, "key": "u"},
            source="test",
            dedup_key=f"d{i}",
        )
    assert Follower.objects.get(openid="o1").last_interaction_at is None
    record_event(
        account,
        kind=kinds.CLICK,
        openid="o1",
        occurred_at=T0,
        payload={"key": "K"},
        source="test",
        dedup_key="c",
    )
    assert Follower.objects.get(openid="o1").last_interaction_at == T0
