"""The Weibo client against the Weibo sandbox over HTTP."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fencun.channels.broadcast.client import WeiboClient
from fencun.channels.broadcast.errors import (
    ApiTimeout,
    ContentRejected,
    DuplicateContent,
    LimitRefused,
    RateLimited,
    SystemBusy,
    TokenExpired,
)
from fencun.channels.broadcast.limits import weibo_length

LINK = "https://shop.example.com/r/abc"


def test_share_posts_and_returns_the_status(weibo_client, weibo_sandbox):
    posted = weibo_client.share(f"周末到店有礼 {LINK}")
    assert posted.idstr == str(posted.id)
    assert posted.text == f"周末到店有礼 {LINK}"
    assert "+0800" in posted.created_at
    assert [p["text"] for p in weibo_sandbox.posts] == [f"周末到店有礼 {LINK}"]


def test_same_text_twice_is_a_typed_duplicate(weibo_client, weibo_sandbox):
    weibo_client.share(f"新品沙发到店 {LINK}")
    with pytest.raises(DuplicateContent) as caught:
        weibo_client.share(f"新品沙发到店 {LINK}")
    assert caught.value.error_code == 20019
    assert not caught.value.retryable
    assert len(weibo_sandbox.posts) == 1


def test_hourly_limit_is_a_retryable_rate_limit(weibo_client, weibo_sandbox):
    for i in range(30):
        weibo_client.share(f"第{i}条 {LINK}")
    with pytest.raises(RateLimited) as caught:
        weibo_client.share(f"第31条 {LINK}")
    assert caught.value.error_code == 10024 and caught.value.retryable
    weibo_sandbox.advance_clock(3601)
    weibo_client.share(f"第31条 {LINK}")
    assert len(weibo_sandbox.posts) == 31


def test_expired_token_is_typed_and_never_shown(weibo_client, weibo_sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    weibo_sandbox.expire_token()
    with pytest.raises(TokenExpired) as caught:
        weibo_client.share(f"到店有礼 {LINK}")
    assert caught.value.error_code == 21327
    token = weibo_sandbox.config.access_token
    assert token not in str(caught.value) and token not in repr(caught.value)
    assert token not in repr(weibo_client)
    assert token not in caplog.text


def test_unknown_token_is_refused(weibo_sandbox):
    client = WeiboClient("2.00notours", api_base=weibo_sandbox.api_base)
    with client, pytest.raises(TokenExpired) as caught:
        client.share(f"到店有礼 {LINK}")
    assert caught.value.error_code == 21332


def test_text_rules_refuse_before_calling(weibo_client, weibo_sandbox):
    with pytest.raises(LimitRefused, match="status_max_chars"):
        weibo_client.share("长" * 141 + " " + LINK)
    with pytest.raises(LimitRefused, match="status_needs_safe_domain_url"):
        weibo_client.share("没有链接的微博 https://elsewhere.example.org/x")
    with pytest.raises(LimitRefused, match="status_no_topic_words"):
        weibo_client.share(f"#家居#新品 {LINK}")
    assert weibo_sandbox.platform.calls == 0


def test_platform_refuses_what_slips_past_the_client(weibo_sandbox):
    client = WeiboClient(weibo_sandbox.config.access_token, api_base=weibo_sandbox.api_base)
    with client, pytest.raises(ContentRejected) as caught:
        client.share("没有安全域名的链接 https://elsewhere.example.org/x")
    assert caught.value.error_code == 10017


def test_injected_system_error_and_lost_answer(weibo_sandbox):
    weibo_sandbox.set_faults([{"error_code": 10001, "times": 1}])
    with WeiboClient(
        weibo_sandbox.config.access_token, api_base=weibo_sandbox.api_base, timeout=0.3
    ) as client:
        with pytest.raises(SystemBusy):
            client.share(f"到店有礼 {LINK}")
        weibo_sandbox.set_faults([{"delay": 1.0, "times": 1}])
        with pytest.raises(ApiTimeout) as caught:
            client.share(f"到店有礼 {LINK}")
    assert weibo_sandbox.config.access_token not in str(caught.value)
    assert len(weibo_sandbox.posts) == 1  # the lost answer's post is out


def test_140_characters_post_and_141_are_refused_before_calling(weibo_client, weibo_sandbox):
    link = "https://shop.example.com/r/x"  # 28 half-width characters: 14
    weibo_client.share("好" * 125 + " " + link)  # 125 + ½ + 14 = 139½, counted as 140
    with pytest.raises(LimitRefused, match="141 characters"):
        weibo_client.share("好" * 126 + " " + link)
    assert weibo_sandbox.platform.calls == 1


@given(st.text(max_size=60), st.text(max_size=60))
def test_weibo_length_counts_wide_characters_whole_and_narrow_ones_half(a, b):
    assert weibo_length(a + b) <= weibo_length(a) + weibo_length(b)
    assert weibo_length(a) <= len(a) and weibo_length(a) * 2 >= len(a)
