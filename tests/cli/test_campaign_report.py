"""``fencun campaign report``: the report page's figures and sentences on the command line,
in the run's language."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from typer.testing import CliRunner

from fencun.audience.services import NewEvent, record_events
from fencun.campaigns.models import PlanSnapshot
from fencun.campaigns.services import create_campaign
from fencun.catalog.models import Category
from fencun.cli.main import app
from fencun.insights import rollups, services

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(make_account):
    account = make_account()
    category = Category.objects.create(account=account, key="sofa", name="沙发")
    campaign = create_campaign(account, name="沙发上新", category=category)
    at = timezone.now() - timedelta(days=2)
    sent = [f"s{i}" for i in range(200)]
    services.record_deliveries(account, campaign.pk, sent, at)
    services.record_deliveries(account, campaign.pk, [f"h{i}" for i in range(200)], at, holdout=True)
    record_events(account, [NewEvent("unsubscribe", o, at + timedelta(hours=5), {}, "test", f"u-{o}")
                            for o in [*sent[:20], "h0", "h1"]])
    record_events(account, [NewEvent("order", o, at + timedelta(hours=8), {"campaign": campaign.pk, "amount": 1999.0},
                                     "test", f"o-{o}") for o in sent[:30]])
    PlanSnapshot.objects.create(
        campaign=campaign, planned_for=at, reach=200, audience=1000, approved_at=at,
        predicted={"reach": 200, "revenue": 900.0, "unfollows": 3.2},
        send_to_all={"reach": 1000, "revenue": 1700.0, "unfollows": 15.7},
    )
    rollups.run(lag=0)
    return campaign


@pytest.mark.parametrize(("args", "expected"), [
    ([], ["沙发上新", "已发送", "59,970.00 元", "这次推送比对照组共多带来 59,970 元", "约失去 18 位粉丝",
          "没有发给受众中的 800 位粉丝，约少了 12 人取消关注，少卖了约 800 元"]),
    (["--lang", "en"], ["Sent", "¥59,970.00", "In all the push earned ¥59,970 beyond the holdout",
                        "It cost about 18 followers", "spared about 12 unfollows and gave up about ¥800 of sales"]),
])
def test_the_report_prints_the_consoles_figures_and_sentences(campaign, args, expected):
    result = CliRunner().invoke(app, [*args, "campaign", "report", str(campaign.pk)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    for words in expected:
        assert " ".join(words.split()) in out, words


def test_the_report_as_json_carries_the_same_words(campaign):
    result = CliRunner().invoke(app, ["campaign", "report", str(campaign.pk), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["sent"] == 200 and out["lift"]["unfollows_caused"] == pytest.approx(18.0)
    assert out["restraint"] == {"left_out": 800, "unfollows_spared": 12.5, "revenue_given_up": 800.0}
    assert out["words"]["cost"].startswith("这次推送约失去 18 位粉丝")


def test_a_report_of_no_campaign_is_refused():
    result = CliRunner().invoke(app, ["campaign", "report", "99999"])
    assert result.exit_code == 2 and "99999" in result.output and "Traceback" not in result.output
