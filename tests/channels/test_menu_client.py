"""The client's menu and QR-code calls over real HTTP against the sandbox, and the menu
checks the product runs before saving a draft: :func:`check_buttons` and
:func:`check_matchrule` refuse exactly what the sandbox refuses (both read the account
table), which a property test holds them to."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fencun.channels.wechat import errors
from fencun.channels.wechat.account_limits import entry, errcode, limit
from fencun.channels.wechat.client import MemoryMassLedger, QrTicket, WeChatClient
from fencun.channels.wechat.menus import MenuProblem, check_buttons, check_matchrule
from fencun.channels.wechat.tokens import MemoryTokenStore
from fencun.sandbox.wechat.menu import SUB_CODES

MENU = [
    {"type": "click", "name": "新品", "key": "NEW_ARRIVALS"},
    {
        "name": "门店",
        "sub_button": [
            {"type": "view", "name": "附近门店", "url": "https://shop.example.com/stores"},
            {"type": "location_select", "name": "发送位置", "key": "LOCATION"},
        ],
    },
]
SOFA = [{"type": "click", "name": "沙发专区", "key": "SOFA"}]
FAN = "o_sofa_fan_000000000000000001"
SOFA_TAG = 300


def client_for(box, **options) -> WeChatClient:
    options.setdefault("timeout", 5.0)
    return WeChatClient(
        box.config.app_id,
        box.config.app_secret,
        account_type=box.config.account_type,
        api_base=box.api_base,
        token_store=MemoryTokenStore(),
        ledger=MemoryMassLedger(),
        backoff=0.0,
        **options,
    )


class Raw:
    """Posts to the sandbox without the client's checks, as a careless client would."""

    def __init__(self, client: WeChatClient) -> None:
        self.client = client
        self.http = httpx.Client(base_url=client.api_base)

    def post(self, path: str, body: object) -> dict:
        params = {"access_token": self.client.access_token()}
        content = json.dumps(body, ensure_ascii=False).encode()
        return self.http.post(path, params=params, content=content).json()


@pytest.fixture
def box(make_sandbox):
    box = make_sandbox(followers=0)
    fan = {"openid": FAN, "tags": [SOFA_TAG]}
    httpx.post(f"{box.api_base}/sandbox/followers", json={"followers": [fan]})
    return box


@pytest.fixture
def client(box):
    with client_for(box) as c:
        yield c


def calls(box, path: str) -> int:
    return box.state()["calls"].get(path, 0)


# --- the default menu --------------------------------------------------------------------


def test_the_default_menu_is_created_read_and_deleted(client):
    assert client.get_menu() is None
    panel = client.get_selfmenu_info()
    assert panel["is_menu_open"] == 1
    assert [b["name"] for b in panel["selfmenu_info"]["button"]] == ["新品", "门店", "联系我们"]

    client.create_menu(MENU)
    menu = client.get_menu()
    assert menu is not None and set(menu) == {"menu"}
    assert [b["name"] for b in menu["menu"]["button"]] == ["新品", "门店"]
    shown = client.get_selfmenu_info()["selfmenu_info"]["button"]
    assert shown[0] == MENU[0] and shown[1]["sub_button"]["list"] == MENU[1]["sub_button"]

    client.delete_menu()
    assert client.get_menu() is None


def test_a_menu_the_platform_would_refuse_is_refused_before_calling(box, client):
    menu = [{**MENU[0], "name": "家具家具家具"}, MENU[1]]  # 18 bytes
    with pytest.raises(errors.LimitRefused) as refused:
        client.create_menu(menu)
    assert refused.value.limit == "button_name_max_bytes"
    assert calls(box, "/cgi-bin/menu/create") == 0


def test_reads_are_retried_and_a_personalised_menu_is_not(box):
    box.set_faults([{"path": "/cgi-bin/menu/get", "errcode": -1, "times": 1}])
    with client_for(box) as client:
        assert client.get_menu() is None  # -1, then 46003: no menu
        assert calls(box, "/cgi-bin/menu/get") == 2
        client.create_menu(MENU)
    # The platform adds the menu, but its answer comes too late: not asked again.
    box.set_faults(
        [{"path": "/cgi-bin/menu/addconditional", "action": "timeout_after", "seconds": 1.0}]
    )
    with client_for(box, timeout=0.3) as client, pytest.raises(errors.ApiTimeout):
        client.add_conditional_menu(SOFA, {"tag_id": str(SOFA_TAG)})
    assert calls(box, "/cgi-bin/menu/addconditional") == 1


# --- personalised menus -------------------------------------------------------------------


