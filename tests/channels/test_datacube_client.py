"""The client's analytics calls against the sandbox: a period of any length is asked in
spans the platform accepts, a period it would refuse is refused before calling, and its
answers come back typed."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.article_sends import days_passing, send_articles

from fencun.channels.wechat import errors as E
from fencun.channels.wechat.datacube import max_span_days, platform_yesterday, spans

APIS = {
    "getarticlesummary": "article_summary",
    "getarticletotal": "article_total",
    "getuserread": "user_read",
    "getuserreadhour": "user_read_hour",
    "getusershare": "user_share",
    "getusersharehour": "user_share_hour",
}


@pytest.fixture
def days_pass():
    yield from days_passing()


def _calls(sandbox, api: str) -> int:
    return sandbox.state()["calls"].get(f"/datacube/{api}", 0)


@pytest.mark.parametrize("api", sorted(APIS))
def test_ten_days_are_asked_in_spans_the_platform_accepts(sandbox, sandbox_client, api):
    end = platform_yesterday()
    begin = end - timedelta(days=9)
    asked = sandbox_client.datacube_spans(api, begin, end)
    span = max_span_days(api)
    assert all((last - first).days < span for first, last in asked)
    assert [first + timedelta(days=i) for first, last in asked for i in range((last - first).days + 1)] == [
        begin + timedelta(days=i) for i in range(10)
    ]
    getattr(sandbox_client, APIS[api])(begin, end)  # every call accepted, or this raises
    assert _calls(sandbox, api) == len(asked) == math.ceil(10 / span)


def test_the_spans_of_ten_days_by_api(sandbox_client):
    end = date(2026, 11, 30)
    begin = end - timedelta(days=9)
    counts = {api: len(spans(begin, end, max_span_days(api))) for api in APIS}
    assert counts == {"getarticlesummary": 10, "getarticletotal": 10, "getuserread": 4,
                      "getuserreadhour": 10, "getusershare": 2, "getusersharehour": 10}
    assert spans(begin, end, 3)[-1] == (end, end)


@given(st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 1, 1)),
       st.integers(min_value=0, max_value=60), st.integers(min_value=1, max_value=30))
def test_spans_cover_every_day_once_and_none_is_too_long(begin, extra, days):
    end = begin + timedelta(days=extra)
    cut = spans(begin, end, days)
    assert cut[0][0] == begin and cut[-1][1] == end
    assert all(first <= last and (last - first).days < days for first, last in cut)
    assert all(a[1] + timedelta(days=1) == b[0] for a, b in zip(cut, cut[1:], strict=False))


@pytest.mark.parametrize("api", sorted(APIS))
def test_a_period_the_platform_would_refuse_is_refused_before_calling(sandbox, sandbox_client, api):
    yesterday = platform_yesterday()
    method = getattr(sandbox_client, APIS[api])
    with pytest.raises(E.LimitRefused):
        method(yesterday, yesterday + timedelta(days=1))  # today: not counted yet
    with pytest.raises(E.LimitRefused):
        method(yesterday, yesterday - timedelta(days=1))  # ends before it begins
    assert _calls(sandbox, api) == 0


def test_a_date_range_error_from_the_platform_is_not_retried(sandbox, sandbox_client):
    sandbox.set_faults([{"path": "/datacube/getuserread", "errcode": 61501, "times": 1}])
    yesterday = platform_yesterday()
    with pytest.raises(E.WeChatError) as refused:
        sandbox_client.user_read(yesterday, yesterday)
    assert refused.value.errcode == 61501 and not refused.value.retryable
    sandbox.set_faults([{"path": "/datacube/getuserread", "errcode": -1, "times": 1}])
    assert sandbox_client.user_read(yesterday, yesterday) == []  # busy once, asked again


def test_the_answers_come_back_typed(sandbox, sandbox_client, days_pass):
    msg_data_id = send_articles(sandbox_client)
    days_pass(sandbox, 2)
    yesterday = platform_yesterday()
    sent_on = yesterday - timedelta(days=1)
    totals = sandbox_client.article_total(sent_on - timedelta(days=5), yesterday)
    assert [t.msgid for t in totals] == [f"{msg_data_id}_1", f"{msg_data_id}_2"]
    first = totals[0]
    assert first.sent_on == sent_on and [d.day for d in first.details] == [sent_on, yesterday]
    assert first.details[-1].recipients == len(sandbox.deliveries(kind="mass"))
    assert first.details[-1].figures.read_users == sum(first.details[-1].read_users_from.values())
    summary = sandbox_client.article_summary(sent_on, yesterday)
    assert summary and {s.day for s in summary} <= {sent_on, yesterday}
    assert all(s.msgid.startswith(f"{msg_data_id}_") for s in summary)
    hours = sandbox_client.user_read_hour(sent_on, sent_on)
    assert hours and all(h.hour is not None and 0 <= h.hour <= 23 for h in hours)
    shares = sandbox_client.user_share(sent_on, yesterday)
    assert all(s.hour is None and s.shares >= s.share_users > 0 for s in shares)
