"""The WeCom client against the WeCom sandbox over HTTP: tokens, contacts, tags, mass
tasks with their results, Moments jobs, limits refused before calling, typed errors."""

from __future__ import annotations

import logging
import time

import pytest

from fencun.channels.wechat.tokens import MemoryTokenStore
from fencun.channels.wecom.client import MemoryDispatchLedger, WeComClient
from fencun.channels.wecom.errors import (
    CredentialError,
    FrequencyLimited,
    LimitRefused,
    NotAContact,
    SystemBusy,
    TagError,
    TransportError,
)


def _client(box, **options) -> WeComClient:
    options.setdefault("token_store", MemoryTokenStore())
    options.setdefault("ledger", MemoryDispatchLedger())
    return WeComClient(
        box.config.corp_id,
        options.pop("secret", box.config.secret),
        api_base=box.api_base,
        backoff=0.0,
        timeout=5.0,
        **options,
    )


def _calls(box, name: str) -> int:
    return box.platform.calls[f"/cgi-bin/externalcontact/{name}"]


def _all_pairs(box) -> set[tuple[str, str]]:
    return {(u, c.external_userid) for c in box.platform.contacts.values() for u in c.follows}


# -- tokens and secrets -----------------------------------------------------------------


def test_token_is_fetched_once_and_reused_across_calls(wecom_sandbox, wecom_client):
    wecom_client.follow_users()
    wecom_client.follow_users()
    assert wecom_sandbox.platform.token_fetches == 1


def test_a_rejected_token_is_refreshed_once_and_the_call_repeated(wecom_sandbox, wecom_client):
    wecom_client.follow_users()
    wecom_sandbox.platform.invalidate_tokens()
    assert wecom_client.follow_users() == list(wecom_sandbox.config.members)
    assert wecom_sandbox.platform.token_fetches == 2


def test_an_expired_token_is_replaced(wecom_sandbox, wecom_client):
    wecom_client.follow_users()
    wecom_sandbox.advance_clock(7300)
    assert wecom_client.follow_users()
    assert wecom_sandbox.platform.token_fetches == 2


def test_a_wrong_secret_is_a_credential_error_that_never_shows_it(wecom_sandbox, caplog):
    secret = "wrong-secret-value-987654321"
    with caplog.at_level(logging.DEBUG), pytest.raises(CredentialError) as info:
        _client(wecom_sandbox, secret=secret).follow_users()
    assert info.value.errcode == 40001
    assert secret not in str(info.value) and secret not in caplog.text
    assert "corpsecret=***" in caplog.text or "gettoken" not in caplog.text


def test_a_connection_error_names_the_path_not_the_url(wecom_sandbox):
    client = WeComClient(
        "ww0000000000000001",
        "the-secret-123456",
        api_base="http://127.0.0.1:9",
        backoff=0.0,
        max_retries=0,
    )
    with pytest.raises(TransportError) as info:
        client.follow_users()
    assert "the-secret-123456" not in str(info.value) and "corpsecret" not in str(info.value)
    assert "/cgi-bin/gettoken" in str(info.value)


# -- contacts and tags ---------------------------------------------------------------------


def test_list_and_get_contacts_with_follow_users_and_unionid(wecom_sandbox, wecom_client):
    members = wecom_client.follow_users()
    ids = wecom_client.list_contacts(members[0])
    assert ids and all(i.startswith("wm") for i in ids)
    detail = wecom_client.get_contact(ids[0])
    assert detail.external_contact["external_userid"] == ids[0]
    assert detail.external_contact["unionid"]
    assert members[0] in {f["userid"] for f in detail.follow_users}


def test_batch_get_by_user_pages_with_the_cursor_through_every_relation(
    wecom_sandbox, wecom_client
):
    members = wecom_client.follow_users()
    seen, cursor, pages = set(), "", 0
    while True:
        page = wecom_client.contacts_by_users(members, cursor=cursor, limit=7)
        pages += 1
        seen |= {
            (i["follow_info"]["userid"], i["external_contact"]["external_userid"])
            for i in page.items
        }
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == _all_pairs(wecom_sandbox) and pages > 1


def test_unknown_member_and_customer_are_typed_errors(wecom_client):
    with pytest.raises(NotAContact) as info:
        wecom_client.list_contacts("nobody")
    assert info.value.errcode == 60111
    with pytest.raises(NotAContact):
        wecom_client.get_contact("wmNOTACUSTOMER00000000000000AAAA")


