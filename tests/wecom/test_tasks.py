"""Mass and Moments task results read back from the WeCom sandbox into the event log."""

from __future__ import annotations

import time

import httpx
import pytest

from fencun.accounts.models import Account
from fencun.audience.models import Event
from fencun.channels.models import WecomCorp
from fencun.channels.wecom.tasks import record_mass_results, record_moment_result

pytestmark = pytest.mark.django_db


def _corp(box) -> WecomCorp:
    account = Account.objects.create(app_id="wx5a4db0c0a7f0e001", token="t", is_default=True)
    return WecomCorp.objects.create(
        account=account,
        corp_id=box.config.corp_id,
        secret=box.config.secret,
        token=box.config.token,
        aes_key=box.config.aes_key,
    )


def test_mass_results_follow_the_members_confirmations(wecom_sandbox, wecom_client):
    corp = _corp(wecom_sandbox)
    customers = sorted(c.external_userid for c in wecom_sandbox.platform.contacts.values())[:9]
    task = wecom_client.add_msg_template(customers, "周末到店有礼")
    before = record_mass_results(corp, wecom_client, task.msgid)
    assert (
        before.members and before.members_sent == 0 and not before.finished and before.recorded == 0
    )
    first = sorted(wecom_sandbox.platform.mass[task.msgid].targets)[0]
    # A member confirms in WeCom (here through the sandbox's admin API over HTTP).
    answer = httpx.post(
        f"{wecom_sandbox.api_base}/sandbox/wecom/confirm",
        json={"msgid": task.msgid, "userid": first},
    )
    assert answer.status_code == 200
    partly = record_mass_results(corp, wecom_client, task.msgid)
    assert partly.members_sent == 1 and partly.recorded == partly.customers["sent"] > 0
    wecom_sandbox.confirm_mass(task.msgid)
    done = record_mass_results(corp, wecom_client, task.msgid)
    assert done.finished and done.customers == {"sent": len(customers)}
    assert done.recorded == len(customers) - partly.recorded  # only what changed
    stored = Event.objects.filter(account=corp.account, kind="wecom_mass_result")
    assert sorted(stored.values_list("payload__external_userid", flat=True)) == customers


def test_a_moment_result_is_stored_once_when_the_job_is_done(wecom_sandbox, wecom_client):
    corp = _corp(wecom_sandbox)
    jobid = wecom_client.add_moment_task("新品沙发到店")
    assert not record_moment_result(corp, wecom_client, jobid).done
    deadline = time.monotonic() + 10
    while not record_moment_result(corp, wecom_client, jobid).done:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    record_moment_result(corp, wecom_client, jobid)
    event = Event.objects.get(account=corp.account, kind="wecom_moment_result")
    assert event.payload["moment_id"].startswith("mom") and event.payload["jobid"] == jobid


def test_the_sandbox_admin_api_answers_over_http(wecom_sandbox):
    state = httpx.get(f"{wecom_sandbox.api_base}/sandbox/wecom/state").json()
    assert state["corp_id"] == wecom_sandbox.config.corp_id and state["contacts"] == 30
    added = httpx.post(
        f"{wecom_sandbox.api_base}/sandbox/wecom/contacts", json={"userid": "lisi"}
    ).json()
    assert added["external_userid"].startswith("wm")
    bad = httpx.post(f"{wecom_sandbox.api_base}/sandbox/wecom/contacts", json={"userid": "nobody"})
    assert bad.status_code == 400
    assert httpx.get(f"{wecom_sandbox.api_base}/sandbox/wecom/nothing").status_code == 400
