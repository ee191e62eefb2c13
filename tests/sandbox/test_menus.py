"""Menus in the sandbox over HTTP: the default menu, personalised menus, and the menu the
account shows (the operator's admin-panel menu until one is set by API). Each refusal is
the code in the account table (``channels/wechat/data/account_limits.json``), never a
number written here, and a refused call changes nothing."""

from __future__ import annotations

import copy
import json

import httpx
import pytest

from fencun.channels.wechat.account_limits import account_limits_table
from fencun.sandbox.population import PANEL_MENU
from fencun.sandbox.wechat.limits import api_errcode, api_limit, api_limits

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
SOFA = [{"type": "click", "name": "沙发专区", "key": "SOFA"}]
BED = [{"type": "view", "name": "床垫专区", "url": "https://shop.example.com/beds"}]
#: Followers with known tags, in the order they were applied.
FOLLOWERS = {
    "o_sofa_fan_000000000000000001": [101, 300],
    "o_bed_fan_0000000000000000002": [300, 301],
    "o_nobody_000000000000000000003": [],
}
SOFA_TAG, BED_TAG = 300, 301


class Raw:
    """The sandbox's API with no client in between."""

    def __init__(self, box) -> None:
        self.http = httpx.Client(base_url=box.api_base)
        token = self.http.get(
            "/cgi-bin/token",
            params={
                "grant_type": "client_credential",
                "appid": box.config.app_id,
                "secret": box.config.app_secret,
            },
        ).json()
        self.token = token["access_token"]

    def post(self, path: str, body: object) -> dict:
        content = json.dumps(body, ensure_ascii=False).encode()
        return self.http.post(path, params={"access_token": self.token}, content=content).json()

    def get(self, path: str) -> dict:
        return self.http.get(path, params={"access_token": self.token}).json()

    def menus(self) -> dict:
        return self.get("/cgi-bin/menu/get")


def code(name: str) -> int:
    return api_errcode("menu", name)


@pytest.fixture
def box(make_sandbox):
    box = make_sandbox(followers=0)
    followers = [{"openid": o, "tags": tags} for o, tags in FOLLOWERS.items()]
    httpx.post(f"{box.api_base}/sandbox/followers", json={"followers": followers})
    return box


@pytest.fixture
def raw(box):
    return Raw(box)


def names(buttons: list[dict]) -> list[str]:
    return [b["name"] for b in buttons]


# --- the table ---------------------------------------------------------------------------


def test_the_sandbox_enforces_the_products_account_table():
    table = account_limits_table()
    merged = api_limits()
    assert merged["menu"] == table["menu"] and merged["qrcode"] == table["qrcode"]
    assert set(api_limit("menu", "type_fields")) == set(api_limit("menu", "types"))
    for family in ("menu", "qrcode"):
        for name, entry in table[family].items():
            assert entry["source"], f"{family}.{name} says where it comes from"
    assert "datacube" in merged and "freepublish" in merged  # the sandbox's own families stay


def test_the_personalised_menu_apis_have_their_daily_quotas(box):
    for path, calls in api_limit("menu", "daily_calls").items():
        assert box.platform.quotas[path] == calls


# --- the default menu and the admin panel's ----------------------------------------------


def test_the_account_shows_the_operators_panel_menu_until_one_is_set_by_api(raw):
    info = raw.get("/cgi-bin/get_current_selfmenu_info")
    assert info["is_menu_open"] == 1
    panel = info["selfmenu_info"]["button"]
    assert panel == PANEL_MENU and names(panel) == ["新品", "门店", "联系我们"]
    news = panel[0]
    assert news["type"] == "news" and news["value"] and news["news_info"]["list"][0]["title"]
    assert [s["type"] for s in panel[1]["sub_button"]["list"]] == ["view", "text"]
    assert raw.menus()["errcode"] == code("missing")  # menu/get lists API menus only

    assert raw.post("/cgi-bin/menu/create", MENU)["errcode"] == 0
    shown = raw.get("/cgi-bin/get_current_selfmenu_info")["selfmenu_info"]["button"]
    assert shown[0] == {"type": "click", "name": "新品", "key": "NEW_ARRIVALS"}
    assert shown[1]["sub_button"]["list"][0] == {
        "type": "view",
        "name": "附近门店",
        "url": "https://shop.example.com/stores",
    }
    listed = raw.menus()["menu"]["button"]
    assert listed[0]["sub_button"] == [] and names(listed[1]["sub_button"]) == [
        "附近门店",
        "发送位置",
    ]
    assert "conditionalmenu" not in raw.menus()

    assert raw.get("/cgi-bin/menu/delete")["errcode"] == 0
    assert raw.menus()["errcode"] == code("missing")
    assert raw.get("/cgi-bin/get_current_selfmenu_info")["selfmenu_info"]["button"] == []


