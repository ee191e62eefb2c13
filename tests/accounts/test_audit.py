"""The audit trail: each action recorded with who did it, append-only, shown per
campaign and exportable through the API."""

from __future__ import annotations

import pytest

from fencun.accounts import audit
from fencun.accounts.models import AuditEntry
from fencun.api.models import ApiToken
from fencun.campaigns.services import cancel, create_campaign, update_campaign
from fencun.catalog.models import Category

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(make_account):
    account = make_account()
    return account, Category.objects.create(account=account, key="sofa", name="沙发")


def test_each_action_is_recorded_with_who_did_it(shop):
    account, sofa = shop
    with audit.acting_as("user:alice"):
        campaign = create_campaign(account, name="周末上新", category=sofa, title="新品", body="到店看看")
        update_campaign(campaign, title="沙发新品")
    with audit.acting_as("user:bob"):
        cancel(campaign)
    rows = [(e.actor, e.action, e.detail.get("fields")) for e in audit.trail(account, campaign)]
    assert rows == [("user:alice", "campaign.created", None), ("user:alice", "campaign.changed", ["title"]),
                    ("user:bob", "campaign.cancelled", None)]


def test_entries_are_append_only(shop):
    account, _ = shop
    entry = audit.record(account, "test.done")
    entry.action = "test.undone"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.done"


def test_the_api_names_its_token_and_shows_a_campaigns_history_and_the_trail(client, shop):
    account, _ = shop
    token = ApiToken.issue("shop-erp", [account])[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    made = client.post("/api/campaigns", {"name": "周末", "category": "sofa", "title": "新品", "body": "到店看看"},
                       content_type="application/json", **auth)
    assert made.status_code == 201, made.content
    history = client.get(f"/api/campaigns/{made.json()['campaign']['id']}/audit", **auth).json()
    assert [(e["actor"], e["action"]) for e in history] == [("api:shop-erp", "campaign.created")]
    audit.record(account, "test.later")
    trail = client.get("/api/audit", **auth).json()
    assert [e["action"] for e in trail] == ["campaign.created", "test.later"]
    assert client.get(f"/api/audit?after={trail[0]['id']}", **auth).json()[0]["action"] == "test.later"
    # Outside a request, nobody in particular acts: the system does.
    assert trail[1]["actor"] == "system"