def test_mark_tag_changes_the_customers_tags(wecom_sandbox, wecom_client):
    groups = wecom_client.corp_tags()
    tag_ids = [t["id"] for g in groups for t in g["tag"]]
    assert {g["group_name"] for g in groups} == {"客户等级", "兴趣"}
    member = wecom_client.follow_users()[0]
    customer = wecom_client.list_contacts(member)[0]
    wecom_client.mark_tag(member, customer, add=[tag_ids[0]], remove=tag_ids[1:])
    follow = next(
        f for f in wecom_client.get_contact(customer).follow_users if f["userid"] == member
    )
    assert [t["tag_id"] for t in follow["tags"]] == [tag_ids[0]]
    with pytest.raises(TagError):
        wecom_client.mark_tag(member, customer, add=["etNOSUCHTAG"])
    with pytest.raises(LimitRefused):
        wecom_client.mark_tag(member, customer)


# -- mass messages --------------------------------------------------------------------------


def test_mass_task_is_confirmed_by_members_and_its_results_read_back(wecom_sandbox, wecom_client):
    customers = sorted(c.external_userid for c in wecom_sandbox.platform.contacts.values())[:6]
    task = wecom_client.add_msg_template(
        [*customers, "wmUNKNOWN0000000000000000000AAAA"], "周末到店有礼"
    )
    assert task.msgid and task.fail_list == ["wmUNKNOWN0000000000000000000AAAA"]
    now = int(time.time())
    listed, _ = wecom_client.groupmsg_list(now - 3600, now + 60)
    assert [m["msgid"] for m in listed] == [task.msgid]
    members, _ = wecom_client.groupmsg_tasks(task.msgid)
    assert members and {m["status"] for m in members} == {0}  # nobody confirmed yet
    wecom_sandbox.confirm_mass(task.msgid)
    members, _ = wecom_client.groupmsg_tasks(task.msgid)
    assert {m["status"] for m in members} == {2}
    results = []
    for member in members:
        rows, _ = wecom_client.groupmsg_send_result(task.msgid, member["userid"])
        results += rows
    assert sorted(r["external_userid"] for r in results) == customers
    assert {r["status"] for r in results} == {1}


def test_a_second_mass_the_same_day_is_refused_before_calling(wecom_sandbox, wecom_client):
    customers = sorted(c.external_userid for c in wecom_sandbox.platform.contacts.values())[:3]
    wecom_client.add_msg_template(customers[:2], "第一条")
    before = _calls(wecom_sandbox, "add_msg_template")
    with pytest.raises(LimitRefused) as info:
        wecom_client.add_msg_template(customers, "第二条")
    assert info.value.limit == "mass_per_customer_per_day"
    assert _calls(wecom_sandbox, "add_msg_template") == before
    assert wecom_client.add_msg_template(customers[2:], "只给新客户").msgid  # others are still free


def test_the_platform_itself_holds_the_daily_cap(wecom_sandbox):
    # Two clients that do not share a ledger (another tool on the same corp): WeCom
    # accepts both tasks, and the customer receives only the first (status 3).
    customer = sorted(c.external_userid for c in wecom_sandbox.platform.contacts.values())[0]
    first, second = _client(wecom_sandbox), _client(wecom_sandbox)
    a = first.add_msg_template([customer], "一")
    b = second.add_msg_template([customer], "二")
    wecom_sandbox.confirm_mass(a.msgid)
    wecom_sandbox.confirm_mass(b.msgid)
    member = sorted(wecom_sandbox.platform.contacts[customer].follows)[0]
    assert first.groupmsg_send_result(a.msgid, member)[0][0]["status"] == 1
    assert second.groupmsg_send_result(b.msgid, member)[0][0]["status"] == 3


def test_mass_limits_are_refused_before_calling(wecom_sandbox, wecom_client):
    with pytest.raises(LimitRefused):
        wecom_client.add_msg_template([], "空")
    with pytest.raises(LimitRefused):
        wecom_client.add_msg_template([f"wm{i:030d}" for i in range(10_001)], "太多")
    with pytest.raises(LimitRefused):
        wecom_client.add_msg_template(["wmA"], "", attachments=[])
    with pytest.raises(LimitRefused):
        wecom_client.groupmsg_list(0, 40 * 86400)
    with pytest.raises(LimitRefused):
        wecom_client.contacts_by_users([f"u{i}" for i in range(101)])
    assert _calls(wecom_sandbox, "add_msg_template") == 0