def test_personalised_menus_through_the_client(box, client):
    client.create_menu(MENU)
    menuid = client.add_conditional_menu(SOFA, {"tag_id": str(SOFA_TAG)})
    assert isinstance(menuid, str) and menuid.isdigit()
    assert [b["name"] for b in client.try_match_menu(FAN)] == ["沙发专区"]
    listed = client.get_menu()
    assert listed is not None
    assert [str(m["menuid"]) for m in listed["conditionalmenu"]] == [menuid]

    client.delete_conditional_menu(menuid)
    assert [b["name"] for b in client.try_match_menu(FAN)] == ["新品", "门店"]
    with pytest.raises(errors.InvalidRequest) as gone:
        client.delete_conditional_menu(menuid)
    assert gone.value.errcode == errcode("menu", "unknown_menuid")
    with pytest.raises(errors.InvalidRecipient) as stranger:
        client.try_match_menu("o_stranger")
    assert stranger.value.errcode == errcode("menu", "trymatch_unknown_user")

    client.delete_menu()
    with pytest.raises(errors.InvalidRequest) as no_default:
        client.add_conditional_menu(SOFA, {"tag_id": str(SOFA_TAG)})
    assert no_default.value.errcode == errcode("menu", "conditional_needs_default")


def test_a_rule_the_platform_would_refuse_is_refused_before_calling(box, client):
    client.create_menu(MENU)
    with pytest.raises(errors.LimitRefused) as private:
        client.add_conditional_menu(SOFA, {"tag_id": "300", "sex": "1"})
    assert private.value.limit == "matchrule_private"
    with pytest.raises(errors.LimitRefused) as empty:
        client.add_conditional_menu(SOFA, {})
    assert empty.value.limit == "matchrule_empty"
    assert calls(box, "/cgi-bin/menu/addconditional") == 0


def test_an_unverified_account_has_no_personalised_menus(box):
    with client_for(box, verified=False) as client:
        for call in (
            lambda: client.add_conditional_menu(SOFA, {"tag_id": "300"}),
            lambda: client.delete_conditional_menu("208379533"),
            lambda: client.try_match_menu(FAN),
        ):
            with pytest.raises(errors.LimitRefused) as refused:
                call()
            assert refused.value.limit == "conditional_verified_only"
    assert not any("conditional" in path or "trymatch" in path for path in box.state()["calls"])


# --- the checks agree with the sandbox ------------------------------------------------------


def sandbox_code(problem: MenuProblem) -> int:
    """The code the sandbox answers for a problem (a sub-button's has its own)."""
    code = errcode("menu", problem.limit)
    return SUB_CODES.get(code, code) if len(problem.path) == 2 else code


def test_problems_name_the_button_the_limit_and_its_value():
    menu = [MENU[0], {"name": "门店", "sub_button": [*MENU[1]["sub_button"], {"type": "x"}]}]
    assert check_buttons(menu) == [
        MenuProblem(
            (1, 2), "sub_button_name_max_bytes", limit("menu", "sub_button_name_max_bytes")
        ),
        MenuProblem((1, 2), "types", limit("menu", "types")),
    ]
    assert check_buttons("menu") == [MenuProblem((), "buttons_max", 3)]
    assert check_buttons([{"type": "media_id", "name": "画册"}]) == [
        MenuProblem((0,), "media_id", None)
    ]
    assert check_matchrule({"tag_id": "1", "city": "惠州"}) == [
        MenuProblem((), "matchrule_private", entry("menu", "matchrule_private")["value"], "city")
    ]


NAMES = st.one_of(
    st.sampled_from(["新品", "门店", "a" * 16, "门" * 5]),
    st.sampled_from(["", "a" * 17, "家具家具家具", "门" * 20, "门" * 21, 7]),
)
TYPES = st.sampled_from([*limit("menu", "types"), "teleport", None])
OPTIONAL = {
    "key": st.sampled_from(["K", "", "k" * 128, "k" * 129, 5]),
    "url": st.sampled_from(["https://shop.example.com/", "", "u" * 1024, "u" * 1025]),
    "media_id": st.sampled_from(["MEDIA", ""]),
    "article_id": st.sampled_from(["ARTICLE", ""]),
    "appid": st.sampled_from(["wx0000000000000001", ""]),
    "pagepath": st.just("pages/index"),
}
VALID_FIELD = {"key": "K", "url": "https://shop.example.com/", "media_id": "M", "article_id": "A"}


