"""Template messages under the 2023 rules: what the platform would cut or re-line is an
error, what it no longer shows (first/remark, colours, emoji) a warning."""

from __future__ import annotations

import pytest

from fencun.content.lint import has_errors, lint
from fencun.content.model import Message, Severity
from fencun.content.template_rules import load_template_rules, outgoing, shown

NOTICE = {"character_string1": "A123", "thing2": "沙发已发货，预计周五送达", "time3": "2026-12-08 10:00"}


def findings(data):
    return [f for f in lint(Message(kind="template", data=data)) if f.field.startswith("data.")]


def only(data, code):
    found = [f for f in findings(data) if f.code == code]
    assert len(found) == 1, findings(data)
    return found[0]


def test_a_service_notice_within_the_rules_passes_and_is_shown_as_written():
    assert lint(Message(kind="template", data=NOTICE)) == []
    assert shown(NOTICE) == NOTICE


def test_the_rules_are_data_with_their_source():
    rules = load_template_rules()
    assert rules.field_max_chars == 20
    assert rules.hidden_fields == {"first", "remark"}
    assert rules.effective == "2023-05-04"
    assert rules.source("field_max_chars").endswith("000a2ae286cdc0f41a8face4c51801")
    assert rules.send_status["user_block"] == "failed:user block"


def test_a_field_over_twenty_characters_is_an_error_at_the_cut():
    text = "您的沙发已从上海仓库发出，预计本周五下午送达府上"
    assert len(text) > 20
    finding = only({"thing2": text}, "template-field-cut")
    assert finding.severity is Severity.ERROR
    assert finding.field == "data.thing2"
    assert finding.span == (20, len(text))
    assert "20" in finding.message_zh and "20" in finding.message_en
    assert findings({"thing2": text[:20]}) == []


@pytest.mark.parametrize("brk", ["\n", "\r\n", "\u2028"])
def test_a_line_break_is_an_error(brk):
    data = {"thing2": f"已发货{brk}周五送达"}
    found = [f for f in findings(data) if f.code == "template-line-break"]
    assert found and all(f.severity is Severity.ERROR for f in found)
    assert found[0].span[0] == 3
    assert has_errors(lint(Message(kind="template", data=data)))


@pytest.mark.parametrize("name", ["first", "remark"])
def test_first_and_remark_are_a_warning_and_not_sent(name):
    data = {**NOTICE, name: "感谢您的惠顾"}
    finding = only(data, "template-hidden-field")
    assert finding.severity is Severity.WARNING
    assert finding.field == f"data.{name}"
    assert "2023-05-04" in finding.message_zh and name in finding.message_en
    assert not has_errors(lint(Message(kind="template", data=data)))
    assert name not in outgoing(data)


def test_emoji_and_colour_are_warnings_and_dropped_before_sending():
    data = {"thing2": {"value": "已发货🚚\ufe0f周五送达", "color": "#FF0000"}}
    emoji = only(data, "template-emoji")
    assert emoji.severity is Severity.WARNING and emoji.span == (3, 5)
    assert only(data, "template-colour").severity is Severity.WARNING
    assert outgoing(data) == {"thing2": {"value": "已发货周五送达"}}
    # Emoji do not count towards the 20 characters: they are not sent.
    assert findings({"thing2": "一" * 20 + "🎉"})[0].code == "template-emoji"


def test_marketing_in_a_shown_field_is_refused_but_not_in_a_dropped_one():
    finding = only({"thing2": "下单享八五折优惠"}, "template-marketing")
    assert finding.severity is Severity.ERROR and finding.field == "data.thing2"
    assert "template-marketing" not in {f.code for f in findings({**NOTICE, "remark": "优惠"})}
    # The refusal of marketing in the message text stays.
    promo = Message(kind="template", body="现在下单享优惠")
    assert "template-marketing" in {f.code for f in lint(promo)}


def test_data_is_read_from_json_and_checked():
    message = Message.from_dict({"kind": "template", "data": {"thing2": {"value": "已发货"}, "time3": "10:00"}})
    assert message.data == {"thing2": {"value": "已发货"}, "time3": "10:00"}
    with pytest.raises(ValueError, match="data"):
        Message.from_dict({"kind": "template", "data": ["x"]})
    with pytest.raises(ValueError, match="thing2"):
        Message.from_dict({"kind": "template", "data": {"thing2": {"value": 3}}})


def test_findings_of_data_fields_come_after_the_text_fields_in_name_order():
    message = Message(kind="template", body="本店最好", data={"b": "x" * 21, "a": "y\n"})
    fields = [f.field for f in lint(message)]
    assert fields.index("body") < fields.index("data.a") < fields.index("data.b")
