"""Journeys in the console: the list, a new journey (refused with the reason, nothing
saved, when it cannot run), its page with who is where, start, pause, resume, change."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User

from fencun.accounts.roles import grant
from fencun.campaigns.models import Journey
from fencun.catalog.models import Category

pytestmark = pytest.mark.django_db

DEFINITION = {
    "trigger": {"kind": "subscribe", "scene": "store42"},
    "steps": [{"send": {"title": "欢迎光临", "category": "sofa", "products": []}}, {"wait_days": 2},
              {"send": {"title": "本周优惠", "category": "sofa", "products": []}}],
    "exit": {"on_order": True},
}


@pytest.fixture
def shop(client, make_account):
    account = make_account()
    Category.objects.create(account=account, key="sofa", name="沙发")
    user = User.objects.create_user("operator", password="a-long-password-1")
    grant(user, account, "operator")
    client.force_login(user)
    return account


def test_a_journey_is_made_started_paused_resumed_and_changed(client, shop):
    client.cookies["django_language"] = "zh-hans"
    assert "旅程" in client.get("/journeys/").content.decode()
    r = client.post("/journeys/", {"name": "进店欢迎", "definition": json.dumps(DEFINITION)})
    journey = Journey.objects.get(account=shop)
    assert r.status_code == 302 and r.url == f"/journeys/{journey.pk}/"
    page = client.get(r.url).content.decode()
    assert "进店欢迎" in page and "草稿" in page
    for action, status in (("start", "live"), ("pause", "paused"), ("resume", "live")):
        assert client.post(r.url, {"action": action}).status_code == 302
        journey.refresh_from_db()
        assert journey.status == status
    assert client.post(r.url, {"action": "resume"}).status_code == 400  # live already
    changed = {**DEFINITION, "steps": DEFINITION["steps"][:1]}
    assert client.post(r.url, {"action": "save", "name": "欢迎", "definition": json.dumps(changed)}).status_code == 302
    journey.refresh_from_db()
    assert (journey.name, journey.version, len(journey.definition["steps"])) == ("欢迎", 2, 1)


@pytest.mark.parametrize(("definition", "words"), [
    ("{not json", "JSON"),
    (json.dumps({**DEFINITION, "steps": [{"wait_days": 1}]}), "at least one send step"),
    (json.dumps({**DEFINITION, "steps": [{"send": {"title": "x", "category": "lamps"}}]}), "lamps"),
])
def test_a_journey_that_cannot_run_is_refused_and_nothing_saved(client, shop, definition, words):
    client.cookies["django_language"] = "en"
    r = client.post("/journeys/", {"name": "j", "definition": definition})
    assert r.status_code == 400 and words in r.content.decode()
    assert not Journey.objects.exists()


def test_a_definition_nested_beyond_reason_is_refused(client, shop):
    r = client.post("/journeys/", {"name": "j", "definition": "[" * 100_000 + "]" * 100_000})
    assert r.status_code == 400 and not Journey.objects.exists()