def _valid_leaf(kind: str) -> dict:
    needs = limit("menu", "type_fields")[kind]
    leaf = {"type": kind, "name": "好", needs: VALID_FIELD[needs]}
    if kind == "miniprogram":
        leaf.update(appid="wx0000000000000001", pagepath="pages/index")
    return leaf


# Menus the platform takes about as often as ones it refuses, for every reason it has.
VALID_LEAVES = st.sampled_from(limit("menu", "types")).map(_valid_leaf)
LEAVES = st.one_of(
    VALID_LEAVES, st.fixed_dictionaries({"type": TYPES, "name": NAMES}, optional=OPTIONAL)
)
SUBS = st.one_of(VALID_LEAVES, VALID_LEAVES, LEAVES, st.just("x"))
PARENTS = st.fixed_dictionaries({"name": NAMES, "sub_button": st.lists(SUBS, max_size=6)})
VALID_PARENTS = st.fixed_dictionaries(
    {"name": st.just("门店"), "sub_button": st.lists(VALID_LEAVES, min_size=1, max_size=5)}
)
BUTTONS = st.one_of(VALID_LEAVES, LEAVES, PARENTS, st.just(7))
MENUS = st.one_of(
    st.lists(st.one_of(VALID_LEAVES, VALID_PARENTS), min_size=1, max_size=3),
    st.lists(st.one_of(VALID_LEAVES, VALID_PARENTS, BUTTONS), min_size=1, max_size=3),
    st.lists(BUTTONS, max_size=5),
)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(MENUS)
def test_check_buttons_refuses_exactly_what_the_sandbox_refuses(client, menu):
    answer = Raw(client).post("/cgi-bin/menu/create", {"button": menu})
    found = check_buttons(menu)
    assert (found == []) == (answer["errcode"] == 0), (found, answer)
    if found:  # the first problem is the one the platform names
        assert answer["errcode"] == sandbox_code(found[0])


@pytest.mark.parametrize(
    "rule",
    [
        {"tag_id": "300"},
        {"tag_id": 300},
        {"client_platform_type": 2},
        {"tag_id": "300", "client_platform_type": "3", "sex": ""},
        {},
        {"tag_id": " "},
        {"group_id": "2"},
        {"tag_id": "300", "language": "zh_CN"},
        {"province": "广东"},
        {"tag_id": "-1"},
        {"tag_id": True},
        {"client_platform_type": "4"},
        ["tag_id", "300"],
    ],
)
def test_check_matchrule_refuses_exactly_what_the_sandbox_refuses(client, rule):
    client.create_menu(MENU)
    answer = Raw(client).post("/cgi-bin/menu/addconditional", {"button": SOFA, "matchrule": rule})
    found = check_matchrule(rule)
    assert (found == []) == (answer.get("errcode", 0) == 0), (found, answer)


# --- QR codes -----------------------------------------------------------------------------


def test_qr_codes_temporary_and_permanent(box, client):
    temporary = client.create_qrcode(7, permanent=False, expire_seconds=1800)
    assert isinstance(temporary, QrTicket) and temporary.expire_seconds == 1800
    assert temporary.ticket and temporary.url
    default = client.create_qrcode("store42", permanent=False)
    assert default.expire_seconds == limit("qrcode", "temporary_expire_seconds_default")
    permanent = client.create_qrcode("store42", permanent=True)
    assert permanent.expire_seconds is None
    assert client.create_qrcode("store42", permanent=True).ticket == permanent.ticket
    shown = httpx.get(f"{box.api_base}/cgi-bin/showqrcode", params={"ticket": permanent.ticket})
    assert shown.status_code == 200


@pytest.mark.parametrize(
    ("scene", "permanent", "seconds", "limit_name"),
    [
        (100_001, True, None, "permanent_scene_id_max"),
        (0, False, None, "temporary_scene_id_max"),
        (2**31, False, None, "temporary_scene_id_max"),
        ("s" * 65, False, None, "scene_str_max_chars"),
        ("", True, None, "scene_str_max_chars"),
        (7, False, 40 * 86_400, "temporary_expire_seconds_max"),
        (7, False, 0, "temporary_expire_seconds_max"),
    ],
)
def test_a_qr_code_the_platform_would_refuse_is_refused_before_calling(
    box, client, scene, permanent, seconds, limit_name
):
    with pytest.raises(errors.LimitRefused) as refused:
        client.create_qrcode(scene, permanent=permanent, expire_seconds=seconds)
    assert refused.value.limit == limit_name
    assert calls(box, "/cgi-bin/qrcode/create") == 0


def test_a_permanent_code_takes_no_expiry(client):
    with pytest.raises(ValueError):
        client.create_qrcode(7, permanent=True, expire_seconds=60)
