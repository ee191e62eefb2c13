"""退订 / TD sent to the account: answered at once, recorded on the follower, shown by the
API, and taken back by 订阅."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from tests.conftest import message

from fencun.api.models import ApiToken
from fencun.audience.models import Follower
from fencun.gateway.models import AutoReply
from fencun.gateway.replies import OPTED_IN_REPLY, OPTED_OUT_REPLY
from fencun.protocol import xmlmsg

URL = "/wechat/callback"


def _send(client, signer, text: str, msg_id: int, at: int) -> str:
    query, body = signer.plain(message("o_td", MsgType="text", Content=text, MsgId=msg_id, CreateTime=at))
    answer = client.post(f"{URL}?{urlencode(query)}", data=body, content_type="text/xml")
    assert answer.status_code == 200
    return xmlmsg.parse(answer.content)["Content"]


@pytest.mark.django_db
def test_td_opts_out_at_once_and_subscribe_takes_it_back(client, make_account, signer):
    import time

    account = make_account()
    # A merchant's rule on the same word does not hide the follower's refusal.
    AutoReply.objects.create(account=account, match="contains", keyword="订", content="订购请拨打热线")
    token = ApiToken.issue("tests", [account])[1]
    now = int(time.time())
    assert _send(client, signer, "TD", 1, now - 60) == OPTED_OUT_REPLY.content
    assert Follower.objects.get(openid="o_td").opted_out
    shown = client.get("/api/followers/o_td", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert shown["opted_out"] is True
    assert _send(client, signer, "订阅", 2, now - 30) == OPTED_IN_REPLY.content
    assert not Follower.objects.get(openid="o_td").opted_out
    # A question is a question: the merchant's rule answers it, and nothing changes.
    assert _send(client, signer, "沙发可以订吗", 3, now) == "订购请拨打热线"
    assert not Follower.objects.get(openid="o_td").opted_out
