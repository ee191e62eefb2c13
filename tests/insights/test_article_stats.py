"""The platform's article figures read back into the insights tables: what the sandbox
answers is what is stored, a second run changes nothing, a day read again replaces what
was stored for it, a failed read leaves the tables as they were; and the campaign's view
lays them beside its own tracked figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from tests.article_sends import days_passing, send_article_campaign

from fencun.channels.models import MassSend
from fencun.channels.services import wechat_client
from fencun.channels.wechat import errors as E
from fencun.channels.wechat.datacube import platform_yesterday
from fencun.insights import article_stats
from fencun.insights.article_stats import campaign_article_stats, sync_article_stats
from fencun.insights.models import ArticleDay, ArticleSync, ArticleTotal

pytestmark = pytest.mark.django_db


@pytest.fixture
def days_pass():
    yield from days_passing()


@pytest.fixture
def box(make_sandbox):
    return make_sandbox(account_type="service", followers=150, retry_too_fast_seconds=0)


@pytest.fixture
def sent(box, days_pass):
    """A news campaign delivered three days ago (on both clocks)."""
    campaign = send_article_campaign(box)
    days_pass(box, 3)
    return campaign


def _client(box, account):
    return wechat_client(account, api_base=box.api_base, backoff=0.0, timeout=5.0)


def _stored() -> dict[str, list[dict]]:
    return {
        model.__name__: sorted((model_to_dict(row) | {"pk": row.pk} for row in model.objects.all()),
                               key=lambda r: (r["msgid"], str(r["day"])))
        for model in (ArticleDay, ArticleTotal)
    }


def test_the_sync_stores_what_the_platform_answers(box, sent):
    account = sent.account
    (send,) = MassSend.objects.filter(account=account, msg_data_id__isnull=False)
    with _client(box, account) as client:
        result = sync_article_stats(account, client, days=7)
        last = platform_yesterday()
        first = last - timedelta(days=6)
        summary = client.article_summary(first, last)
        totals = client.article_total(first, last)
    assert (result.first, result.last) == (first, last)
    assert result.created == len(summary) + sum(len(t.details) for t in totals) > 0
    stored = {(r.msgid, r.day): r for r in ArticleDay.objects.filter(account=account)}
    assert set(stored) == {(s.msgid, s.day) for s in summary}
    for s in summary:
        row = stored[(s.msgid, s.day)]
        assert (row.msg_data_id, row.article, row.title) == (send.msg_data_id, 1, "三人沙发到店")
        assert (row.read_users, row.reads, row.shares, row.favourites) == (
            s.figures.read_users, s.figures.reads, s.figures.shares, s.figures.favourites)
    (total,) = totals
    rows = list(ArticleTotal.objects.filter(account=account).order_by("day"))
    assert [r.day for r in rows] == [d.day for d in total.details]
    assert {r.recipients for r in rows} == {150}
    assert rows[-1].read_users == total.details[-1].figures.read_users > 0
    assert rows[-1].read_users_from == total.details[-1].read_users_from
    sync = ArticleSync.objects.get(account=account)
    assert (sync.first_day, sync.last_day) == (first, last)


def test_running_it_again_changes_nothing(box, sent):
    account = sent.account
    with _client(box, account) as client:
        sync_article_stats(account, client)
        before = _stored()
        again = sync_article_stats(account, client)
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)
    assert _stored() == before  # the same rows, the same ids, the same figures


def test_a_day_read_again_replaces_what_was_stored(box, sent):
    account = sent.account
    with _client(box, account) as client:
        sync_article_stats(account, client)
        last = platform_yesterday()
        row = ArticleDay.objects.filter(account=account).order_by("day").first()
        right = row.reads
        ArticleDay.objects.filter(pk=row.pk).update(reads=right + 99)
        stale = ArticleDay.objects.create(account=account, msgid="999_1", msg_data_id=999, day=last, reads=5)
        older = ArticleDay.objects.create(account=account, msgid="999_1", msg_data_id=999,
                                          day=last - timedelta(days=30), reads=7)
        result = sync_article_stats(account, client)
    assert (result.updated, result.deleted, result.created) == (1, 1, 0)
    assert ArticleDay.objects.get(pk=row.pk).reads == right
    assert not ArticleDay.objects.filter(pk=stale.pk).exists()  # the platform no longer lists it
    assert ArticleDay.objects.get(pk=older.pk).reads == 7  # a day not read again is kept


def test_a_failed_read_leaves_the_tables_as_they_were(box, sent):
    account = sent.account
    with _client(box, account) as client:
        sync_article_stats(account, client)
        before = _stored()
        box.set_faults([{"path": "/datacube/getarticletotal", "errcode": 45009}])
        with pytest.raises(E.QuotaExceeded):
            sync_article_stats(account, client)
    assert _stored() == before


def test_every_account_that_sent_an_article_is_read(box, sent):
    outcomes = article_stats.sync_all_article_stats(lambda a: _client(box, a))
    assert list(outcomes) == [sent.account.app_id]
    assert isinstance(outcomes[sent.account.app_id], article_stats.ArticleSyncResult)
    box.set_faults([{"path": "/datacube/getarticlesummary", "errcode": 48001}])
    refused = article_stats.sync_all_article_stats(lambda a: _client(box, a))
    assert isinstance(refused[sent.account.app_id], E.Unauthorized)


def test_the_campaign_sees_the_platforms_figures_beside_its_own(box, sent):
    account = sent.account
    assert campaign_article_stats(sent).reported is False  # nothing read back yet
    with _client(box, account) as client:
        sync_article_stats(account, client)
    stats = campaign_article_stats(sent)
    (send,) = MassSend.objects.filter(account=account, msg_data_id__isnull=False)
    assert stats.sends == [send.msg_data_id] and stats.articles == [f"{send.msg_data_id}_1"]
    latest = ArticleTotal.objects.filter(account=account).order_by("-day").first()
    assert stats.recipients == 150 and stats.read_users == latest.read_users
    assert stats.read_rate == pytest.approx(latest.read_users / 150)
    days = ArticleDay.objects.filter(account=account)
    assert stats.reads == sum(d.reads for d in days) and stats.shares == sum(d.shares for d in days)
    assert [d.day for d in stats.days] == sorted(d.day for d in days)
    assert stats.synced_through == platform_yesterday()


def test_a_campaign_that_sent_no_article_has_no_platform_figures(make_sandbox):
    from fencun.campaigns.seeding import ready_campaign, seed_account

    box = make_sandbox(account_type="service", followers=5)
    campaign = ready_campaign(seed_account(box))  # a text campaign, not yet sent
    assert campaign_article_stats(campaign) is None


def test_the_worker_reads_the_figures_once_a_day_after_eight_in_beijing():
    from datetime import UTC, datetime

    from django.utils.module_loading import autodiscover_modules
    from huey.contrib.djhuey import HUEY

    from fencun.engine.clock import SHANGHAI

    autodiscover_modules("tasks")  # what run_huey does at start: each app's ``tasks``
    [task] = [t for t in HUEY._registry.periodic_tasks if t.name == "read_article_stats"]
    assert type(task).__module__ == "fencun.insights.tasks"
    day = datetime(2026, 11, 23, tzinfo=UTC)
    runs = [day + timedelta(minutes=m) for m in range(24 * 60)
            if task.validate_datetime(day + timedelta(minutes=m))]
    assert len(runs) == 1  # the queue's crontab runs on UTC
    assert runs[0].astimezone(SHANGHAI).hour >= 8  # the day before is counted by then
