"""The hand-written batch statements: chunking, follower creation, duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fencun.audience.models import Event, Follower
from fencun.audience.services import NewEvent, append_events, record_events

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_batch_larger_than_one_statement_is_stored_whole(make_account):
    account = make_account()
    new = [
        NewEvent("text", f"o{i % 700}", T0 + timedelta(seconds=i), {"content": str(i)}, "test", f"k{i}")
        for i in range(1300)
    ]
    flags = append_events(account.pk, [*new, new[5]])
    assert flags == [True] * 1300 + [False]
    assert Event.objects.count() == 1300
    assert Follower.objects.count() == 700
    assert Event.objects.filter(follower__isnull=True).count() == 0
    last = Follower.objects.get(openid="o5").last_interaction_at
    assert last == T0 + timedelta(seconds=705)  # o5 got events 5 and 705


@pytest.mark.django_db
def test_append_reports_stored_and_in_batch_duplicates_as_not_new(make_account):
    account = make_account()
    append_events(account.pk, [NewEvent("click", "o1", T0, {"key": "K"}, "test", "a")])
    flags = append_events(
        account.pk,
        [
            NewEvent("click", "o1", T0, {"key": "K"}, "test", "a"),
            NewEvent("click", "o2", T0, {"key": "K"}, "test", "b"),
            NewEvent("click", "o2", T0, {"key": "K"}, "test", "b"),
        ],
    )
    assert flags == [False, True, False]
    assert Event.objects.count() == 2


@pytest.mark.django_db
def test_new_follower_row_has_the_model_defaults(make_account):
    account = make_account()
    append_events(account.pk, [NewEvent("view", "o_new", T0, {"key": "u"}, "test", "v")])
    follower = Follower.objects.get(openid="o_new")
    assert (follower.subscribed, follower.tags, follower.unionid, follower.last_interaction_at) == (False, [], "", None)
    assert follower.first_seen_at is not None and follower.updated_at is not None
    assert Event.objects.get(dedup_key="v").follower_id == follower.pk


@pytest.mark.django_db
def test_record_events_returns_saved_rows_with_their_follower(make_account):
    account = make_account()
    (result,) = record_events(account, [NewEvent("text", "o1", T0, {"content": "x"}, "test", "t")])
    stored = Event.objects.get(dedup_key="t")
    assert result.created and result.event.pk == stored.pk
    assert result.event.follower == Follower.objects.get(openid="o1")
    assert result.event.received_at == stored.received_at
