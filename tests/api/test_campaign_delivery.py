"""``GET /api/campaigns/{id}/delivery``: the counts and reasons the console shows."""

from __future__ import annotations

import pytest

from fencun.api.models import ApiToken
from fencun.campaigns import outcomes
from fencun.campaigns.models import OutboxItem
from fencun.campaigns.services import create_campaign
from fencun.catalog.models import Category

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(make_account):
    account = make_account()
    category = Category.objects.create(account=account, key="sofa", name="沙发")
    campaign = create_campaign(account, name="客服回访", category=category, channel="customer_service")
    for openid, status, code in [("o1", "sent", ""), ("o2", "unknown", outcomes.OUTCOME_UNKNOWN),
                                 ("o3", "unknown", outcomes.OUTCOME_UNKNOWN), ("o4", "pending", "")]:
        OutboxItem.objects.create(campaign=campaign, key=openid, openids=[openid], clientmsgid=f"k-{openid}",
                                  status=status, reason_code=code)
    return campaign


def _get(client, campaign, token, lang="zh-hans"):
    return client.get(f"/api/campaigns/{campaign.pk}/delivery", HTTP_AUTHORIZATION=f"Bearer {token}",
                      HTTP_ACCEPT_LANGUAGE=lang)


@pytest.mark.parametrize(("lang", "words"), [("zh-hans", "结果未知"), ("en", "Outcome unknown")])
def test_the_delivery_counts_the_unknown_and_says_why(client, campaign, lang, words):
    token = ApiToken.issue("tests", [campaign.account])[1]
    body = _get(client, campaign, token, lang).json()
    assert (body["recipients_sent"], body["recipients_unknown"], body["recipients_failed"]) == (1, 2, 0)
    assert body["rows"]["unknown"] == 2 and body["rows"]["pending"] == 1
    (reason,) = body["reasons"]
    assert (reason["status"], reason["code"], reason["recipients"]) == ("unknown", "outcome_unknown", 2)
    assert words in reason["label"]


def test_another_accounts_campaign_is_not_found(client, campaign, make_account):
    other = make_account(app_id="wx0000000000000002")
    token = ApiToken.issue("tests", [other])[1]
    assert _get(client, campaign, token).status_code == 404
    assert client.get(f"/api/campaigns/{campaign.pk}/delivery").status_code == 401
