"""A campaign's whole life in the console and the API: the dry run plans for the send
time and the approval keeps it, the quiet hours are said and never slipped into, a draft
is edited or deleted, a scheduled campaign paused, resumed or cancelled, and each state
shows only its own steps.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from fencun import clock
from fencun.accounts.roles import grant
from fencun.api.models import ApiToken
from fencun.audience.services import record_event
from fencun.campaigns.models import Campaign, OutboxItem
from fencun.campaigns.segments import forget_states
from fencun.campaigns.services import (
    CampaignError,
    archive_campaign,
    create_campaign,
    delete_campaign,
    update_rules,
)
from fencun.catalog.models import Category

pytestmark = pytest.mark.django_db

# A Tuesday, 10:00 in Shanghai.
NOW = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
TOMORROW_AT_TEN = "2026-11-04T10:00"  # Shanghai, as the console's field sends it
TOMORROW_AT_ELEVEN_PM = "2026-11-04T23:00"


@pytest.fixture
def shop(make_account):
    """Twelve followers who asked about sofas; quiet hours 22:00–08:00; no holdout."""
    clock.set_now(NOW)
    account = make_account(account_type="service")
    category = Category.objects.create(account=account, key="sofa", name="沙发", keywords=["沙发"])
    for n in range(12):
        openid = f"o-flow-{n}"
        record_event(account, kind="subscribe", openid=openid, occurred_at=NOW - timedelta(days=60),
                     payload={}, source="test", dedup_key=f"s{n}")
        record_event(account, kind="text", openid=openid, occurred_at=NOW - timedelta(days=2),
                     payload={"content": "沙发有货吗"}, source="test", dedup_key=f"t{n}")
    update_rules(account, quiet_start="22:00", quiet_end="08:00", holdout_fraction=0.0,
                 control_fraction=0.0, follower_value_yuan=0.0)
    forget_states()
    yield account, category
    clock.reset()
    forget_states()


@pytest.fixture
def owner(client, shop):
    user = User.objects.create_user("flow-owner", password="a-long-password-1")
    grant(user, shop[0], "operator")
    client.force_login(user)
    return user


def _linted(shop) -> Campaign:
    account, category = shop
    c = create_campaign(account, name="周末沙发", category=category, title="周末沙发到店体验",
                        body="黄山路店新到布艺沙发，欢迎到店看样。")
    c.status = Campaign.Status.LINTED
    c.save()
    return c


def _api(client, method: str, url: str, token: str, body: object = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    if body is None:
        return getattr(client, method)(url, **headers)
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json", **headers)


def test_the_dry_run_plans_for_the_send_time_and_the_approval_keeps_it(client, owner, shop):
    c = _linted(shop)
    url = f"/campaigns/{c.pk}/"
    r = client.post(url, {"step": "dry_run", "send_at": TOMORROW_AT_TEN})
    assert r.status_code == 200, r.content.decode()
    plan = c.plans.get()
    assert plan.planned_for == datetime(2026, 11, 4, 2, 0, tzinfo=UTC) and plan.reach > 0
    page = r.content.decode()
    assert "3. 批准：于 2026-11-04 10:00 发送" in page  # the approval names the planned time
    client.post(url, {"step": "approve", "plan": str(plan.pk)})
    c.refresh_from_db()
    assert c.status == Campaign.Status.SCHEDULED and c.scheduled_for == plan.planned_for


def test_a_dry_run_in_the_quiet_hours_says_so_and_offers_nothing_to_approve(client, owner, shop):
    c = _linted(shop)
    url = f"/campaigns/{c.pk}/"
    page = client.post(url, {"step": "dry_run", "send_at": TOMORROW_AT_ELEVEN_PM}).content.decode()
    assert "2026-11-04 23:00 在免打扰时段（22:00–08:00）内" in page
    assert c.plans.get().reach == 0 and 'value="approve"' not in page
    assert "这个计划没有任何人可发" in page  # what to do instead: another time or audience


def test_the_api_plans_for_send_at_and_asks_before_sending_in_the_quiet_hours(client, shop):
    c = _linted(shop)
    token = ApiToken.issue("flows", [shop[0]])[1]
    r = _api(client, "post", f"/api/campaigns/{c.pk}/plan?send_at={TOMORROW_AT_TEN}", token)
    assert r.status_code == 200 and r.json()["planned_for"] == "2026-11-04T10:00:00+08:00", r.content
    assert r.json()["warnings"] == []
    late = {"send_at": "2026-11-04T22:30"}
    r = _api(client, "post", f"/api/campaigns/{c.pk}/approve", token, late)
    assert r.status_code == 400 and "免打扰" in r.json()["detail"]
    assert Campaign.objects.get(pk=c.pk).status == Campaign.Status.PLANNED and not c.outbox.exists()
    r = _api(client, "post", f"/api/campaigns/{c.pk}/approve", token, {**late, "quiet_hours_ok": True})
    assert r.status_code == 200 and r.json()["campaign"]["status"] == "scheduled", r.content
    r = _api(client, "post", f"/api/campaigns/{c.pk}/pause", token)
    assert r.status_code == 200 and r.json()["status"] == "paused"
    r = _api(client, "post", f"/api/campaigns/{c.pk}/resume", token)
    assert r.status_code == 200 and r.json()["status"] == "sending"
    r = _api(client, "delete", f"/api/campaigns/{c.pk}", token)
    assert r.status_code == 400 and "请先取消" in r.json()["detail"] and Campaign.objects.filter(pk=c.pk).exists()


def test_a_plan_in_the_quiet_hours_warns_in_the_api_and_sends_nothing(client, shop):
    c = _linted(shop)
    token = ApiToken.issue("flows", [shop[0]])[1]
    plan = _api(client, "post", f"/api/campaigns/{c.pk}/plan?send_at={TOMORROW_AT_ELEVEN_PM}", token).json()
    assert plan["reach"] == 0 and any("免打扰" in w for w in plan["warnings"]), plan
    # Approved at its own time, the plan kept the quiet hours itself: nothing goes out.
    r = _api(client, "post", f"/api/campaigns/{c.pk}/approve", token, {"plan": plan["id"]})
    assert r.status_code == 200 and r.json()["outbox_rows"] == 0, r.content


def test_a_draft_is_edited_back_to_draft_and_an_approved_one_is_not(client, owner, shop):
    c = _linted(shop)
    edit = f"/campaigns/{c.pk}/edit/"
    page = client.get(edit).content.decode()
    assert "周末沙发到店体验" in page  # the form holds what is saved
    form = {"name": "周末沙发", "category": str(c.category_id), "segment": "", "channel": "mass",
            "message_type": "text", "title": "周末沙发，到店有礼", "body": c.body}
    r = client.post(edit, form)
    assert r.status_code == 302
    c.refresh_from_db()
    assert c.title == "周末沙发，到店有礼" and c.status == Campaign.Status.DRAFT
    r = client.post(edit, {**form, "segment": "interest:sofa AND AND"})
    assert r.status_code == 200 and "errorlist" in r.content.decode()
    assert Campaign.objects.get(pk=c.pk).segment == ""  # refused: nothing changed
    c.status = Campaign.Status.SCHEDULED
    c.save()
    assert client.get(edit).status_code == 302  # back to the campaign: no edit once approved
    r = client.post(edit, {**form, "title": "不该改"})
    assert Campaign.objects.get(pk=c.pk).title == "周末沙发，到店有礼"


def test_each_state_shows_only_its_own_steps(client, owner, shop):
    c = _linted(shop)
    url = f"/campaigns/{c.pk}/"
    page = client.get(url).content.decode()
    assert 'value="dry_run"' in page and 'value="delete"' in page and 'value="cancel"' not in page
    c.status = Campaign.Status.DONE
    c.save()
    page = client.get(url).content.decode()
    for step in ("lint", "dry_run", "approve", "cancel", "delete", "pause"):
        assert f'value="{step}"' not in page, step
    r = client.post(url, {"step": "lint"})
    assert r.status_code == 400 and Campaign.objects.get(pk=c.pk).status == Campaign.Status.DONE


def test_cancel_pause_resume_and_delete_from_the_console(client, owner, shop):
    c = _linted(shop)
    url = f"/campaigns/{c.pk}/"
    client.post(url, {"step": "dry_run", "send_at": TOMORROW_AT_TEN})
    client.post(url, {"step": "approve"})
    c.refresh_from_db()
    assert c.status == Campaign.Status.SCHEDULED and c.outbox.exists()
    client.post(url, {"step": "pause"})
    c.refresh_from_db()
    assert c.status == Campaign.Status.PAUSED and "flow-owner" in c.pause_reason
    client.post(url, {"step": "cancel"})
    c.refresh_from_db()
    assert c.status == Campaign.Status.CANCELLED
    assert not c.outbox.filter(status__in=(OutboxItem.Status.PENDING, OutboxItem.Status.HELD)).exists()
    r = client.post(url, {"step": "delete"})  # nothing went out: it may go
    assert r.status_code == 302 and not Campaign.objects.filter(pk=c.pk).exists()


def test_a_campaign_that_reached_followers_is_never_deleted(shop):
    c = _linted(shop)
    OutboxItem.objects.create(campaign=c, key="b0", openids=["o-flow-1"], status=OutboxItem.Status.SENT)
    c.status = Campaign.Status.DONE
    c.save()
    with pytest.raises(CampaignError, match="已经触达粉丝"):
        delete_campaign(c)
    c.status = Campaign.Status.CANCELLED  # cancelled after the first batch went
    c.save()
    with pytest.raises(CampaignError):
        delete_campaign(c)
    assert Campaign.objects.filter(pk=c.pk).exists() and c.outbox.count() == 1


def test_a_finished_campaign_is_archived_out_of_the_list_and_brought_back(client, owner, shop):
    c = _linted(shop)
    url = f"/campaigns/{c.pk}/"
    with pytest.raises(CampaignError, match="只有已完成或已取消"):
        archive_campaign(c)  # still a draft: it belongs in the list
    r = client.post(url, {"step": "archive"})
    assert r.status_code == 400 and Campaign.objects.get(pk=c.pk).archived_at is None
    OutboxItem.objects.create(campaign=c, key="b0", openids=["o-flow-1"], status=OutboxItem.Status.SENT)
    Campaign.objects.filter(pk=c.pk).update(status=Campaign.Status.DONE)
    client.cookies["django_language"] = "en"
    assert '<input type="hidden" name="step" value="archive">' in client.get(url).content.decode()
    r = client.post(url, {"step": "archive"})
    assert r.status_code == 200 and Campaign.objects.get(pk=c.pk).archived_at is not None
    assert c.name not in client.get("/campaigns/").content.decode()
    archived = client.get("/campaigns/?archived=1").content.decode()
    assert c.name in archived and "Archived campaigns" in archived
    page = client.get(url).content.decode()  # an archived campaign offers only to come back
    assert 'value="unarchive"' in page and 'value="archive"' not in page
    client.post(url, {"step": "unarchive"})
    assert Campaign.objects.get(pk=c.pk).archived_at is None and c.name in client.get("/campaigns/").content.decode()


def test_the_api_archives_and_lists_the_archived_apart(client, shop):
    c = _linted(shop)
    token = ApiToken.issue("flows", [shop[0]])[1]
    r = _api(client, "post", f"/api/campaigns/{c.pk}/archive", token)
    assert r.status_code == 400 and "只有已完成或已取消" in r.json()["detail"]
    Campaign.objects.filter(pk=c.pk).update(status=Campaign.Status.CANCELLED)
    r = _api(client, "post", f"/api/campaigns/{c.pk}/archive", token)
    assert r.status_code == 200 and r.json()["archived_at"] is not None
    assert [x["id"] for x in _api(client, "get", "/api/campaigns", token).json()] == []
    assert [x["id"] for x in _api(client, "get", "/api/campaigns?archived=true", token).json()] == [c.pk]
    r = _api(client, "post", f"/api/campaigns/{c.pk}/unarchive", token)
    assert r.status_code == 200 and r.json()["archived_at"] is None
    assert [x["id"] for x in _api(client, "get", "/api/campaigns", token).json()] == [c.pk]


def test_an_article_the_engine_held_back_from_some_is_offered_for_publishing_too(client, owner, shop):
    from fencun.campaigns.models import PlanSnapshot

    account, category = shop
    article = create_campaign(account, name="周末沙发", category=category, message_type="news",
                              title="周末沙发，到店有礼", body="新款布艺沙发到店。")
    url = f"/campaigns/{article.pk}/"
    assert 'data-figure="publish-offer"' not in client.get(url).content.decode()  # no plan: nothing held back
    r = client.post(url, {"step": "publish_copy"})
    assert r.status_code == 400 and Campaign.objects.filter(channel="publish").count() == 0
    PlanSnapshot.objects.create(campaign=article, planned_for=NOW, reach=3, audience=12,
                                held_back={"harm_exceeds_value": 6, "low_relevance": 2, "holdout": 1})
    client.cookies["django_language"] = "en"
    page = client.get(url).content.decode()
    assert 'data-figure="publish-offer"' in page and "The engine held back 8 followers" in page
    r = client.post(url, {"step": "publish_copy"})
    copy = Campaign.objects.get(channel="publish")
    assert r.status_code == 302 and r["Location"] == f"/campaigns/{copy.pk}/"
    assert (copy.status, copy.title, copy.segment) == ("draft", "周末沙发，到店有礼", "")
    token = ApiToken.issue("flows", [account])[1]
    out = _api(client, "get", f"/api/campaigns/{article.pk}", token).json()
    assert out["publish_offer"] == 8
    r = _api(client, "post", f"/api/campaigns/{article.pk}/publication", token)
    assert r.status_code == 201 and r.json()["campaign"]["channel"] == "publish"
