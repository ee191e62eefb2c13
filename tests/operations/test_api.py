"""Channel QR codes and menus through the JSON API: the console's actions, scoped to the
token's accounts, refusals as 400s that change nothing."""

from __future__ import annotations

import pytest

from fencun.api.models import ApiToken
from fencun.operations.models import Menu, QrChannel

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, connected, settings):
    account, _, box = connected
    settings.WECHAT = {**settings.WECHAT, "API_BASE": box.api_base}
    token = ApiToken.issue("tests", [account])[1]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    class Api:
        def get(self, path, **kw):
            return client.get(f"/api{path}", **headers, **kw)

        def post(self, path, body=None):
            return client.post(f"/api{path}", body or {}, content_type="application/json", **headers)

        def put(self, path, body):
            return client.put(f"/api{path}", body, content_type="application/json", **headers)

        def patch(self, path, body):
            return client.patch(f"/api{path}", body, content_type="application/json", **headers)

    return Api()


def test_a_channel_is_made_listed_drawn_and_changed(api, connected):
    _, _, box = connected
    made = api.post("/qr-channels", {"name": "春季海报", "kind": "poster", "scene": "spring", "tag_names": ["海报"]})
    assert made.status_code == 201, made.content
    channel = made.json()
    assert channel["scene"] == "spring" and channel["url"].startswith("http")
    assert any(c.scene == "spring" for c in box.platform.qrcodes.values())
    listed = api.get("/qr-channels").json()
    assert [c["name"] for c in listed] == ["春季海报"] and listed[0]["subscribed"] == 0
    png = api.get(f"/qr-channels/{channel['id']}/code.png")
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert "春季海报" in api.get(f"/qr-channels/{channel['id']}/code.svg").content.decode()
    changed = api.patch(f"/qr-channels/{channel['id']}", {"welcome": "欢迎！", "archived": True})
    assert changed.status_code == 200 and changed.json()["welcome"] == "欢迎！"


def test_a_bad_channel_is_a_400_that_makes_nothing(api, connected):
    _, _, box = connected
    bad = api.post("/qr-channels", {"name": "x", "scene": "有空格 的", "permanent": False, "expire_days": 90})
    assert bad.status_code == 400
    assert {"scene", "expire_days"} <= set(bad.json()["errors"])
    assert not QrChannel.objects.exists() and not box.platform.qrcodes
    made = api.post("/qr-channels", {"name": "x"}).json()
    assert api.patch(f"/qr-channels/{made['id']}", {"name": None}).status_code == 400
    assert api.patch(f"/qr-channels/{made['id']}", {"store": 999}).status_code == 400


def test_another_accounts_channel_is_not_found(api, connected, make_account):
    other = make_account(app_id="wx-theirs-0000001")
    theirs = QrChannel.objects.create(account=other, name="别家", scene="s", ticket="t", url="u")
    assert api.get(f"/qr-channels/{theirs.pk}").status_code == 404
    assert api.get(f"/qr-channels/{theirs.pk}/code.png").status_code == 404
    assert api.patch(f"/qr-channels/{theirs.pk}", {"name": "改"}).status_code == 404


def test_a_menu_is_drafted_published_and_previewed(api, connected):
    _, client, _ = connected
    imported = api.post("/menus/import").json()
    assert imported["live"] == [] and imported["panel_draft"]["origin"] == "panel"
    bad = api.put("/menus/draft", {"buttons": [{"type": "click", "name": "名字太长太长太长了", "key": "k"}]})
    assert bad.status_code == 400 and "名字太长太长太长了" in bad.json()["errors"][0]
    draft = api.put("/menus/draft", {"buttons": [{"type": "click", "name": "新品", "key": "sofa", "reply": "看看新沙发"}]})
    assert draft.status_code == 200
    live = api.post(f"/menus/{draft.json()['id']}/publish")
    assert live.status_code == 200 and live.json()["status"] == "live"
    assert client.get_menu()["menu"]["button"][0]["name"] == "新品"
    openid = client.get_followers().openids[0]
    assert api.get(f"/menus/preview?openid={openid}").json()[0]["name"] == "新品"
    assert api.get("/menus/preview?openid=o_nobody").status_code == 400
    kinds = {(m["kind"], m["status"]) for m in api.get("/menus").json()}
    assert ("default", "live") in kinds
    # A personalised menu before a tag exists on the platform's side is the platform's call.
    personal = api.put("/menus/draft", {"kind": "personal", "tag_id": 9999, "buttons": [{"type": "view", "name": "会员", "url": "https://a.example.com/"}]})
    assert personal.status_code == 200
    assert Menu.objects.filter(status="live").count() == 1


def test_a_notice_on_an_account_without_notices_is_a_clear_400(api, connected):
    refused = api.post("/notices", {"openid": "o1", "template_id": "t", "data": {"thing1": "x"}, "key": "k1"})
    assert refused.status_code == 400 and "48001" in refused.json()["errors"]["__all__"][0]
    assert api.get("/notices/consents?openid=o1").json() == {}
