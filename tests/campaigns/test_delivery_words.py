"""The plan says how it goes out and what that costs, with the platform's limits as data."""

from __future__ import annotations

import pytest
from django.utils import translation

from fencun.campaigns.plan_words import delivery_words
from fencun.engine.limits import load_platform_limits, load_wecom_limits


@pytest.mark.parametrize("account_type", ["subscription", "service"])
def test_an_openid_list_send_counts_its_calls_and_the_account_types_quota(account_type):
    limits = load_platform_limits(account_type)
    most = limits.openid_list_max
    with translation.override("en"):
        words = delivery_words("openid_list", account_type, most + 1)
    assert "2 calls" in words and f"{most:,}" in words and "history list" in words
    per_month = limits.mass_sends_per_month_per_follower
    assert (f"at most {per_month} mass messages a month" in words) == (per_month is not None)
    per_day = limits.mass_sends_per_day_account
    assert (f"makes {per_day} mass send a day" in words) == (per_day is not None)


def test_each_path_has_its_words_in_both_languages():
    per_day = load_wecom_limits().mass_per_customer_per_day
    for lang, wecom, nobody in (("zh-hans", f"最多收到 {per_day} 条", "没有人"), ("en", f"at most {per_day} a day", "Nobody")):
        with translation.override(lang):
            assert wecom in delivery_words("wecom_mass", "service", 10)
            assert nobody in delivery_words("none", "service", 0)
            assert delivery_words("tag", "subscription", 5) != delivery_words("customer_service", "service", 5)
