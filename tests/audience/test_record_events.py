"""The batch write of the event log: duplicates inside a batch and across batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fencun.audience.models import Event, Follower
from fencun.audience.services import NewEvent, record_event, record_events

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def _text(openid: str, key: str, minute: int = 0) -> NewEvent:
    return NewEvent("text", openid, T0 + timedelta(minutes=minute), {"content": key}, "test", key)


@pytest.mark.django_db
def test_a_batch_stores_each_key_once_and_reports_which_were_new(make_account):
    account = make_account()
    record_event(account, kind="text", openid="o1", occurred_at=T0, payload={}, source="test", dedup_key="old")
    results = record_events(
        account, [_text("o1", "a", 5), _text("o2", "b"), _text("o1", "a", 5), _text("o1", "old")]
    )
    assert [r.created for r in results] == [True, True, False, False]
    assert results[2].event.pk == results[0].event.pk
    assert results[3].event.dedup_key == "old" and results[3].event.pk is not None
    assert Event.objects.count() == 3
    assert Follower.objects.get(openid="o1").last_interaction_at == T0 + timedelta(minutes=5)
    assert Follower.objects.filter(account=account).count() == 2


@pytest.mark.django_db
def test_events_without_a_follower_are_stored(make_account):
    account = make_account()
    (result,) = record_events(account, [NewEvent("masssendjobfinish", "", T0, {"MsgID": 1}, "callback", "m1")])
    assert result.created and result.event.follower is None
    assert Follower.objects.count() == 0


@pytest.mark.django_db
def test_a_failing_batch_changes_nothing(make_account):
    account = make_account()
    unstorable = NewEvent("text", "o2", T0, {"x": object()}, "test", "b")  # not JSON
    with pytest.raises(TypeError):
        record_events(account, [_text("o1", "a"), unstorable])
    assert Event.objects.count() == 0
    assert Follower.objects.count() == 0
