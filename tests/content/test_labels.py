"""Labels and claims: the 广告 mark, prices and 包邮 against the named products, and the
AI-generated label (issue 20, item 3)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import sized

from fencun.content import Message, ProductInfo, Severity, lint
from fencun.content.labels import ad_label, ai_labels, claims, has_ai_label, price_mentions
from fencun.content.rules_data import spam_patterns

SOFA = ProductInfo("SOFA-9", "北欧布艺沙发", Decimal("4299"), free_shipping=False)
TABLE = ProductInfo("TBL-2", "实木餐桌", Decimal("1999.00"), free_shipping=True)


def text(body: str, **kw) -> Message:
    return Message(kind="text", body=body, **kw)


def found(message: Message, code: str, catalog=None, products=None):
    return [f for f in lint(message, catalog, products=products) if f.code == code]


def said(message: Message, code: str, catalog=None, products=None) -> list[str]:
    """The text each finding of ``code`` points at."""
    return [
        getattr(message, f.field)[f.span[0] : f.span[1]]
        for f in found(message, code, catalog, products)
    ]


# --- the data -----------------------------------------------------------------------


def _sections(data):
    return {k: v for k, v in data.items() if isinstance(v, dict) and k != "source"}


@pytest.mark.parametrize("data", [ad_label(), claims(), ai_labels()], ids=["ad", "claims", "ai"])
def test_every_rule_in_the_data_has_a_source(data):
    assert data["note"] and data["reviewed"]
    for name, section in _sections(data).items():
        assert isinstance(section.get("source"), str) and section["source"].strip(), name
        for key, value in section.items():
            if isinstance(value, list):
                assert value and all(isinstance(w, str) and w for w in value), (name, key)
    for name, source in data.get("source", {}).items():
        assert source.strip(), name


def test_the_data_cites_the_laws():
    assert "第九条" in ad_label()["marks"]["source"] and "第十四条" in ad_label()["marks"]["source"]
    assert {"广告", "推广"} <= set(ad_label()["marks"]["items"])
    assert "第八条" in claims()["source"]["advertising_law_8"]
    assert "GB 45438-2025" in ai_labels()["source"]["standard"]
    assert "2025年9月1日" in ai_labels()["source"]["measures"]
    assert "AI生成" in ai_labels()["labels"]["items"]


# --- ad-unmarked ---------------------------------------------------------------------


def test_an_ad_without_a_mark_is_advice_pointing_at_what_makes_it_an_ad():
    message = text("本周沙发限时优惠，到店看样")
    [finding] = found(message, "ad-unmarked")
    assert finding.severity is Severity.INFO  # the merchant's call: no acknowledgement asked
    assert message.body[finding.span[0] : finding.span[1]] == "限时"
    assert finding.fix_zh == "标注“广告”" and finding.fix_en
    assert "第九条" in finding.message_zh and "art. 9" in finding.message_en


def test_a_call_to_buy_makes_an_ad_and_a_card_or_a_price_alone_does_not():
    assert said(text("北欧沙发，立即购买"), "ad-unmarked", {"SOFA-9": SOFA}) == ["立即购买"]
    assert said(text("周末到店看样 [[SOFA-9]]"), "ad-unmarked", {"SOFA-9": SOFA}) == []
    assert said(text("北欧布艺沙发 4299 元，到店看样"), "ad-unmarked", {"SOFA-9": SOFA}) == []


def test_the_first_signal_is_shown_title_first():
    message = Message(kind="news", title="周末特价", digest="到店看样", body="限时优惠")
    assert [(f.field, f.span) for f in found(message, "ad-unmarked")] == [("title", (2, 4))]


@pytest.mark.parametrize(
    "message",
    [
        Message(kind="news", title="【广告】周末特价沙发", body="到店看样 [[SOFA-9]]"),
        Message(kind="news", title="周末特价沙发", digest="推广：北欧沙发到店", body="x"),
        text("广告｜本周沙发限时优惠"),
        text("本周沙发限时优惠，到店看样。（广告）"),
    ],
)
def test_a_mark_in_the_title_or_first_screen_satisfies_the_rule(message):
    assert found(message, "ad-unmarked") == []


def test_a_mark_below_the_first_screen_does_not_count():
    columns = spam_patterns()["limits"]["first_screen_columns"]
    body = "限时优惠" + "沙" * columns + "（广告）"
    assert said(text(body), "ad-unmarked") == ["限时"]


@pytest.mark.parametrize(
    "message",
    [
        text("您的订单 A123 已发货，预计周五送达"),
        text("到店有礼 1999 元"),  # a price, but no product named: not enough to call it an ad
        Message(kind="template", body="现在下单享八五折优惠"),  # template-marketing instead
        Message(kind="image", cover_url="https://mmbiz.qpic.cn/a/0"),
    ],
)
def test_what_is_not_an_ad_gets_no_mark_warning(message):
    assert found(message, "ad-unmarked", {"SOFA-9": SOFA}) == []


# --- claim-price --------------------------------------------------------------------------


def test_a_price_no_named_product_has_is_an_error():
    message = text("周末到手价 ¥299，数量有限")
    [finding] = found(message, "claim-price", products=[SOFA])
    assert finding.severity is Severity.ERROR
    assert message.body[finding.span[0] : finding.span[1]] == "到手价 ¥299"
    assert "北欧布艺沙发 costs ¥4,299" in finding.message_en
    assert "北欧布艺沙发 ¥4,299" in finding.message_zh and "第八条" in finding.message_zh
    assert finding.fix_zh and finding.fix_en


@pytest.mark.parametrize(
    ("body", "wrong"),
    [
        ("[[SOFA-9]] 周末只要 ¥299", ["只要 ¥299"]),
        ("[[SOFA-9]] 仅需 399 元，另有 1.5万元 套餐", ["仅需 399 元", "1.5万元"]),
        ("[[SOFA-9]] 原价 ¥5999，现价 ¥3999", ["现价 ¥3999"]),
        ("[[SOFA-9]] 3999块钱带回家", ["3999块钱"]),
    ],
)
def test_prices_of_products_named_by_card_are_checked(body, wrong):
    assert said(text(body), "claim-price", {"SOFA-9": SOFA}) == wrong


@pytest.mark.parametrize(
    "body",
    [
        "[[SOFA-9]] 到手价 4299 元",
        "[[SOFA-9]] ¥4,299",
        "[[SOFA-9]] 仅需 ￥4299.00",
        "[[SOFA-9]] 0.43万元",  # rounded to what the text writes
        "[[SOFA-9]] 原价 ¥5999，满 1000 元减 100 元，领 50 元券，运费 30 元",
        "[[SOFA-9]] 低至 5 折，仅需 3 天送达，2027元旦前到货",
        "[[SOFA-9]] [[TBL-2]] 餐桌 1999 元，沙发 4299 元",
        "[[SOFA-9]] 0元设计上门",
    ],
)
def test_prices_that_match_and_amounts_that_are_not_prices_pass(body):
    catalog = {"SOFA-9": SOFA, "TBL-2": TABLE}
    assert found(text(body), "claim-price", catalog) == []


def test_rounding_follows_the_precision_the_text_writes():
    catalog = {"S": ProductInfo("S", "抱枕", Decimal("19.95"))}
    assert said(text("[[S]] ¥19.9"), "claim-price", catalog) == ["¥19.9"]
    assert found(text("[[S]] ¥20"), "claim-price", catalog) == []
    assert found(text("[[S]] ¥19.95"), "claim-price", catalog) == []


def test_a_product_named_in_the_text_counts_and_an_unnamed_catalog_does_not():
    catalog = {"SOFA-9": SOFA}
    # Named by its catalog name, away from the price (price-mismatch looks right after it).
    message = Message(kind="news", title="北欧布艺沙发周末上新", body="全场到手价 ¥299")
    assert said(message, "claim-price", catalog) == ["到手价 ¥299"]
    # No product named: not enough to judge.
    assert found(text("全场到手价 ¥299"), "claim-price", catalog) == []
    assert found(text("全场到手价 ¥299"), "claim-price") == []


def test_card_prices_and_prices_after_a_name_are_reported_once():
    catalog = {"SOFA-9": SOFA}
    message = text("[[SOFA-9 ¥299]] 北欧布艺沙发 ¥399")
    codes = [(f.code, message.body[f.span[0] : f.span[1]]) for f in lint(message, catalog)
             if f.severity is Severity.ERROR]
    assert codes == [("price-mismatch", "[[SOFA-9 ¥299]]"), ("price-mismatch", "¥399")]


def test_price_mentions_skip_counts_discounts_and_non_currency_yuan():
    assert [m.value for m in price_mentions("低至5折 2027元旦 A123 元 任选 2 件 199 元")] == []
    [m] = price_mentions("到手价:￥1,999.5元！")
    assert (m.value, m.unit, m.cued) == (Decimal("1999.5"), Decimal("0.1"), True)


# --- claim-free-shipping ---------------------------------------------------------------------


def test_free_shipping_for_a_product_that_does_not_ship_free_is_an_error():
    message = text("北欧布艺沙发全国包邮，免运费送货上门")
    findings = found(message, "claim-free-shipping", {"SOFA-9": SOFA})
    assert [message.body[f.span[0] : f.span[1]] for f in findings] == ["全国包邮", "免运费"]
    assert {f.severity for f in findings} == {Severity.ERROR}
    assert "北欧布艺沙发" in findings[0].message_zh and "does not ship free" in findings[0].message_en


@pytest.mark.parametrize(
    ("free", "body"),
    [
        (None, "[[P]] 全国包邮"),  # the catalog does not say
        (True, "[[P]] 全国包邮"),
        (False, "[[P]] 偏远地区不包邮"),
        (False, "[[P]] 送货上门"),
    ],
)
def test_free_shipping_passes_when_true_unknown_or_not_claimed(free, body):
    catalog = {"P": ProductInfo("P", "床垫", Decimal("999"), free_shipping=free)}
    assert found(text(body), "claim-free-shipping", catalog) == []


def test_free_shipping_without_a_named_product_is_not_judged():
    assert found(text("全国包邮"), "claim-free-shipping", {"SOFA-9": SOFA}) == []
    assert said(text("全国包邮"), "claim-free-shipping", products=[TABLE, SOFA]) == ["全国包邮"]


# --- ai-unlabelled -------------------------------------------------------------------------


def test_ai_generated_content_without_a_label_is_an_error():
    message = text("北欧沙发到店，欢迎看样", ai_generated=True)
    [finding] = found(message, "ai-unlabelled")
    assert finding.severity is Severity.ERROR
    assert (finding.field, finding.span) == ("body", (0, 0))
    assert "GB 45438-2025" in finding.message_zh and "AI生成" in finding.fix_zh
    assert found(text("北欧沙发到店，欢迎看样"), "ai-unlabelled") == []  # not declared


@pytest.mark.parametrize(
    "message",
    [
        text("北欧沙发到店。本内容由AI生成", ai_generated=True),
        text("北欧沙发到店（本文由 ai 辅助生成）", ai_generated=True),
        text("北欧沙发到店 ＡＩ生成", ai_generated=True),
        Message(kind="news", title="[人工智能生成] 北欧沙发", body="到店看样", ai_generated=True),
    ],
)
def test_an_explicit_label_anywhere_satisfies_the_rule(message):
    assert found(message, "ai-unlabelled") == []


def test_labels_need_both_elements():
    assert not has_ai_label("AI 智能推荐")
    assert not has_ai_label("AI 推荐。生成订单")
    assert has_ai_label("本内容由人工智能合成")


def test_message_from_dict_reads_ai_generated():
    assert Message.from_dict({"body": "x", "ai_generated": True}).ai_generated is True
    assert Message.from_dict({"body": "x"}).ai_generated is False
    assert Message.from_dict({"body": "x", "ai_generated": None}).ai_generated is False
    with pytest.raises(ValueError, match="ai_generated"):
        Message.from_dict({"ai_generated": "yes"})


# --- robustness -------------------------------------------------------------------------


@pytest.mark.parametrize("price", ["sNaN", "NaN", "-Infinity", "-5", "1E+40"])
def test_odd_catalog_prices_do_not_break_the_lint(price):
    catalog = {"B": ProductInfo("B", "沙发", Decimal(price), free_shipping=False)}
    codes = {f.code for f in lint(text("[[B ¥9]] 沙发 ¥9 到手价 ¥9 包邮"), catalog)}
    assert {"price-mismatch", "claim-free-shipping"} <= codes


WORDS = ["到手价", "仅需", "原价", "包邮", "不包邮", "广告", "AI生成", "[[A]]", "[[B ¥9]]", "沙发", "满"]
FIELD_TEXT = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
        st.text(alphabet="¥￥元万块钱,.0123456789 ", max_size=8),
        st.sampled_from(WORDS),
    ),
    max_size=20,
).map("".join)
PRODUCT = st.builds(
    ProductInfo,
    sku=st.sampled_from(["A", "B", "C"]),
    name=st.one_of(st.just("沙发"), st.text(max_size=6)),
    price=st.decimals(allow_nan=True, allow_infinity=True),
    free_shipping=st.sampled_from([None, True, False]),
)


@settings(max_examples=sized(200, 40), deadline=None)
@given(
    kind=st.sampled_from(["news", "text", "image", "template"]),
    title=FIELD_TEXT,
    digest=FIELD_TEXT,
    body=FIELD_TEXT,
    products=st.lists(PRODUCT, max_size=4),
    use_catalog=st.booleans(),
    ai_generated=st.booleans(),
)
def test_the_lint_never_raises_on_any_text_products_or_flags(
    kind, title, digest, body, products, use_catalog, ai_generated
):
    message = Message(kind=kind, title=title, digest=digest, body=body, ai_generated=ai_generated)
    catalog = {p.sku: p for p in products} if use_catalog else None
    for finding in lint(message, catalog, products=None if use_catalog else products):
        source = "" if finding.field == "kind" else getattr(message, finding.field)
        start, end = finding.span
        assert 0 <= start <= end <= len(source), finding
        assert finding.message_zh and finding.message_en