def test_a_menu_published_in_the_panel_replaces_the_apis(box, raw):
    raw.post("/cgi-bin/menu/create", MENU)
    panel = [{"type": "text", "name": "营业时间", "value": "10:00–21:00"}]
    answer = httpx.post(
        f"{box.api_base}/sandbox/menu/panel", json={"button": panel, "is_menu_open": 0}
    )
    assert answer.status_code == 200
    info = raw.get("/cgi-bin/get_current_selfmenu_info")
    assert info == {"is_menu_open": 0, "selfmenu_info": {"button": panel}}
    assert raw.menus()["errcode"] == code("missing")


@pytest.mark.parametrize(
    ("change", "limit"),
    [
        (
            lambda m: m["button"].extend([{"type": "click", "name": "x", "key": "X"}] * 2),
            "buttons_max",
        ),
        (lambda m: m["button"][0].update(name="家具家具家具"), "button_name_max_bytes"),  # 18 bytes
        (
            lambda m: m["button"][1]["sub_button"][0].update(name="门" * 21),
            "sub_button_name_max_bytes",
        ),
        (lambda m: m["button"][0].update(type="media_id"), "media_id"),
        (lambda m: m["button"][0].update(type="article_id"), "article_id"),
        (lambda m: m["button"][1]["sub_button"][0].update(type="miniprogram"), "miniprogram"),
        (lambda m: m["button"][1]["sub_button"].append("not a button"), "button_format"),
    ],
)
def test_a_refused_menu_is_answered_with_the_tables_code_and_changes_nothing(raw, change, limit):
    raw.post("/cgi-bin/menu/create", MENU)
    before = raw.menus()
    menu = copy.deepcopy(MENU)
    change(menu)
    assert raw.post("/cgi-bin/menu/create", menu)["errcode"] == code(limit)
    assert raw.menus() == before


# --- personalised menus -------------------------------------------------------------------


def add(raw: Raw, buttons: list[dict], rule: object) -> dict:
    return raw.post("/cgi-bin/menu/addconditional", {"button": buttons, "matchrule": rule})


def trymatch(raw: Raw, openid: str) -> dict:
    return raw.post("/cgi-bin/menu/trymatch", {"user_id": openid})


def test_a_personalised_menu_needs_a_default_menu_first(raw):
    assert add(raw, SOFA, {"tag_id": str(SOFA_TAG)})["errcode"] == code("conditional_needs_default")
    assert raw.menus()["errcode"] == code("missing")


@pytest.mark.parametrize(
    ("rule", "limit"),
    [
        ({}, "matchrule_empty"),
        ({"tag_id": "", "client_platform_type": ""}, "matchrule_empty"),
        ({"group_id": "2"}, "matchrule_empty"),  # the old name, no longer a field
        ("tag 300", "matchrule_empty"),
        ({"tag_id": "300", "sex": "1"}, "matchrule_private"),
        ({"language": "zh_CN"}, "matchrule_private"),
        ({"tag_id": "300", "country": "中国", "province": "广东"}, "matchrule_private"),
        ({"tag_id": "sofa"}, "tag_id_format"),
        ({"client_platform_type": "4"}, "client_platform_type"),
    ],
)
def test_a_refused_rule_is_answered_with_the_tables_code_and_changes_nothing(raw, rule, limit):
    raw.post("/cgi-bin/menu/create", MENU)
    assert add(raw, BED, {"tag_id": str(BED_TAG)})["menuid"]
    before = raw.menus()
    assert add(raw, SOFA, rule)["errcode"] == code(limit)
    assert raw.menus() == before


