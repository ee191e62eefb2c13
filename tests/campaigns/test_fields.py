"""Creating a campaign: a value its fields cannot hold is refused by name, nothing saved."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fencun.campaigns import services
from fencun.campaigns.models import Campaign
from fencun.catalog.models import Category

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(make_account):
    return make_account(account_type="service")


@pytest.fixture
def category(account):
    return Category.objects.create(account=account, key="sofa", name="沙发")


def create(account, category, **fields):
    return services.create_campaign(account, name=fields.pop("name", "上新"), category=category, **fields)


@pytest.mark.parametrize(
    "bad",
    [
        {"channel": "cs"},
        {"channel": ""},
        {"message_type": "video"},
        {"status": "sent"},
        {"name": "上新\x00"},
        {"title": "标" * 121},
        {"body": "正文\x00"},
        {"segment": "tag:vip\x00"},
        {"deadline": datetime(9999, 12, 31, tzinfo=UTC)},
        {"colour": "red"},
        {"outbox": []},  # a reverse relation: no column to fill
    ],
    ids=lambda bad: next(iter(bad)),
)
def test_a_value_the_field_cannot_hold_is_refused_by_name(account, category, bad):
    with pytest.raises(services.CampaignError) as err:
        create(account, category, **bad)
    assert next(iter(bad)) in str(err.value)
    assert not Campaign.objects.exists()


def test_the_refusal_is_in_the_merchants_language(account, category):
    with translation.override("zh-hans"), pytest.raises(services.CampaignError) as zh:
        create(account, category, channel="cs")
    with translation.override("en"), pytest.raises(services.CampaignError) as en:
        create(account, category, channel="cs")
    assert "只能是" in str(zh.value) and "must be one of" in str(en.value)
    assert "customer_service" in str(en.value)


def test_every_channel_offered_is_accepted(account, category):
    for channel in (Campaign.Channel.MASS, Campaign.Channel.CUSTOMER_SERVICE):
        assert create(account, category, channel=channel).channel == channel


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(channel=st.text(max_size=30).filter(lambda c: c not in Campaign.Channel.values))
def test_no_other_channel_is_ever_saved(account, category, channel):
    with pytest.raises(services.CampaignError):
        create(account, category, channel=channel)
    assert not Campaign.objects.exists()


def test_a_segment_with_a_nul_cannot_replace_a_good_one(account, category):
    campaign = create(account, category, segment="")
    with pytest.raises(services.CampaignError):
        services.update_segment(campaign, "tag:vip\x00")
    campaign.refresh_from_db()
    assert campaign.segment == ""
