"""Publishing without a push: a campaign that puts its article on the account's page and
in search (freepublish), through the sandbox over HTTP, reaching nobody."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from fencun.campaigns import delivery, planning, services
from fencun.campaigns.models import Campaign, OutboxItem
from fencun.campaigns.seeding import seed_account
from fencun.catalog.models import Category
from fencun.channels.services import wechat_client

TITLE, BODY = "秋季沙发上新", "新款布艺沙发到店，欢迎来看看。"


def _factory(box):
    return lambda account: wechat_client(account, api_base=box.api_base, backoff=0.0, timeout=1.0)


def _publication(account, **fields) -> Campaign:
    fields = {"title": TITLE, "body": BODY, "message_type": "news", "channel": "publish", **fields}
    campaign = services.create_campaign(account, name="发表", category=Category.objects.get(account=account, key="sofa"),
                                        **fields)
    services.lint_campaign(campaign, acknowledge_warnings=True)
    return campaign


def _send(box, campaign: Campaign) -> None:
    planning.approve(campaign, by="店长", scheduled_for=timezone.now())
    for _ in range(5):
        delivery.run_scheduler("sched")
        delivery.work("w", client_factory=_factory(box))
        if not delivery.has_work():
            break
    box.flush()


@pytest.mark.django_db
def test_a_publication_puts_the_article_online_and_pushes_nobody(make_sandbox):
    box = make_sandbox(account_type="subscription", followers=20, retry_too_fast_seconds=0)
    account = seed_account(box)
    campaign = _publication(account)
    plan = planning.dry_run(campaign)
    assert (plan.reach, plan.held_back, plan.delivery_method) == (0, {}, "publish")
    _send(box, campaign)
    campaign.refresh_from_db()
    (row,) = OutboxItem.objects.filter(campaign=campaign)
    assert campaign.status == Campaign.Status.DONE and row.status == OutboxItem.Status.SENT
    assert row.openids == [] and row.task_id  # the publish_id
    assert not box.deliveries(kind="mass") and not box.deliveries(kind="preview")
    with box.platform.lock:
        (job,) = box.platform.publish_jobs.values()
        assert str(job.publish_id) == row.task_id and job.status == 0  # published
        (published,) = box.platform.published.values()
        assert published["articles"][0]["title"] == TITLE
        assert not box.platform.drafts, "a published draft leaves the box"


@pytest.mark.django_db
def test_a_publication_whose_answer_is_lost_is_never_published_twice(make_sandbox):
    box = make_sandbox(account_type="service", followers=5, retry_too_fast_seconds=0)
    account = seed_account(box)
    campaign = _publication(account)
    planning.dry_run(campaign)
    box.set_faults([{"path": "/cgi-bin/freepublish/submit", "action": "timeout_after", "seconds": 2, "times": 1}])
    _send(box, campaign)
    (row,) = OutboxItem.objects.filter(campaign=campaign)
    assert row.status == OutboxItem.Status.UNKNOWN and "may have been delivered" in row.reason
    with box.platform.lock:
        assert box.platform.calls["/cgi-bin/freepublish/submit"] == 1
        assert len(box.platform.publish_jobs) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("fields", "words"), [
    ({"message_type": "text"}, ("只有图文才能发表", "Only an article")),
    ({"title_variants": ["沙发直降五百"], "variant_split": 0.2}, ("没有 A/B 测试", "no A/B test")),
])
def test_what_cannot_be_published_is_refused_when_saved(make_sandbox, fields, words):
    box = make_sandbox(account_type="service", followers=2)
    account = seed_account(box)
    for lang, said in zip(("zh-hans", "en"), words, strict=True):
        with translation.override(lang), pytest.raises(services.CampaignError, match=said):
            _publication(account, **fields)
    assert not Campaign.objects.exists()


@pytest.mark.django_db
def test_the_console_offers_publishing_and_its_plan_says_what_it_costs(make_sandbox, client):
    from django.contrib.auth.models import User

    from fencun.accounts.roles import grant

    box = make_sandbox(account_type="subscription", followers=2)
    account = seed_account(box)
    user = User.objects.create_user("operator", password="a-long-password-1")
    grant(user, account, "operator")
    client.force_login(user)
    assert "发表（不推送）" in client.get("/campaigns/new/").content.decode()
    campaign = _publication(account)
    client.cookies["django_language"] = "en"
    page = client.post(f"/campaigns/{campaign.pk}/", {"step": "dry_run"}).content.decode()
    assert 'data-method="publish"' in page and "pushed to nobody" in page and "only once verified" in page


@pytest.mark.django_db
def test_the_engine_offers_to_publish_an_article_to_those_it_held_back(make_account):
    from fencun.campaigns.models import PlanSnapshot

    account = make_account()
    sofa = Category.objects.create(account=account, key="sofa", name="沙发")
    article = services.create_campaign(account, name="秋季上新", category=sofa, message_type="news",
                                       title=TITLE, body=BODY, segment="interest:sofa")
    text = services.create_campaign(account, name="短信", category=sofa, message_type="text", body=BODY)
    assert services.publication_offer(article) == 0  # no plan yet
    held = {"low_relevance": 40, "harm_exceeds_value": 7, "no_lift": 3, "holdout": 5, "quiet_hours": 9}
    for c in (article, text):
        PlanSnapshot.objects.create(campaign=c, planned_for=timezone.now(), reach=20, audience=84, held_back=held)
    # The engine's own hold-backs, not the holdout nor a rule's.
    assert services.publication_offer(article) == 50
    assert services.publication_offer(text) == 0  # only an article can be published
    copy = services.publish_copy(article)
    assert (copy.channel, copy.status, copy.message_type) == ("publish", "draft", "news")
    assert (copy.title, copy.body, copy.category, copy.segment) == (TITLE, BODY, sofa, "")
    with translation.override("zh-hans"):
        assert "发表" in services.publish_copy(article).name
    with pytest.raises(services.CampaignError):
        services.publish_copy(text)
    assert Campaign.objects.filter(channel="publish").count() == 2
