"""The article analytics (图文分析) of the sandbox over HTTP: what the platform refuses
(spans, dates, token, verification) with its codes from the limits table, and figures that
count what the sandbox delivered, the same whichever API asks and however often."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

import httpx
import pytest
from tests.article_sends import days_passing, send_articles

from fencun.channels.wechat.datacube import datacube_limits_table, platform_yesterday
from fencun.sandbox.wechat.limits import api_errcode, api_limit, api_limits

SPANS = api_limit("datacube", "article_max_span_days")
ARTICLE_APIS = sorted(SPANS)
ALL = api_limit("datacube", "read_user_source")["all"]


@pytest.fixture
def days_pass():
    yield from days_passing()


@pytest.fixture
def box(make_sandbox):
    return make_sandbox(account_type="service", followers=200, retry_too_fast_seconds=0)


@pytest.fixture
def client(box, sandbox_client):
    return sandbox_client


@pytest.fixture
def sandbox(box):
    return box  # sandbox_client's sandbox is this one


def ask(box, client, api: str, begin, end, *, token: str | None = None) -> dict:
    """The sandbox's answer as it comes, without the client's checks."""
    params = {"access_token": client.access_token() if token is None else token}
    body = {"begin_date": str(begin), "end_date": str(end)}
    return httpx.post(f"{box.api_base}/datacube/{api}", params=params, json=body).json()


def rows(box, client, api: str, begin: date, end: date) -> list[dict]:
    answer = ask(box, client, api, begin, end)
    assert "errcode" not in answer, answer
    return answer["list"]


@pytest.mark.parametrize("api", ARTICLE_APIS)
def test_a_span_one_day_too_long_is_refused_with_the_date_range_code(box, client, api):
    yesterday = platform_yesterday()
    span = SPANS[api]
    longest = rows(box, client, api, yesterday - timedelta(days=span - 1), yesterday)
    assert longest == []  # nothing sent yet, but the span is accepted
    answer = ask(box, client, api, yesterday - timedelta(days=span), yesterday)
    assert answer["errcode"] == api_errcode("datacube", "article_max_span_days") == 61501


@pytest.mark.parametrize("api", ARTICLE_APIS)
def test_end_before_begin_today_and_later_are_refused(box, client, api):
    yesterday = platform_yesterday()
    code = api_errcode("datacube", "article_max_span_days")
    today = yesterday + timedelta(days=1)
    assert ask(box, client, api, yesterday, yesterday - timedelta(days=1))["errcode"] == code
    assert ask(box, client, api, today, today)["errcode"] == code
    assert ask(box, client, api, today + timedelta(days=3), today + timedelta(days=3))["errcode"] == code


@pytest.mark.parametrize("bad", ["2026/12/01", "20261201", "", "None", "2026-13-01", "yesterday"])
def test_a_date_not_yyyy_mm_dd_is_a_format_error(box, client, bad):
    yesterday = platform_yesterday()
    assert ask(box, client, "getarticlesummary", bad, yesterday)["errcode"] == 61500
    assert ask(box, client, "getusershare", yesterday, bad)["errcode"] == api_errcode(
        "datacube", "date_format"
    )


def test_without_an_access_token_nothing_is_answered(box, client):
    yesterday = platform_yesterday()
    assert ask(box, client, "getarticletotal", yesterday, yesterday, token="")["errcode"] == 41001
    assert ask(box, client, "getarticletotal", yesterday, yesterday, token="nope")["errcode"] == 40001


def test_an_unverified_account_may_not_ask(make_sandbox):
    from fencun.channels.wechat.client import MemoryMassLedger, WeChatClient
    from fencun.channels.wechat.tokens import MemoryTokenStore

    box = make_sandbox(verified=False, followers=5)
    with WeChatClient(box.config.app_id, box.config.app_secret, api_base=box.api_base,
                      token_store=MemoryTokenStore(), ledger=MemoryMassLedger(), backoff=0.0) as client:
        yesterday = platform_yesterday()
        answer = ask(box, client, "getarticlesummary", yesterday, yesterday)
    assert answer["errcode"] == api_errcode("datacube", "verified_only") == 48001


def test_the_figures_count_what_was_delivered(box, client, days_pass):
    msg_data_id = send_articles(client)
    box.flush()
    delivered = len(box.deliveries(kind="mass"))
    assert delivered == 200
    days_pass(box, 3)
    yesterday = platform_yesterday()
    sent_on = yesterday - timedelta(days=2)
    (first, second) = rows(box, client, "getarticletotal", sent_on, sent_on)
    assert (first["msgid"], second["msgid"]) == (f"{msg_data_id}_1", f"{msg_data_id}_2")
    assert (first["title"], first["ref_date"]) == ("三人沙发到店", sent_on.isoformat())
    details = first["details"]
    assert [d["stat_date"] for d in details] == [
        (sent_on + timedelta(days=i)).isoformat() for i in range(3)
    ]
    assert {d["target_user"] for d in details} == {delivered}
    for name in ("int_page_read_user", "int_page_read_count", "share_count", "add_to_fav_count"):
        running = [d[name] for d in details]
        assert running == sorted(running), f"{name} is a running total"
    assert 0 < details[-1]["int_page_read_user"] <= details[-1]["int_page_read_count"]
    assert details[-1]["int_page_read_user"] == sum(
        details[-1][f"int_page_from_{s}_read_user"]
        for s in ("session", "hist_msg", "feed", "friends", "other")
    )
    # The second article is read less (the sandbox's rate falls with the position).
    assert second["details"][-1]["int_page_read_user"] < details[-1]["int_page_read_user"]
    # Every read of the articles' totals is in the days' reads, and nowhere else.
    read = rows(box, client, "getuserread", sent_on, yesterday)
    everything = [r for r in read if r["user_source"] == ALL]
    assert sum(r["int_page_read_count"] for r in everything) == sum(
        a["details"][-1]["int_page_read_count"] for a in (first, second)
    )
    for day in {r["ref_date"] for r in read}:
        by_source = [r for r in read if r["ref_date"] == day and r["user_source"] != ALL]
        (all_row,) = [r for r in everything if r["ref_date"] == day]
        assert sum(r["int_page_read_count"] for r in by_source) == all_row["int_page_read_count"]
        assert all(r["ori_page_read_user"] == r["add_to_fav_user"] == 0 for r in by_source)
    # The day's summary: each article's figures of that day, when enough happened.
    least = api_limit("datacube", "article_summary_min_activity")
    summary = rows(box, client, "getarticlesummary", sent_on, sent_on)
    assert {r["msgid"] for r in summary} == {f"{msg_data_id}_1", f"{msg_data_id}_2"}
    for r in summary:
        assert r["ref_date"] == sent_on.isoformat()
        activity = (r["int_page_read_user"] + r["ori_page_read_user"] + r["share_user"]
                    + r["share_count"] + r["add_to_fav_count"])
        assert activity >= least
    assert {r["msgid"]: r["int_page_read_count"] for r in summary} == {
        a["msgid"]: a["details"][0]["int_page_read_count"] for a in (first, second)
    }


def test_shares_by_hour_add_up_to_the_days_shares(box, client, days_pass):
    send_articles(client)
    days_pass(box, 2)
    yesterday = platform_yesterday()
    sent_on = yesterday - timedelta(days=1)
    daily = rows(box, client, "getusershare", sent_on, yesterday)
    assert daily, "nobody shared: raise the sandbox's share rate for this test"
    hourly: Counter[tuple[str, int]] = Counter()
    for day in (sent_on, yesterday):
        for r in rows(box, client, "getusersharehour", day, day):
            assert r["ref_hour"] % 100 == 0 and 0 <= r["ref_hour"] <= 2300
            hourly[(r["ref_date"], r["share_scene"])] += r["share_count"]
    assert hourly == Counter({(r["ref_date"], r["share_scene"]): r["share_count"] for r in daily})
    scenes = set(api_limit("datacube", "share_scene").values())
    assert {r["share_scene"] for r in daily} <= scenes
    reads_by_hour: defaultdict[str, int] = defaultdict(int)
    for r in rows(box, client, "getuserreadhour", sent_on, sent_on):
        if r["user_source"] == ALL:
            reads_by_hour[r["ref_date"]] += r["int_page_read_count"]
    (day_row,) = [r for r in rows(box, client, "getuserread", sent_on, sent_on)
                  if r["user_source"] == ALL]
    assert reads_by_hour[sent_on.isoformat()] == day_row["int_page_read_count"]


def test_asked_again_the_answers_are_the_same(box, client, days_pass):
    send_articles(client)
    days_pass(box, 2)
    yesterday = platform_yesterday()
    begin = yesterday - timedelta(days=1)
    for api in ("getarticletotal", "getuserread", "getusershare"):
        day = begin if SPANS[api] == 1 else None
        first = rows(box, client, api, day or begin, day or yesterday)
        assert first == rows(box, client, api, day or begin, day or yesterday), api


def test_the_clients_spans_are_the_sandboxs():
    client_table = datacube_limits_table()
    sandbox_table = api_limits()["datacube"]
    spans = client_table["max_span_days"]["value"]
    assert {k: v for k, v in spans.items() if k in SPANS} == SPANS
    assert spans["getusersummary"] == spans["getusercumulate"] == api_limit(
        "datacube", "user_max_span_days"
    )
    assert client_table["max_span_days"]["errcode"] == sandbox_table["article_max_span_days"]["errcode"]
    assert client_table["date_format"]["errcode"] == sandbox_table["date_format"]["errcode"]
    for name in ("history_start", "article_total_days", "article_summary_min_activity"):
        assert client_table[name]["value"] == sandbox_table[name]["value"], name
    for entry in (*client_table.values(), *sandbox_table.values()):
        if isinstance(entry, dict):
            assert entry["source"], "every limit says where it comes from"
