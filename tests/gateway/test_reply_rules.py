"""Changing auto-reply rules through the domain's actions: checked, saved, answering at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fencun.audience import kinds
from fencun.gateway.models import AutoReply
from fencun.gateway.normalize import Incoming
from fencun.gateway.replies import choose
from fencun.gateway.reply_rules import ReplyRuleError, delete_auto_reply, save_auto_reply


def _text(content: str) -> Incoming:
    return Incoming(kinds.TEXT, "o_rules", datetime.now(UTC), {"content": content}, "k", "gh_x")


@pytest.mark.django_db
def test_a_saved_rule_answers_at_once_and_a_deleted_one_stops(make_account):
    account = make_account()
    assert choose(account.pk, _text("地址")) is None  # the empty rule set is now cached
    rule = save_auto_reply(account, match="exact", keyword="地址", priority=1, reply_type="text",
                           content="惠州市惠城区", active=True)
    assert choose(account.pk, _text("地址")).content == "惠州市惠城区"
    save_auto_reply(account, rule, content="搬到了江北")
    assert choose(account.pk, _text("地址")).content == "搬到了江北"
    delete_auto_reply(rule)
    assert choose(account.pk, _text("地址")) is None


@pytest.mark.django_db
@pytest.mark.parametrize(("fields", "bad"), [
    ({"match": "nonsense", "keyword": "x"}, "match"),
    ({"match": "exact", "keyword": "x" * 101}, "keyword"),
    ({"match": "exact", "keyword": "a\x00b"}, "keyword"),
    ({"match": "exact", "account_id": 7}, "account_id"),
])
def test_a_bad_rule_names_its_field_and_saves_nothing(make_account, fields, bad):
    account = make_account()
    with pytest.raises(ReplyRuleError) as refused:
        save_auto_reply(account, **fields)
    assert bad in refused.value.errors
    assert not AutoReply.objects.exists()


@pytest.mark.django_db
def test_another_accounts_rule_is_refused_and_left_as_it_was(make_account):
    ours, theirs = make_account(), make_account(app_id="wx-theirs-0000001")
    rule = save_auto_reply(theirs, match="exact", keyword="价格", content="问店员")
    with pytest.raises(ReplyRuleError):
        save_auto_reply(ours, rule, content="改掉")
    rule.refresh_from_db()
    assert rule.content == "问店员"


@pytest.mark.django_db
def test_the_refusal_speaks_the_merchants_language(make_account):
    from django.utils import translation

    account = make_account()
    for lang, words in (("zh-hans", "自动回复没有这个字段"), ("en", "not an auto-reply field")):
        with translation.override(lang), pytest.raises(ReplyRuleError) as refused:
            save_auto_reply(account, owner="x")
        assert refused.value.errors["owner"] == [words]
