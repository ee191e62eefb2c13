"""The content lint: each rule fires on what it is about and stays quiet otherwise."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import sized

from fencun.content import Message, ProductInfo, Severity, lint
from fencun.content.limits import load_article_limits
from fencun.content.lint import display_width, has_errors
from fencun.content.rules_data import absolute_terms, spam_patterns


def text(body: str) -> Message:
    return Message(kind="text", body=body)


def codes(message: Message, catalog=None) -> list[str]:
    return [f.code for f in lint(message, catalog)]


def spans(message: Message, code: str) -> list[str]:
    """The text each finding of ``code`` points at."""
    return [
        getattr(message, f.field)[f.span[0] : f.span[1]] for f in lint(message) if f.code == code
    ]


GOOD_NEWS = Message(
    kind="news",
    title="【广告】真皮沙发周末到店价 1999 元，送货上门",  # an ad, marked as one
    digest="本周六日到惠州门店，头层牛皮三人位沙发 1999 元，送货安装。",
    body="本周六日到店，头层牛皮三人位沙发 1999 元。\n\n[[SOFA-1 ¥1999]]\n\n详情：https://shop.example.com/sofa",
)


def test_a_plain_honest_article_has_no_findings():
    assert lint(GOOD_NEWS, {"SOFA-1": ProductInfo("SOFA-1", "牛皮沙发", Decimal("1999"))}) == []


# --- Advertising Law -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "term"),
    [
        ("最好的沙发", "最好"),
        ("国家级工艺", "国家级"),
        ("本店最佳选择", "最佳"),
        ("行业第一", "第一"),
        ("顶级真皮", "顶级"),
        ("极品红木", "极品"),
        ("唯一正品", "唯一"),
        ("首个智能床垫", "首个"),
        ("全网最低价", "全网最低价"),
        ("最高级面料", "最高级"),
    ],
)
def test_absolute_terms_are_errors_with_their_span(body, term):
    message = text(body)
    findings = [f for f in lint(message) if f.code == "ad-law-absolute"]
    assert [body[f.span[0] : f.span[1]] for f in findings] == [term]
    assert findings[0].severity is Severity.ERROR
    assert "第九条" in findings[0].message_zh and "art. 9(3)" in findings[0].message_en
    assert findings[0].fix_zh and findings[0].fix_en


def test_a_lone_zui_is_shown_with_the_word_it_modifies():
    assert spans(text("最舒服的沙发"), "ad-law-absolute") == ["最舒服"]


@pytest.mark.parametrize(
    "body",
    [
        "最近到店的朋友",
        "活动最后一天",
        "第一次来店里",
        "第一批到货",
        "最新款式已到",
        "唯一标识是订单号",
        "最多送三件",
    ],
)
def test_words_of_time_order_or_quantity_are_not_flagged(body):
    assert "ad-law-absolute" not in codes(text(body))


def test_spans_are_found_in_every_field_and_after_exempt_words():
    message = Message(kind="news", title="最近上新", digest="最近到店", body="最近到店，最好的床")
    found = [(f.field, f.span) for f in lint(message) if f.code == "ad-law-absolute"]
    assert found == [("body", (5, 7))]


def test_the_terms_file_cites_its_sources():
    data = absolute_terms()
    assert any("第九条第三项" in s for s in data["source"])
    assert any("绝对化用语执法指南" in s for s in data["source"])
    assert "国家级" in data["terms"] and "最近" in data["not_absolute"]


# --- spam and inducement -----------------------------------------------------------


def test_share_inducement_is_an_error_citing_the_wechat_rules():
    message = text("转发朋友圈集赞 20 个送抱枕")
    findings = [f for f in lint(message) if f.code == "wechat-induced-share"]
    assert {message.body[f.span[0] : f.span[1]] for f in findings} == {"转发朋友圈", "集赞"}
    assert all(f.severity is Severity.ERROR for f in findings)
    assert "运营规范" in findings[0].message_zh
    assert "运营规范" in spam_patterns()["source"]["inducement"]


def test_clickbait_is_a_warning():
    message = text("点击领取优惠券，限时秒杀")
    assert spans(message, "spam-clickbait") == ["点击领取", "限时秒杀"]
    assert {f.severity for f in lint(message) if f.code == "spam-clickbait"} == {Severity.WARNING}


def test_a_run_of_exclamation_marks_is_flagged_but_one_is_not():
    assert spans(text("到店有礼!!!"), "spam-exclamations") == ["!!!"]
    assert spans(text("到店有礼！！！"), "spam-exclamations") == ["！！！"]
    assert "spam-exclamations" not in codes(text("到店有礼！"))
    assert "spam-exclamations" not in codes(text("到店有礼!!"))


def test_too_many_emoji():
    assert "spam-emoji" in codes(text("上新🔥🔥🔥🔥🔥🔥"))
    assert "spam-emoji" not in codes(text("上新🔥"))


def test_all_caps_words_but_not_inside_links():
    assert spans(text("HUGE sale today"), "spam-all-caps") == ["HUGE"]
    assert "spam-all-caps" not in codes(text("Huge sale, see https://example.com/SALES"))
    assert "spam-all-caps" not in codes(text("SKU 号码"))


# --- headline and first screen ---------------------------------------------------


def test_display_width_counts_chinese_as_two_columns():
    assert display_width("沙发") == 4
    assert display_width("sofa") == 4
    assert display_width("沙发 sofa") == 9


def test_a_headline_wider_than_the_chat_list_is_flagged_from_where_it_is_cut(monkeypatch):
    # The editorial width is data; set it below what the platform's length allows, so the
    # warning shows within a title the draft API takes.
    patterns = {**spam_patterns(), "limits": {**spam_patterns()["limits"], "headline_columns": 40}}
    monkeypatch.setattr("fencun.content.rules_data.spam_patterns", lambda: patterns)
    title = "惠州" * 12  # 48 columns, 24 characters
    assert len(title) <= load_article_limits().title_max_chars
    message = Message(
        kind="news", title=title, digest="周末 1999 元", body="[[A]] https://x.example.com"
    )
    finding = next(f for f in lint(message) if f.code == "headline-too-long")
    assert finding.span == (20, 24)  # the 21st Chinese character crosses 40 columns
    assert finding.severity is Severity.WARNING
    fits = Message(kind="news", title="惠" * 20, digest="周末 1999 元", body="[[A]]")
    assert "headline-too-long" not in codes(fits)


def test_titles_digests_and_authors_over_the_draft_api_limits_are_errors():
    limits = load_article_limits()
    title, author, digest = (
        limits.title_max_chars,
        limits.author_max_chars,
        limits.digest_max_chars,
    )
    message = Message(
        kind="news",
        title="a" * (title + 6),
        author="c" * (author + 2),
        digest="b" * (digest + 5),
        body="[[A]] 1 元",
    )
    found = {f.code: (f.field, f.span, f.severity) for f in lint(message)}
    assert found["headline-over-limit"] == ("title", (title, title + 6), Severity.ERROR)
    assert found["digest-over-limit"] == ("digest", (digest, digest + 5), Severity.ERROR)
    assert found["author-over-limit"] == ("author", (author, author + 2), Severity.ERROR)
    assert "headline-too-long" not in found  # one finding for one problem
    ok = Message(
        kind="news", title="a" * title, author="c" * author, digest="b" * digest, body="[[A]]"
    )
    assert not {"headline-over-limit", "digest-over-limit", "author-over-limit"} & set(codes(ok))


@given(
    st.text(min_size=1, max_size=80).filter(lambda t: t.strip()),
    st.text(max_size=200),
)
def test_the_lint_refuses_exactly_what_the_draft_api_refuses(title, digest):
    limits = load_article_limits()
    message = Message(kind="news", title=title, digest=digest, body="[[A]]")
    found = set(codes(message))
    assert ("headline-over-limit" in found) == (len(title) > limits.title_max_chars)
    assert ("digest-over-limit" in found) == (len(digest) > limits.digest_max_chars)


def test_an_image_not_on_the_platforms_host_is_an_error():
    body = (
        "到店价 1999 元 [[A]]\n\n![沙发](https://cdn.example.com/sofa.jpg)\n\n"
        '<img src="http://mmbiz.qpic.cn/abc/0"> ![床](http://mmbiz.qpic.cn/bed/0)'
    )
    message = Message(kind="news", title="周末到店价 1999 元沙发", body=body)
    assert spans(message, "image-external") == ["https://cdn.example.com/sofa.jpg"]
    finding = next(f for f in lint(message) if f.code == "image-external")
    assert finding.severity is Severity.ERROR and finding.message_zh and finding.message_en
    assert "image-external" not in codes(text(body))  # only articles carry images


def test_a_missing_headline_is_an_error_and_a_short_one_is_advice():
    assert "headline-missing" in codes(Message(kind="news", title="  ", body="x"))
    assert "headline-too-short" in codes(Message(kind="news", title="上新", body="x"))
    assert "headline-missing" not in codes(text("上新"))


def test_a_long_first_screen_is_flagged_after_what_fits():
    digest = "沙" * 150
    message = Message(kind="news", title="周末到店价 1999 元沙发", digest=digest, body="[[A]]")
    finding = next(f for f in lint(message) if f.code == "first-screen-too-long")
    assert finding.field == "digest" and finding.span == (120, 150)


def test_first_screen_falls_back_to_the_first_paragraph_and_wants_something_concrete():
    message = Message(
        kind="news", title="周末到店价 1999 元沙发", body="# 小标题\n\n欢迎大家来店里看看\n\n[[A]]"
    )
    finding = next(f for f in lint(message) if f.code == "first-screen-vague")
    assert message.body[finding.span[0] : finding.span[1]] == "欢迎大家来店里看看"
    assert "first-screen-empty" in codes(
        Message(kind="news", title="周末到店价 1999 元沙发", body="")
    )


# --- products, prices, links -------------------------------------------------------


def test_too_many_products_in_one_push():
    cards = " ".join(f"[[P{i}]]" for i in range(7))
    assert [f.severity for f in lint(text(cards)) if f.code == "too-many-products"] == [
        Severity.WARNING
    ]
    cards = " ".join(f"[[P{i}]]" for i in range(13))
    assert [f.severity for f in lint(text(cards)) if f.code == "too-many-products"] == [
        Severity.ERROR
    ]
    assert "too-many-products" not in codes(text("[[P1]] [[P2]] [[P1]]"))


def test_one_product_with_two_prices():
    message = text("[[S1 ¥1999]] 以及 [[S1 ¥1899]]")
    finding = next(f for f in lint(message) if f.code == "price-inconsistent")
    assert message.body[finding.span[0] : finding.span[1]] == "[[S1 ¥1899]]"
    assert "price-inconsistent" not in codes(text("[[S1 ¥1999]] [[S1 1999元]]"))


def test_prices_against_the_catalog():
    catalog = {"S1": ProductInfo("S1", "真皮沙发", Decimal("1999.00"))}
    assert "price-mismatch" in codes(text("[[S1 ¥1899]]"), catalog)
    assert "price-mismatch" not in codes(text("[[S1 ¥1999]]"), catalog)
    message = text("这款真皮沙发只要 ¥1899！")
    found = [f for f in lint(message, catalog) if f.code == "price-mismatch"]
    assert [message.body[f.span[0] : f.span[1]] for f in found] == ["¥1899"]
    assert "price-mismatch" not in codes(text("这款真皮沙发只要 1999 元"), catalog)
    assert "product-unknown" in codes(text("[[NOPE]]"), catalog)
    assert "product-unknown" not in codes(text("[[NOPE]]"))  # no catalog given: not checked


def test_links():
    message = text(
        "看这里 [详情](shop/sofa) 或 http://shop.example.com/a 或 https://shop.example.com/b"
    )
    found = {f.code: message.body[f.span[0] : f.span[1]] for f in lint(message)}
    assert found["link-malformed"] == "shop/sofa"
    assert found["link-insecure"] == "http://shop.example.com/a"
    assert "link-malformed" in codes(text("[详情]()"))
    assert "link-malformed" in codes(Message(kind="image", cover_url="not a url"))
    assert "link-missing" in codes(
        Message(kind="news", title="周末到店价 1999 元沙发", body="来店里 3 天")
    )


def test_template_messages_may_not_market():
    notice = Message(kind="template", body="您的订单 A123 已发货，预计周五送达")
    assert lint(notice) == []
    promo = Message(kind="template", body="您的订单已发货，现在下单享八五折优惠")
    finding = next(f for f in lint(promo) if f.code == "template-marketing")
    assert finding.severity is Severity.ERROR
    assert promo.body[finding.span[0] : finding.span[1]] == "优惠"
    assert "template-marketing" in codes(Message(kind="template", body="本店最好"))


def test_errors_block_and_findings_are_ordered_by_field_then_position():
    message = Message(kind="news", title="最好的床", digest="最佳 1 元", body="顶级")
    findings = lint(message)
    assert has_errors(findings)
    assert [f.field for f in findings if f.code == "ad-law-absolute"] == ["title", "digest", "body"]
    assert not has_errors(lint(GOOD_NEWS))


def test_message_from_dict_refuses_non_strings():
    with pytest.raises(ValueError, match="title"):
        Message.from_dict({"title": 3})
    assert Message.from_dict({"title": "t", "extra": 1, "body": None}).body == ""
    with pytest.raises(ValueError, match="kind"):
        Message.from_dict({"kind": "video"})


# --- robustness ------------------------------------------------------------------------


FIELD_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list("最第一顶级唯首全网！!¥元[]()http:/ .\n🔥ABC0123")),
    ),
    max_size=200,
)


@settings(max_examples=sized(150, 40), deadline=None)
@given(
    kind=st.sampled_from(["news", "text", "image", "template"]),
    title=FIELD_TEXT,
    digest=FIELD_TEXT,
    body=FIELD_TEXT,
    cover=FIELD_TEXT,
)
def test_lint_never_crashes_and_spans_stay_in_their_field(kind, title, digest, body, cover):
    message = Message(kind=kind, title=title, digest=digest, body=body, cover_url=cover)
    catalog = {"A": ProductInfo("A", "沙发", Decimal("10"))}
    for finding in lint(message, catalog):
        source = "" if finding.field == "kind" else getattr(message, finding.field)
        start, end = finding.span
        assert 0 <= start <= end <= len(source), finding
        assert finding.severity in Severity
        assert finding.message_zh and finding.message_en
