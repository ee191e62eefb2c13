"""Follower state is a projection of the event log: any arrival order, then replay, agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import sized

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
    max_examples=sized(40, 15),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(event_strategy, min_size=1, max_size=25), st.randoms(use_true_random=False))
def test_live_projection_in_any_order_equals_replay(make_account, events, rnd):
    Event.objects.all().delete()
    Follower.objects.all().delete()
    from fencun.accounts.models import Account

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


@pytest.mark.django_db
@settings(
    max_examples=sized(40, 15),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(event_strategy, min_size=1, max_size=30),
    st.randoms(use_true_random=False),
    st.integers(min_value=1, max_value=8),
)
def test_batched_appends_in_any_order_equal_replay(make_account, events, rnd, batch):
    """The callback's batch writer: several kinds and followers per statement, same state."""
    from fencun.audience.services import NewEvent, append_events

    Event.objects.all().delete()
    Follower.objects.all().delete()
    from fencun.accounts.models import Account

    account = Account.objects.first() or make_account()
    shuffled = list(enumerate(events))
    rnd.shuffle(shuffled)
    new = [
        NewEvent(kind, openid, T0 + timedelta(minutes=minute), _payload(kind, variant, minute), "test", f"k{index}")
        for index, (kind, minute, openid, variant) in shuffled
    ]
    for start in range(0, len(new), batch):
        append_events(account.pk, new[start : start + batch])
    live = _state(account)
    rebuild_followers(account)
    assert _state(account) == live


@pytest.mark.django_db
def test_a_batch_leaves_other_followers_fields_exactly_as_stored(make_account):
    """A batch writes the union of the fields it changed; a follower that changed only one
    of them keeps the others to the last bit (no rounding on the way through)."""
    from fencun.audience.services import NewEvent, append_events

    account = make_account()
    lat, lng = 23.123456789012345, 114.98765432109877
    append_events(account.pk, [NewEvent(kinds.LOCATION, "o_a", T0, {"lat": lat, "lng": lng}, "test", "a1")])
    later = T0 + timedelta(minutes=5)
    append_events(
        account.pk,
        [
            NewEvent(kinds.TEXT, "o_a", later, {"content": "hi"}, "test", "a2"),
            NewEvent(kinds.LOCATION, "o_b", later, {"lat": 22.5, "lng": 114.1}, "test", "b1"),
        ],
    )
    a = Follower.objects.get(openid="o_a")
    assert (a.lat, a.lng, a.location_at, a.last_interaction_at) == (lat, lng, T0, later)
    assert Follower.objects.get(openid="o_b").location == {"lat": 22.5, "lng": 114.1}


@pytest.mark.parametrize(
    "kind", sorted(kinds.INTERACTION_KINDS | {kinds.SUBSCRIBE, kinds.UNSUBSCRIBE, kinds.PROFILE, kinds.LOCATION,
                                              kinds.VIEW, kinds.READ, kinds.ORDER, "unknown_event"})
)
@pytest.mark.parametrize("variant", [0, 1, 2])
def test_fields_of_names_every_field_apply_touches(kind, variant):
    """The batch writer reads only ``fields_of(kind)``: apply must need no other field."""
    from fencun.audience import projection

    allowed = projection.fields_of(kind)

    class Slotted:
        __slots__ = tuple(allowed)

    follower = Slotted()
    for name in allowed:
        setattr(follower, name, [] if name == "tags" else "" if name in ("unionid", "language", "remark",
                "subscribe_scene", "subscribe_scene_value") else False if name == "subscribed" else None)
    changed = projection.apply(follower, kind, T0, _payload(kind, variant, 7))
    assert changed <= allowed


@pytest.mark.django_db
@pytest.mark.parametrize("first", [(23.0, 114.0), (23.01, 114.0)])
def test_two_locations_at_the_same_moment_fold_the_same_in_any_order(make_account, first):
    from fencun.audience.services import NewEvent, append_events

    account = make_account()
    second = (23.01, 114.0) if first == (23.0, 114.0) else (23.0, 114.0)
    for key, (lat, lng) in (("l1", first), ("l2", second)):
        append_events(account.pk, [NewEvent(kinds.LOCATION, "o_t", T0, {"lat": lat, "lng": lng}, "test", key)])
    live = _state(account)
    rebuild_followers(account)
    assert _state(account) == live
    assert Follower.objects.get(openid="o_t").lat == 23.01
