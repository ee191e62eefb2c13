"""Retention: events past an account's retention lose everything that names a person,
keep what the totals need, and the present (the follower's row) stays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from fencun import clock
from fencun.audience.models import Event, Follower
from fencun.audience.retention import anonymise_old_events
from fencun.audience.services import record_event
from fencun.cli.main import app

pytestmark = pytest.mark.django_db(transaction=True)
OLD, NEW = "o_old_customer", "o_new_customer"


@pytest.fixture
def history(make_account):
    account = make_account()
    now = clock.now()
    long_ago, lately = now - timedelta(days=400), now - timedelta(days=20)
    for openid, at in ((OLD, long_ago), (NEW, lately)):
        record_event(account, kind="subscribe", openid=openid, occurred_at=at, payload={"scene": "ADD_SCENE_SEARCH"},
                     source="test", dedup_key=f"s:{openid}")
        record_event(account, kind="text", openid=openid, occurred_at=at, payload={"content": "我家在江北"},
                     source="test", dedup_key=f"t:{openid}")
        record_event(account, kind="order", openid=openid, occurred_at=at,
                     payload={"amount": 1999.0, "product": "sofa-1", "order_id": "A1"}, source="test",
                     dedup_key=f"o:{openid}")
    return account


def test_old_events_lose_what_names_a_person_and_keep_the_totals(history):
    account = history
    revenue = sum(e.payload["amount"] for e in Event.objects.filter(kind="order"))
    account.retention_months = 12
    assert anonymise_old_events(account) == 3
    assert not Event.objects.filter(openid=OLD).exists()
    old_order = Event.objects.get(kind="order", openid="", payload__product="sofa-1", occurred_at__lt=clock.now() - timedelta(days=300))
    assert old_order.payload == {"amount": 1999.0, "product": "sofa-1"} and old_order.follower is None
    assert OLD not in old_order.dedup_key
    assert sum(e.payload["amount"] for e in Event.objects.filter(kind="order")) == revenue
    assert Event.objects.filter(openid=NEW).count() == 3  # inside the retention
    assert Follower.objects.filter(openid=OLD).exists()  # the present stays
    assert anonymise_old_events(account) == 0


def test_the_command_sets_applies_and_clears_the_retention(history):
    set_ = CliRunner().invoke(app, ["--lang", "en", "retention", "--months", "6"])
    assert set_.exit_code == 0, set_.output
    assert "6 months" in set_.output and "3 made anonymous" in set_.output
    history.refresh_from_db()
    assert history.retention_months == 6
    cleared = CliRunner().invoke(app, ["--lang", "en", "retention", "--months", "0"])
    assert cleared.exit_code == 0 and "no time limit" in cleared.output
    bad = CliRunner().invoke(app, ["retention", "--months", "-1"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output