def test_personalised_buttons_are_checked_as_the_default_menus(raw):
    raw.post("/cgi-bin/menu/create", MENU)
    long_name = [{"type": "click", "name": "家具家具家具", "key": "K"}]
    assert add(raw, long_name, {"tag_id": "300"})["errcode"] == code("button_name_max_bytes")
    assert "conditionalmenu" not in raw.menus()


def test_personalised_menus_are_listed_matched_newest_first_and_deleted(raw):
    raw.post("/cgi-bin/menu/create", MENU)
    sofa = add(raw, SOFA, {"tag_id": str(SOFA_TAG)})
    bed = add(raw, BED, {"tag_id": BED_TAG, "sex": ""})  # an empty field takes no part
    phones = add(raw, SOFA, {"client_platform_type": "1"})
    assert sofa["menuid"].isdigit() and len({sofa["menuid"], bed["menuid"], phones["menuid"]}) == 3

    listed = raw.menus()
    assert names(listed["menu"]["button"]) == ["新品", "门店"] and listed["menu"]["menuid"]
    conditional = listed["conditionalmenu"]
    assert [str(m["menuid"]) for m in conditional] == [
        sofa["menuid"],
        bed["menuid"],
        phones["menuid"],
    ]
    assert conditional[0]["matchrule"] == {"tag_id": "300"}
    assert conditional[1]["button"] == [{**BED[0], "sub_button": []}]

    sofa_fan, bed_fan, nobody = FOLLOWERS
    assert names(trymatch(raw, sofa_fan)["button"]) == ["沙发专区"]
    # Tagged 300 then 301: the tag applied last decides.
    assert names(trymatch(raw, bed_fan)["button"]) == ["床垫专区"]
    # No tag, and the sandbox knows nobody's phone: the default menu.
    assert names(trymatch(raw, nobody)["button"]) == ["新品", "门店"]

    assert raw.post("/cgi-bin/menu/delconditional", {"menuid": bed["menuid"]})["errcode"] == 0
    assert names(trymatch(raw, bed_fan)["button"]) == ["新品", "门店"]
    before = raw.menus()
    again = raw.post("/cgi-bin/menu/delconditional", {"menuid": bed["menuid"]})
    assert again["errcode"] == code("unknown_menuid")
    assert raw.menus() == before

    assert raw.get("/cgi-bin/menu/delete")["errcode"] == 0  # with every personalised menu
    assert raw.menus()["errcode"] == code("missing")
    assert add(raw, SOFA, {"tag_id": "300"})["errcode"] == code("conditional_needs_default")


def test_trymatch_knows_followers_only(raw):
    raw.post("/cgi-bin/menu/create", MENU)
    assert trymatch(raw, "o_stranger")["errcode"] == code("trymatch_unknown_user")
    assert trymatch(raw, 42)["errcode"] == code("trymatch_unknown_user")


def test_personalised_menus_are_for_verified_accounts(make_sandbox):
    box = make_sandbox(followers=1, verified=False)
    raw = Raw(box)
    assert raw.post("/cgi-bin/menu/create", MENU)["errcode"] == 0  # the default menu is anyone's
    refused = code("conditional_verified_only")
    assert add(raw, SOFA, {"tag_id": "300"})["errcode"] == refused
    assert raw.post("/cgi-bin/menu/delconditional", {"menuid": "1"})["errcode"] == refused
    assert trymatch(raw, "o_anyone")["errcode"] == refused
    assert "conditionalmenu" not in raw.menus()


def test_a_call_over_the_daily_quota_adds_nothing(box, raw):
    raw.post("/cgi-bin/menu/create", MENU)
    httpx.post(f"{box.api_base}/sandbox/quotas", json={"/cgi-bin/menu/addconditional": 1})
    assert add(raw, SOFA, {"tag_id": "300"})["menuid"]
    before = raw.menus()
    assert add(raw, BED, {"tag_id": "301"})["errcode"] == api_errcode("menu", "daily_calls")
    assert raw.menus() == before
