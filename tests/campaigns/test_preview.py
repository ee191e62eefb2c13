"""A campaign's preview: its message to one follower for review, through the sandbox over
HTTP, from the domain, the console and the API alike."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.utils import translation

from fencun.accounts.roles import grant
from fencun.api.models import ApiToken
from fencun.audience.models import Follower
from fencun.campaigns import services
from fencun.campaigns.models import Campaign
from fencun.campaigns.preview import preview
from fencun.campaigns.seeding import seed_account
from fencun.catalog.models import Category
from fencun.channels.models import MassSend

TITLE, BODY = "秋季沙发上新", "新款布艺沙发到店，欢迎来看看。"


@pytest.fixture
def shop(make_sandbox, settings):
    box = make_sandbox(account_type="service", followers=5, retry_too_fast_seconds=0)
    settings.WECHAT = {**settings.WECHAT, "API_BASE": box.api_base}
    account = seed_account(box)
    reviewer = Follower.objects.filter(account=account, subscribed=True).order_by("openid").first().openid
    return box, account, reviewer


def _campaign(account, kind: str = "text", channel: str = "mass") -> Campaign:
    return services.create_campaign(account, name="预览", category=Category.objects.get(account=account, key="sofa"),
                                    title=TITLE, body=BODY, message_type=kind, channel=channel)


def _previews(box) -> list[dict]:
    box.flush()
    return box.deliveries(kind="preview")


@pytest.mark.django_db
def test_a_preview_reaches_the_reviewer_alone_and_uses_no_mass_send(shop):
    box, account, reviewer = shop
    assert preview(_campaign(account), reviewer) is not None
    (sent,) = _previews(box)
    assert sent["openid"] == reviewer and BODY in sent["title"]
    assert not box.deliveries(kind="mass") and not MassSend.objects.exists()


@pytest.mark.django_db
def test_a_news_preview_is_a_draft_of_its_own_and_the_next_replaces_it(shop):
    box, account, reviewer = shop
    campaign = _campaign(account, "news")
    preview(campaign, reviewer)
    first = Campaign.objects.get(pk=campaign.pk).preview_media_id
    with box.platform.lock:
        assert box.platform.drafts[first]["articles"][0]["title"] == TITLE  # left in the box to read
    preview(campaign, reviewer)
    campaign.refresh_from_db()
    with box.platform.lock:
        assert campaign.preview_media_id != first and first not in box.platform.drafts
        assert set(box.platform.drafts) == {campaign.preview_media_id}  # nothing unlisted
        assert [m["type"] for m in box.platform.materials.values()] == ["thumb"]  # one cover, kept for the send
    assert [p["msgtype"] for p in _previews(box)] == ["mpnews", "mpnews"]


@pytest.mark.django_db
@pytest.mark.parametrize(("lang", "words"), [("zh-hans", "没有关注"), ("en", "does not follow")])
def test_a_preview_to_someone_who_does_not_follow_is_refused_and_sends_nothing(shop, lang, words):
    box, account, _reviewer = shop
    with translation.override(lang), pytest.raises(services.CampaignError, match=words):
        preview(_campaign(account), "o-nobody")
    assert not _previews(box)


@pytest.mark.django_db
def test_a_customer_service_campaign_has_no_preview(shop):
    box, account, reviewer = shop
    with translation.override("en"), pytest.raises(services.CampaignError, match="mass send or a publication"):
        preview(_campaign(account, channel="customer_service"), reviewer)
    assert not _previews(box)


@pytest.mark.django_db
def test_the_console_and_the_api_send_the_same_preview(shop, client):
    box, account, reviewer = shop
    campaign = _campaign(account)
    user = User.objects.create_user("operator", password="a-long-password-1")
    grant(user, account, "operator")
    client.force_login(user)
    client.cookies["django_language"] = "en"
    page = client.post(f"/campaigns/{campaign.pk}/", {"step": "preview", "openid": reviewer})
    assert page.status_code == 200 and f"The preview went to {reviewer}" in page.content.decode()
    refused = client.post(f"/campaigns/{campaign.pk}/", {"step": "preview", "openid": "o-nobody"})
    assert refused.status_code == 400 and "does not follow" in refused.content.decode()
    token = ApiToken.issue("review", [account])[1]
    answer = client.post(f"/api/campaigns/{campaign.pk}/preview", {"openid": reviewer}, content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 200 and answer.json()["msg_id"]
    assert [p["openid"] for p in _previews(box)] == [reviewer, reviewer]
