"""The rules page in a merchant's words: every platform limit has a label in both
languages, values read as yes/no/no limit, technical limits fold away, and the Chinese
page carries no field names, no ``True``/``None`` and no English notes."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from fencun.accounts.roles import grant
from fencun.channels.broadcast.channel import WeiboBroadcast
from fencun.channels.wechat.channel import OfficialAccount
from fencun.channels.wecom.channel import CustomerContact
from fencun.console.limit_words import LABELS, source_link, value_words

pytestmark = pytest.mark.django_db

ALL_LIMITS = [
    *OfficialAccount.limits_for("service"),
    *OfficialAccount.limits_for("subscription"),
    *CustomerContact.limits(),
    *WeiboBroadcast.limits(),
]


def test_every_limit_of_the_data_files_has_a_label():
    assert sorted({limit.name for limit in ALL_LIMITS} - LABELS.keys()) == []


def test_values_and_sources_read_as_people_read_them(settings):
    from django.utils import translation

    with translation.override("zh-hans"):
        assert [value_words(v) for v in (True, False, None, 10000)] == ["是", "否", "不限", "10,000"]
    with translation.override("en"):
        assert [value_words(v) for v in (True, False, None)] == ["Yes", "No", "No limit"]
    assert source_link("/doc/offiaccount/x.html") == "https://developers.weixin.qq.com/doc/offiaccount/x.html"
    assert source_link("fencun: the merchant's own cap") == ""


def test_the_chinese_rules_page_speaks_chinese(client, make_account):
    account = make_account(account_type="service")
    user = User.objects.create_user("rules-reader", password="a-long-password-1")
    grant(user, account, "operator")
    client.force_login(user)
    page = client.get("/rules/").content.decode()
    assert "每位粉丝每月可收到的群发条数" in page and "技术细节" in page
    names = {limit.name for limit in ALL_LIMITS}
    shown = set(re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", re.sub(r"<[^>]*>|https?://\S+", " ", page)))
    assert not (shown & names), shown & names
    text = re.sub(r"<[^>]*>", " ", page)
    assert not re.search(r"\b(True|False|None)\b", text)
    english_note = OfficialAccount.limits_for("service")[1].note
    assert english_note and english_note not in page
    client.cookies["django_language"] = "en"
    assert english_note in client.get("/rules/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_figures_read_as_people_read_them():
    from django.utils import translation

    from fencun.figures import count, percent, yuan

    with translation.override("zh-hans"):
        assert (count(26376), count(None), yuan(266228.0, 0), percent(0.003, 2)) == ("26,376", "—", "266,228 元", "0.30%")
    with translation.override("en"):
        assert yuan(266228.0, 0) == "¥266,228"


def test_the_overview_tiles_show_formatted_figures(client, make_account):
    from fencun.audience.models import Follower

    account = make_account()
    user = User.objects.create_user("tiles-reader", password="a-long-password-1")
    grant(user, account, "operator")
    client.force_login(user)
    Follower.objects.bulk_create(
        Follower(account=account, openid=f"o-tile-{n}", subscribed=n < 1234) for n in range(1300)
    )
    page = client.get("/").content.decode()
    tile = page[page.index('data-figure="followers"'):]
    assert "<b>1,234</b>" in tile[: tile.index("</div>")]  # the subscribed ones only, with a separator
    tile = page[page.index('data-figure="revenue_attributed"'):]
    assert " 元</b>" in tile[: tile.index("</div>")] and "¥" not in tile[: tile.index("</div>")]
