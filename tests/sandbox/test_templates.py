"""Template messages as the platform has sent them since 2023-05-04, through the client
and the sandbox over HTTP: dropped first/remark, colours and emoji, one line of at most
20 characters, pure marketing intercepted, a follower's block reported."""

from __future__ import annotations

import itertools

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import sized

from fencun.channels.wechat import errors
from fencun.channels.wechat.client import MemoryMassLedger, WeChatClient
from fencun.channels.wechat.tokens import MemoryTokenStore
from fencun.content import template_rules
from fencun.content.lint import has_errors, lint
from fencun.content.model import Message

SEND = "/cgi-bin/message/template/send"
TEMPLATE = "TM_ORDER_SHIPPED"


@pytest.fixture
def box(make_sandbox):
    return make_sandbox(account_type="service", followers=5)


@pytest.fixture
def client(box):
    with WeChatClient(
        box.config.app_id,
        box.config.app_secret,
        account_type="service",
        api_base=box.api_base,
        token_store=MemoryTokenStore(),
        ledger=MemoryMassLedger(),
        backoff=0.0,
    ) as c:
        yield c


@pytest.fixture
def openid(client):
    return client.get_followers().openids[0]


def events(box):
    """TEMPLATESENDJOBFINISH events the sandbox posted, read over its admin API."""
    httpx.post(f"{box.api_base}/sandbox/flush", json={})
    rows = httpx.get(f"{box.api_base}/sandbox/callbacks").json()["callbacks"]
    return {int(r["fields"]["MsgID"]): r["fields"]["Status"] for r in rows if r["kind"] == "templatesendjobfinish"}


def delivered(box, msg_id):
    rows = httpx.get(f"{box.api_base}/sandbox/deliveries", params={"msg_id": msg_id}).json()["deliveries"]
    return [r["data"] for r in rows]


def test_what_the_platform_drops_is_dropped_before_sending(box, client, openid):
    data = {
        "first": "您好，您的订单已发货",
        "thing2": {"value": "沙发🛋已发货", "color": "#FF0000"},
        "remark": {"value": "感谢惠顾", "color": "#173177"},
    }
    msg_id = client.send_template(openid, TEMPLATE, data, client_msg_id="order-1")
    assert delivered(box, msg_id) == [{"thing2": "沙发已发货"}]
    assert events(box) == {msg_id: "success"}


@pytest.mark.parametrize("value", ["一" * 21, "已发货\n周五送达"])
def test_a_field_the_platform_would_change_is_refused_before_calling(box, client, openid, value):
    with pytest.raises(errors.LimitRefused) as refused:
        client.send_template(openid, TEMPLATE, {"thing2": value}, client_msg_id="order-2")
    assert refused.value.limit in ("template_field_max_chars", "template_line_breaks")
    assert box.platform.calls[SEND] == 0
    client.send_template(openid, TEMPLATE, {"thing2": "一" * 20}, client_msg_id="order-3")
    assert box.platform.calls[SEND] == 1


def _raw_send(box, client, openid, data, key):
    return httpx.post(
        f"{box.api_base}{SEND}",
        params={"access_token": client.access_token()},
        json={"touser": openid, "template_id": TEMPLATE, "data": data, "client_msg_id": key},
    ).json()


def test_the_sandbox_strips_and_cuts_what_another_client_sends(box, client, openid):
    data = {
        "first": {"value": "首行"},
        "thing2": {"value": "您的沙发🚚已从上海仓库发出\n预计本周五下午送达府上", "color": "#F00"},
        "time3": {"value": "2026-12-08"},
    }
    answer = _raw_send(box, client, openid, data, "raw-1")
    assert answer["errcode"] == 0
    cut = "您的沙发已从上海仓库发出预计本周五下午送" + template_rules.load_template_rules().cut_mark
    assert delivered(box, answer["msgid"]) == [{"thing2": cut, "time3": "2026-12-08"}]


def test_pure_marketing_is_intercepted(box, client, openid):
    answer = _raw_send(box, client, openid, {"thing2": {"value": "全场秒杀，限时抢购"}}, "promo-1")
    # What the platform answers an intercepted send is not documented (see template.py).
    assert answer["errcode"] == 0
    assert delivered(box, answer["msgid"]) == []
    assert events(box) == {answer["msgid"]: "failed: system failed"}


def test_a_follower_who_blocked_template_messages_gets_none(box, client, openid):
    base = box.api_base
    assert httpx.post(f"{base}/sandbox/templates/block", json={"openid": openid}).json() == {"blocked": True}
    assert httpx.post(f"{base}/sandbox/templates/block", json={"openid": "nobody"}).status_code == 404
    blocked = client.send_template(openid, TEMPLATE, {"thing2": "已发货"}, client_msg_id="b-1")
    assert delivered(box, blocked) == []
    assert events(box)[blocked] == "failed:user block"
    httpx.post(f"{base}/sandbox/templates/block", json={"openid": openid, "blocked": False})
    again = client.send_template(openid, TEMPLATE, {"thing2": "已发货"}, client_msg_id="b-2")
    assert delivered(box, again) == [{"thing2": "已发货"}]
    assert events(box)[again] == "success"


# --- whatever the lint passes is shown as written -------------------------------------

TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("已发货订单预计周五送达沙发上海号ABC012 :-，。\n\r\u2028🚚🎉\ufe0f\u200d")),
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
    ),
    max_size=30,
)
ENTRY = st.one_of(
    TEXT,
    st.fixed_dictionaries({"value": TEXT}, optional={"color": st.sampled_from(["#FF0000", "#173177"])}),
)
DATA = st.dictionaries(st.sampled_from(["first", "remark", "thing2", "time3", "character_string4"]), ENTRY)
_keys = itertools.count()


@settings(
    max_examples=sized(120, 40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(data=DATA)
def test_a_template_the_lint_passes_is_delivered_unchanged(box, client, openid, data):
    findings = lint(Message(kind="template", data=data))
    if has_errors(findings):
        return
    sent = template_rules.outgoing(data)
    msg_id = client.send_template(openid, TEMPLATE, data, client_msg_id=f"p-{next(_keys)}")
    assert delivered(box, msg_id) == [{name: entry["value"] for name, entry in sent.items()}]
    # A field the lint said nothing about is shown exactly as the merchant wrote it.
    flagged = {f.field for f in findings}
    for name, entry in data.items():
        if f"data.{name}" not in flagged:
            assert delivered(box, msg_id)[0][name] == template_rules.value_of(entry)
