"""The sandbox driven over HTTP by wechatpy (1.8.18, the ``test`` extra), an independent
client, for the calls a marketing account makes: if the sandbox and wechatpy disagree on a
URL, a body or an answer's shape, these fail."""

from __future__ import annotations

import copy
import io
from datetime import datetime, timedelta

import httpx
import pytest
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from fencun.engine.clock import SHANGHAI
from fencun.sandbox.wechat.limits import api_errcode

DAY = 86_400
TINY_JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


class SandboxClient(WeChatClient):
    """wechatpy's client with its hosts pointed at the sandbox.

    wechatpy reads ``API_BASE_URL`` for ``/cgi-bin/`` calls and the datacube family's own
    ``API_BASE_URL`` for analytics; only the token URL is written out in
    ``fetch_access_token``, so it is repeated here with the same parameters.
    """

    def __init__(self, base: str, appid: str, secret: str) -> None:
        super().__init__(appid, secret)
        self.base = base
        self.API_BASE_URL = f"{base}/cgi-bin/"
        self.datacube.API_BASE_URL = f"{base}/datacube/"

    def fetch_access_token(self) -> dict[str, object]:
        return self._fetch_access_token(
            url=f"{self.base}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


@pytest.fixture
def box(make_sandbox):
    return make_sandbox(account_type="service", followers=30, retry_too_fast_seconds=0)


@pytest.fixture
def client(box):
    return SandboxClient(box.api_base, box.config.app_id, box.config.app_secret)


def test_token_user_list_info_and_batchget(box, client):
    token = client.fetch_access_token()
    assert token["expires_in"] == 7200 and token["access_token"]
    followers = client.user.get_followers()
    assert followers["total"] == followers["count"] == 30
    openids = followers["data"]["openid"]
    info = client.user.get(openids[0])
    assert info["openid"] == openids[0] and info["subscribe"] == 1
    batch = client.user.get_batch(openids[:3])
    assert [u["openid"] for u in batch] == openids[:3]
    with pytest.raises(WeChatClientException) as refused:
        client.user.get_batch([f"o{i:027d}" for i in range(101)])
    assert refused.value.errcode == 40032  # more than 100 per call
    assert box.state()["token_fetches"] == 1  # one token, reused by every call


def test_tags_create_list_tag_and_members(client):
    tag = client.tag.create("沙发爱好者")
    assert tag["name"] == "沙发爱好者" and tag["id"] >= 100
    openids = client.user.get_followers()["data"]["openid"][:4]
    client.tag.tag_user(tag["id"], openids)
    listed = {t["id"]: t for t in client.tag.get()}
    assert listed[tag["id"]]["count"] == 4
    members = client.tag.get_tag_users(tag["id"])
    assert sorted(members["data"]["openid"]) == sorted(openids)
    with pytest.raises(WeChatClientException) as refused:
        client.tag.create("沙发爱好者")
    assert refused.value.errcode == 45157  # the name is taken


def test_mass_send_by_openid_list_and_by_tag(box, client):
    openids = client.user.get_followers()["data"]["openid"]
    sent = client.message.send_mass_text(openids[:5], "周末新品到店", client_msg_id="wp-1")
    assert sent["errcode"] == 0 and sent["msg_id"]
    tag = client.tag.create("老顾客")
    client.tag.tag_user(tag["id"], openids[5:8])
    # wechatpy 1.8.18 names the target the pre-2016 way (filter.group_id); the platform's
    # page names it filter.tag_id, so the body goes through wechatpy's own transport.
    by_tag = client.post(
        "message/mass/sendall",
        data={
            "filter": {"is_to_all": False, "tag_id": tag["id"]},
            "text": {"content": "老顾客专享"},
            "msgtype": "text",
            "clientmsgid": "wp-2",
        },
    )
    assert by_tag["errcode"] == 0
    box.flush()
    assert sorted(d["openid"] for d in box.deliveries(msg_id=sent["msg_id"])) == sorted(openids[:5])
    assert sorted(d["openid"] for d in box.deliveries(msg_id=by_tag["msg_id"])) == sorted(
        openids[5:8]
    )
    with pytest.raises(WeChatClientException) as again:
        client.message.send_mass_text(openids[:5], "周末新品到店", client_msg_id="wp-1")
    assert again.value.errcode == 45065  # the same clientmsgid within 24 h


def test_customer_service_message_only_inside_the_window(box, client):
    openid = client.user.get_followers()["data"]["openid"][0]
    with pytest.raises(WeChatClientException) as outside:
        client.message.send_text(openid, "您好")
    assert outside.value.errcode == 45015
    box.post_events([{"kind": "text", "openid": openid, "content": "还有货吗"}])
    assert client.message.send_text(openid, "有的")["errcode"] == 0
    assert [d["title"] for d in box.deliveries(openid=openid, kind="custom")] == ["有的"]


def test_template_list(box, client):
    templates = client.template.get_all_private_template()["template_list"]
    assert {t["template_id"]: t["title"] for t in templates} == box.config.templates
    assert all(t["primary_industry"] and t["content"] for t in templates)


def test_template_list_is_for_service_accounts_only(make_sandbox):
    box = make_sandbox(account_type="subscription", followers=1)
    client = SandboxClient(box.api_base, box.config.app_id, box.config.app_secret)
    with pytest.raises(WeChatClientException) as refused:
        client.template.get_all_private_template()
    assert refused.value.errcode == 48001


def test_permanent_material_add_count_list_delete(client):
    assert client.material.get_count() == {
        "voice_count": 0,
        "video_count": 0,
        "image_count": 0,
        "news_count": 0,
    }
    added = client.material.add("image", ("cover.jpg", io.BytesIO(TINY_JPEG)))
    assert added["media_id"] and added["url"].startswith("http")
    video = client.material.add(
        "video", ("intro.mp4", io.BytesIO(b"\0" * 64)), title="新品", introduction="沙发"
    )
    assert client.material.get_count()["image_count"] == 1
    assert client.material.get_count()["video_count"] == 1
    listed = client.material.batchget("image", offset=0, count=20)
    assert listed["total_count"] == listed["item_count"] == 1
    assert listed["item"][0]["media_id"] == added["media_id"]
    assert listed["item"][0]["name"] == "cover.jpg"
    with pytest.raises(WeChatClientException) as too_many:
        client.material.batchget("image", count=21)
    assert too_many.value.errcode == 47001  # count is 1 to 20
    with pytest.raises(WeChatClientException) as bad_type:
        client.material.add("gif", ("a.gif", io.BytesIO(b"GIF89a")))
    assert bad_type.value.errcode == 40004
    client.material.delete(video["media_id"])
    assert client.material.get_count()["video_count"] == 0
    with pytest.raises(WeChatClientException) as gone:
        client.material.delete(video["media_id"])
    assert gone.value.errcode == 40007


MENU = {
    "button": [
        {"type": "click", "name": "新品", "key": "NEW_ARRIVALS"},
        {
            "name": "门店",
            "sub_button": [
                {"type": "view", "name": "附近门店", "url": "https://shop.example.com/stores"},
                {"type": "location_select", "name": "发送位置", "key": "LOCATION"},
            ],
        },
    ]
}


def test_menu_create_get_delete(client):
    assert client.menu.get() is None  # 46003 "menu no exist", which wechatpy turns into None
    assert client.menu.create(MENU)["errcode"] == 0
    buttons = client.menu.get()["menu"]["button"]
    assert [b["name"] for b in buttons] == ["新品", "门店"]
    assert buttons[0]["sub_button"] == []
    assert [s["name"] for s in buttons[1]["sub_button"]] == ["附近门店", "发送位置"]
    assert client.menu.delete()["errcode"] == 0
    assert client.menu.get() is None


@pytest.mark.parametrize(
    ("change", "errcode"),
    [
        (lambda m: m["button"].extend([{"type": "click", "name": "x", "key": "X"}] * 2), 40016),
        (lambda m: m["button"][0].update(type="teleport"), 40017),
        (lambda m: m["button"][0].update(name="家具家具家具"), 40018),  # 18 bytes > 16
        (lambda m: m["button"][0].update(key=""), 40019),
        (lambda m: m["button"][1]["sub_button"].extend([MENU["button"][0]] * 4), 40023),
        (lambda m: m["button"][1]["sub_button"][0].update(type="teleport"), 40024),
        (lambda m: m["button"][1]["sub_button"][0].update(name="门" * 21), 40025),  # 63 bytes
        (lambda m: m["button"][1]["sub_button"][0].update(url=""), 40027),
    ],
)
def test_menu_refusals_follow_the_platform(client, change, errcode):
    menu = copy.deepcopy(MENU)
    change(menu)
    with pytest.raises(WeChatClientException) as refused:
        client.menu.create(menu)
    assert refused.value.errcode == errcode
    assert client.menu.get() is None  # a refused menu changes nothing


def test_personalised_menus_through_wechatpy(client):
    assert client.menu.create(MENU)["errcode"] == 0
    tag = client.tag.create("沙发控")
    fan, other = client.user.get_followers()["data"]["openid"][:2]
    client.tag.tag_user(tag["id"], [fan])  # the tag applied last decides
    sofa = {"type": "click", "name": "沙发专区", "key": "SOFA"}
    added = client.menu.add_conditional({"button": [sofa], "matchrule": {"tag_id": str(tag["id"])}})
    assert str(added["menuid"]).isdigit()
    assert client.menu.try_match(fan)["button"] == [{**sofa, "sub_button": []}]
    assert [b["name"] for b in client.menu.try_match(other)["button"]] == ["新品", "门店"]
    listed = client.menu.get()
    assert listed["menu"]["menuid"] and [b["name"] for b in listed["menu"]["button"]] == [
        "新品",
        "门店",
    ]
    (conditional,) = listed["conditionalmenu"]
    assert str(conditional["menuid"]) == str(added["menuid"])
    assert conditional["matchrule"] == {"tag_id": str(tag["id"])}

    with pytest.raises(WeChatClientException) as private:
        client.menu.add_conditional({"button": [sofa], "matchrule": {"sex": "1"}})
    assert private.value.errcode == api_errcode("menu", "matchrule_private")
    with pytest.raises(WeChatClientException) as stranger:
        client.menu.try_match("o_stranger")
    assert stranger.value.errcode == api_errcode("menu", "trymatch_unknown_user")
    assert client.menu.del_conditional(added["menuid"])["errcode"] == 0
    with pytest.raises(WeChatClientException) as gone:
        client.menu.del_conditional(added["menuid"])
    assert gone.value.errcode == api_errcode("menu", "unknown_menuid")
    assert client.menu.delete()["errcode"] == 0  # the default menu and every personalised one
    with pytest.raises(WeChatClientException) as no_default:
        client.menu.add_conditional({"button": [sofa], "matchrule": {"tag_id": str(tag["id"])}})
    assert no_default.value.errcode == api_errcode("menu", "conditional_needs_default")


def test_the_menu_followers_see_through_wechatpy(client):
    panel = client.menu.get_menu_info()  # the operator's, from the admin panel
    assert panel["is_menu_open"] == 1
    buttons = panel["selfmenu_info"]["button"]
    assert [b["name"] for b in buttons] == ["新品", "门店", "联系我们"]
    assert buttons[0]["type"] == "news" and buttons[0]["news_info"]["list"]
    assert [s["name"] for s in buttons[1]["sub_button"]["list"]] == ["惠州店", "营业时间"]
    client.menu.create(MENU)
    api = client.menu.get_menu_info()["selfmenu_info"]["button"]
    assert api[0] == MENU["button"][0]
    assert api[1]["sub_button"]["list"] == MENU["button"][1]["sub_button"]


def test_qrcode_temporary_and_permanent(box, client):
    temporary = client.qrcode.create(
        {
            "expire_seconds": 1800,
            "action_name": "QR_SCENE",
            "action_info": {"scene": {"scene_id": 7}},
        }
    )
    assert temporary["expire_seconds"] == 1800 and temporary["ticket"] and temporary["url"]
    capped = client.qrcode.create(
        {
            "expire_seconds": 40 * DAY,
            "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": "store42"}},
        }
    )
    assert capped["expire_seconds"] == 30 * DAY  # never more than 2,592,000 s
    permanent = client.qrcode.create(
        {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "store42"}}}
    )
    assert "expire_seconds" not in permanent
    again = client.qrcode.create(
        {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "store42"}}}
    )
    assert again["ticket"] == permanent["ticket"]  # one permanent code per scene
    with pytest.raises(WeChatClientException):
        client.qrcode.create(
            {"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100_001}}}
        )
    with pytest.raises(WeChatClientException):
        client.qrcode.create(
            {"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "s" * 65}}}
        )
    # wechatpy fetches the image from mp.weixin.qq.com; the sandbox serves the same path.
    shown = httpx.get(f"{box.api_base}/cgi-bin/showqrcode", params={"ticket": temporary["ticket"]})
    assert shown.status_code == 200 and shown.headers["content-type"].startswith("image/")
    box.advance_clock(1801)
    expired = httpx.get(
        f"{box.api_base}/cgi-bin/showqrcode", params={"ticket": temporary["ticket"]}
    )
    assert expired.status_code == 404
    assert (
        httpx.get(f"{box.api_base}/cgi-bin/showqrcode", params={"ticket": "nope"}).status_code
        == 404
    )
    kept = httpx.get(f"{box.api_base}/cgi-bin/showqrcode", params={"ticket": permanent["ticket"]})
    assert kept.status_code == 200


def test_datacube_user_summary_and_cumulate(box, client):
    now = box.platform.now()
    box.post_events(
        [
            {
                "kind": "subscribe",
                "openid": "o" + "n" * 27,
                "scene": "ADD_SCENE_QR_CODE",
                "at": now,
            },
            {
                "kind": "unsubscribe",
                "openid": client.user.get_followers()["data"]["openid"][0],
                "at": now,
            },
        ]
    )
    box.advance_clock(DAY)
    yesterday = datetime.fromtimestamp(box.platform.now(), SHANGHAI).date() - timedelta(days=1)
    summary = client.datacube.get_user_summary(yesterday - timedelta(days=6), yesterday)
    today_rows = [r for r in summary if r["ref_date"] == yesterday.isoformat()]
    assert {"user_source": 30, "new_user": 1} in [
        {k: r[k] for k in ("user_source", "new_user")} for r in today_rows
    ]
    assert sum(r["cancel_user"] for r in today_rows) == 1
    cumulate = client.datacube.get_user_cumulate(yesterday - timedelta(days=1), yesterday)
    assert [r["ref_date"] for r in cumulate] == [
        (yesterday - timedelta(days=1)).isoformat(),
        yesterday.isoformat(),
    ]
    assert cumulate[-1]["cumulate_user"] == 30  # one came, one left
    with pytest.raises(WeChatClientException) as too_long:
        client.datacube.get_user_summary(yesterday - timedelta(days=7), yesterday)
    assert too_long.value.errcode == 61501  # the span is under 7 days
    with pytest.raises(WeChatClientException) as today:
        client.datacube.get_user_summary(yesterday, yesterday + timedelta(days=1))
    assert today.value.errcode == 61501  # end_date is yesterday at the latest
    with pytest.raises(WeChatClientException) as malformed:
        client.datacube.get_user_summary("2026/12/01", "2026/12/02")
    assert malformed.value.errcode == 61500  # dates are YYYY-MM-DD


def test_datacube_article_figures_through_wechatpy(box, client):
    media_id = _wechatpy_draft(client)
    sent = client.message.send_mass_article(
        None, media_id, is_to_all=True, client_msg_id="wp-stats"
    )
    box.flush()
    box.advance_clock(2 * DAY)
    yesterday = datetime.fromtimestamp(box.platform.now(), SHANGHAI).date() - timedelta(days=1)
    sent_on = yesterday - timedelta(days=1)
    (total,) = client.datacube.get_article_total(sent_on, sent_on)
    assert total["msgid"] == f"{sent['msg_data_id']}_1"
    assert [d["target_user"] for d in total["details"]] == [30, 30]
    reads = client.datacube.get_user_read(sent_on, yesterday)
    everyone = [r for r in reads if r["user_source"] == 99999999]
    read = total["details"][-1]["int_page_read_count"]
    assert sum(r["int_page_read_count"] for r in everyone) == read
    assert client.datacube.get_user_share(yesterday - timedelta(days=6), yesterday) is not None
    with pytest.raises(WeChatClientException) as too_long:
        client.datacube.get_user_read(yesterday - timedelta(days=3), yesterday)
    assert too_long.value.errcode == api_errcode("datacube", "article_max_span_days")
    with pytest.raises(WeChatClientException) as two_days:
        client.datacube.get_article_summary(sent_on, yesterday)
    assert two_days.value.errcode == 61501  # one day a call


def _wechatpy_draft(client) -> str:
    """A one-article draft made through wechatpy: its material API for the cover, its own
    transport for draft/add (1.8.18 predates the draft box)."""
    cover = client.material.add("thumb", ("cover.jpg", io.BytesIO(TINY_JPEG)))
    body = client.media.upload_image(io.BytesIO(TINY_JPEG))
    assert body.startswith("http://mmbiz.qpic.cn/")
    added = client.post(
        "draft/add",
        data={
            "articles": [
                {
                    "title": "周末到店价 1999 元沙发",
                    "content": f'<p>头层牛皮</p><img src="{body}">',
                    "thumb_media_id": cover["media_id"],
                    "need_open_comment": 1,
                }
            ]
        },
    )
    return str(added["media_id"])


def test_a_draft_mass_sent_with_wechatpys_article_send(box, client):
    media_id = _wechatpy_draft(client)
    assert client.get("draft/count")["total_count"] == 1
    item = client.post("draft/get", data={"media_id": media_id})["news_item"][0]
    assert item["title"] == "周末到店价 1999 元沙发" and item["need_open_comment"] == 1
    openid = client.user.get_followers()["data"]["openid"][0]
    preview = client.message.send_mass_article(openid, media_id, preview=True)
    assert preview["errcode"] == 0
    sent = client.message.send_mass_article(
        None, media_id, is_to_all=True, send_ignore_reprint=1, client_msg_id="wp-draft"
    )
    assert sent["errcode"] == 0 and sent["msg_id"] and sent["msg_data_id"]
    box.flush()
    assert len(box.deliveries(msg_id=sent["msg_id"])) == 30
    assert client.get("draft/count")["total_count"] == 0  # sent: out of the box
    with pytest.raises(WeChatClientException) as again:
        client.message.send_mass_article(None, media_id, is_to_all=True, client_msg_id="wp-draft")
    assert again.value.errcode == 45065  # the same clientmsgid within 24 h


def test_a_draft_published_without_a_push_through_wechatpys_transport(box, client):
    media_id = _wechatpy_draft(client)
    submitted = client.post("freepublish/submit", data={"media_id": media_id})
    assert submitted["errcode"] == 0 and submitted["publish_id"]
    box.flush()
    status = client.post("freepublish/get", data={"publish_id": submitted["publish_id"]})
    assert status["publish_status"] == 0 and status["article_detail"]["count"] == 1
    listed = client.post("freepublish/batchget", data={"offset": 0, "count": 20, "no_content": 1})
    assert [i["article_id"] for i in listed["item"]] == [status["article_id"]]
    assert not box.deliveries()
    with pytest.raises(WeChatClientException) as unknown:
        client.post("freepublish/getarticle", data={"article_id": "nope"})
    assert unknown.value.errcode == api_errcode("freepublish", "unknown_article_id")


def test_wechatpys_permanent_news_upload_is_answered_as_retired(client):
    cover = client.material.add("thumb", ("cover.jpg", io.BytesIO(TINY_JPEG)))
    with pytest.raises(WeChatClientException) as retired:
        client.material.add_articles(
            [{"title": "沙发", "thumb_media_id": cover["media_id"], "content": "x"}]
        )
    assert retired.value.errcode == api_errcode("retired", "material_add_news")
    assert "unsupported" in retired.value.errmsg