def test_creating_a_mass_task_is_not_retried_blindly(wecom_sandbox, wecom_client):
    wecom_sandbox.set_faults(
        [{"path": "/cgi-bin/externalcontact/add_msg_template", "errcode": -1, "times": 1}]
    )
    customer = sorted(c.external_userid for c in wecom_sandbox.platform.contacts.values())[0]
    with pytest.raises(SystemBusy):
        wecom_client.add_msg_template([customer], "一")
    assert _calls(wecom_sandbox, "add_msg_template") == 1
    assert not wecom_sandbox.platform.mass


def test_reads_are_retried_on_busy_but_not_on_frequency_limit(wecom_sandbox, wecom_client):
    wecom_sandbox.set_faults(
        [{"path": "/cgi-bin/externalcontact/get_follow_user_list", "errcode": -1, "times": 2}]
    )
    assert wecom_client.follow_users()
    wecom_sandbox.set_faults(
        [{"path": "/cgi-bin/externalcontact/get_follow_user_list", "errcode": 45009}]
    )
    before = _calls(wecom_sandbox, "get_follow_user_list")
    with pytest.raises(FrequencyLimited):
        wecom_client.follow_users()
    assert _calls(wecom_sandbox, "get_follow_user_list") == before + 1


# -- customer Moments -------------------------------------------------------------------------


def _wait_done(client, jobid):
    deadline = time.monotonic() + 10
    while True:
        result = client.moment_task_result(jobid)
        if result.done or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def test_moment_task_runs_as_a_job_and_appears_in_the_moment_list(wecom_sandbox, wecom_client):
    jobid = wecom_client.add_moment_task(
        "新品沙发到店", user_list=["zhangsan", "ghost"], tag_list=["etNOPE"]
    )
    assert wecom_client.moment_task_result(jobid).status == 1  # still running
    result = _wait_done(wecom_client, jobid)
    assert result.status == 2 and result.moment_id.startswith("mom")
    assert result.invalid_users == ["ghost"] and result.invalid_tags == ["etNOPE"]
    now = int(time.time())
    moments, _ = wecom_client.moment_list(now - 3600, now + 60)
    assert [m["moment_id"] for m in moments] == [result.moment_id]


def test_moments_past_the_daily_cap_are_refused_before_calling(wecom_sandbox, wecom_client):
    cap = wecom_client.limits.moments_per_customer_per_day
    for i in range(cap):
        wecom_client.add_moment_task(f"第{i}条")
    with pytest.raises(LimitRefused) as info:
        wecom_client.add_moment_task("再一条")
    assert info.value.limit == "moments_per_customer_per_day"
    assert _calls(wecom_sandbox, "add_moment_task") == cap
    with pytest.raises(LimitRefused):
        wecom_client.add_moment_task("字" * 2001)
    with pytest.raises(LimitRefused):
        wecom_client.moment_list(0, 31 * 86400)


# -- the database ledger ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_database_ledger_keeps_the_cap_across_clients(wecom_sandbox, make_account):
    from fencun.channels.models import WecomCorp, WecomDispatch
    from fencun.channels.wecom.ledger import wecom_client

    corp = WecomCorp.objects.create(
        account=make_account(),
        corp_id=wecom_sandbox.config.corp_id,
        secret=wecom_sandbox.config.secret,
        token="t",
        aes_key="a" * 43,
    )
    customer = sorted(c.external_userid for c in wecom_sandbox.platform.contacts.values())[0]
    with wecom_client(corp, api_base=wecom_sandbox.api_base, backoff=0.0) as client:
        task = client.add_msg_template([customer], "一")
    assert WecomDispatch.objects.filter(
        corp=corp, task_id=task.msgid, external_userid=customer
    ).exists()
    with (
        wecom_client(corp, api_base=wecom_sandbox.api_base, backoff=0.0) as again,
        pytest.raises(LimitRefused),
    ):
        again.add_msg_template([customer], "二")
    assert wecom_sandbox.platform.token_fetches == 1  # the token was shared through the database
