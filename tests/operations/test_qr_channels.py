"""Channel QR codes: made on the platform, drawn offline, greeting and tagging who comes
through them, and counted in insights."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fencun import clock
from fencun.audience import kinds
from fencun.audience.models import Follower, Store, Tag
from fencun.audience.services import NewEvent, record_events
from fencun.gateway.models import AutoReply
from fencun.gateway.normalize import Incoming
from fencun.gateway.replies import choose, forget_cached_rules
from fencun.insights.channel_stats import channel_stats
from fencun.operations import channel_tags, qrchannels
from fencun.operations.models import QrChannel
from fencun.sandbox.wechat.state import FaultRule

pytestmark = pytest.mark.django_db


def _make(account, client, **fields):
    defaults = {"name": "惠州店海报", "kind": "store", "scene": "store42"}
    return qrchannels.create_channel(account, client, **(defaults | fields))


def test_a_channel_gets_its_code_from_the_platform_and_draws_it_offline(connected):
    account, client, box = connected
    channel = _make(account, client, welcome="欢迎来到惠州店", tag_names=["惠州店"])
    code = box.platform.qrcodes[channel.ticket]
    assert (code.scene, code.permanent, code.url) == ("store42", True, channel.url)
    assert qrchannels.png(channel).startswith(b"\x89PNG\r\n\x1a\n")
    drawn = qrchannels.svg(channel)
    assert drawn.startswith("<svg") and "惠州店海报" in drawn


def test_a_temporary_code_expires_when_the_platform_says(connected):
    account, client, _ = connected
    channel = _make(account, client, permanent=False, expire_days=7)
    left = channel.expires_at - clock.now()
    assert timedelta(days=7) - timedelta(minutes=1) < left <= timedelta(days=7)
    assert not qrchannels.expired(channel)


@pytest.mark.parametrize(("fields", "bad"), [
    ({"scene": "店42"}, "scene"),
    ({"scene": "x" * 65}, "scene"),
    ({"name": ""}, "name"),
    ({"kind": "billboard"}, "kind"),
    ({"permanent": False, "expire_days": 31}, "expire_days"),
    ({"permanent": False, "expire_days": None}, "expire_days"),
    ({"tag_names": ["t"] * 21}, "tag_names"),
    ({"tag_names": ["x" * 31]}, "tag_names"),
    ({"welcome": "a\x00b"}, "welcome"),
])
def test_a_bad_channel_names_its_field_and_makes_no_code(connected, fields, bad):
    account, client, box = connected
    with pytest.raises(qrchannels.ChannelInputError) as refused:
        _make(account, client, **fields)
    assert bad in refused.value.errors
    assert not QrChannel.objects.exists() and not box.platform.qrcodes


def test_a_scene_is_one_channels(connected):
    account, client, box = connected
    _make(account, client)
    with pytest.raises(qrchannels.ChannelInputError) as refused:
        _make(account, client, name="另一个")
    assert "scene" in refused.value.errors
    assert QrChannel.objects.count() == 1 and len(box.platform.qrcodes) == 1


def test_a_store_of_another_account_is_refused(connected, make_account):
    account, client, _ = connected
    other = make_account(app_id="wx-theirs-0000001")
    store = Store.objects.create(account=other, name="别家", lat=23.1, lng=114.4)
    with pytest.raises(qrchannels.ChannelInputError) as refused:
        _make(account, client, store=store)
    assert "store" in refused.value.errors


def test_a_platform_refusal_records_nothing(connected):
    account, client, box = connected
    # 48001: the account may not make parametric codes (not verified).
    box.platform.faults.append(FaultRule(path="/cgi-bin/qrcode/create", errcode=48001, times=1))
    with pytest.raises(qrchannels.ChannelInputError) as refused:
        _make(account, client)
    assert "48001" in refused.value.errors["__all__"][0]
    assert not QrChannel.objects.exists()


def test_update_changes_what_the_channel_does_not_its_code(connected):
    account, client, _ = connected
    channel = _make(account, client)
    ticket = channel.ticket
    qrchannels.update_channel(channel, welcome="新的欢迎语", tag_names=[" 海报 "], archived=True)
    channel.refresh_from_db()
    assert (channel.welcome, channel.tag_names, channel.archived, channel.ticket) == ("新的欢迎语", ["海报"], True, ticket)
    with pytest.raises(qrchannels.ChannelInputError) as refused:
        qrchannels.update_channel(channel, scene="other", archived="yes")
    assert set(refused.value.errors) == {"scene"}


def _incoming(kind: str, **payload) -> Incoming:
    return Incoming(kind, "o_newcomer", clock.now(), payload, "k", "gh_x")


def test_who_comes_through_a_code_gets_its_welcome(connected):
    account, client, _ = connected
    AutoReply.objects.create(account=account, match="subscribe", content="感谢关注")
    _make(account, client, welcome="欢迎来到惠州店")
    forget_cached_rules()
    through = choose(account.pk, _incoming(kinds.SUBSCRIBE, scene="ADD_SCENE_QR_CODE", scene_value="store42"))
    assert through.content == "欢迎来到惠州店"
    assert choose(account.pk, _incoming(kinds.SCAN, scene_value="store42")).content == "欢迎来到惠州店"
    assert choose(account.pk, _incoming(kinds.SUBSCRIBE, scene="ADD_SCENE_SEARCH")).content == "感谢关注"
    assert choose(account.pk, _incoming(kinds.SCAN, scene_value="elsewhere")) is None


def _came(account, openids, kind=kinds.SUBSCRIBE, scene="store42", at=None):
    at = at or clock.now()
    payload = {"scene": "ADD_SCENE_QR_CODE", "scene_value": scene} if kind == kinds.SUBSCRIBE else {"scene_value": scene}
    record_events(account, [
        NewEvent(kind, o, at, payload, "test", f"{kind}:{o}:{at.timestamp()}") for o in openids
    ])


def test_the_tag_pass_tags_newcomers_once_on_the_platform_and_in_fencun(connected):
    account, client, box = connected
    channel = _make(account, client, tag_names=["惠州店", "海报"])
    openids = box.platform.population.page(0, 3)
    _came(account, openids[:2])
    _came(account, openids[2:], kind=kinds.SCAN)
    _came(account, ["o_elsewhere"], scene="other")
    done = channel_tags.tag_pass(account, client)
    assert (done.tagged, done.failed) == (6, 0)
    tags = {t.name: t.wechat_id for t in Tag.objects.filter(account=account)}
    for openid in openids:
        assert {tags["惠州店"], tags["海报"]} <= set(client.follower_tags(openid))
        assert {tags["惠州店"], tags["海报"]} <= set(Follower.objects.get(account=account, openid=openid).tags)
    # Nothing new: nothing done. A follower who scans again is not tagged twice.
    assert channel_tags.tag_pass(account, client).tagged == 0
    _came(account, openids[:1], kind=kinds.SCAN, at=clock.now() + timedelta(seconds=5))
    assert channel_tags.tag_pass(account, client).tagged == 0
    # An archived channel tags nobody.
    qrchannels.update_channel(channel, archived=True)
    _came(account, openids[3:5], at=clock.now() + timedelta(seconds=10))
    assert channel_tags.tag_pass(account, client).tagged == 0


def test_channel_stats_count_followers_retention_scans_and_orders(connected):
    account, client, _ = connected
    channel = _make(account, client)
    after = channel.created_at + timedelta(minutes=1)
    _came(account, ["o_a", "o_b", "o_c"], at=after)
    _came(account, ["o_old"], kind=kinds.SCAN, at=after)
    record_events(account, [
        NewEvent(kinds.UNSUBSCRIBE, "o_c", after + timedelta(hours=1), {}, "test", "u:o_c"),
        NewEvent(kinds.ORDER, "o_a", after + timedelta(days=1), {"amount": 1999.0}, "test", "order:1"),
        NewEvent(kinds.ORDER, "o_a", after + timedelta(days=2), {"amount": 500.0}, "test", "order:2"),
        NewEvent(kinds.ORDER, "o_b", channel.created_at - timedelta(days=30), {"amount": 80.0}, "test", "order:old"),
    ])
    (stats,) = channel_stats(account)
    assert (stats.subscribed, stats.staying, stats.scans) == (3, 2, 1)
    assert (stats.orders, stats.buyers, stats.revenue) == (2, 1, 2499.0)
    assert stats.retention == pytest.approx(2 / 3)
