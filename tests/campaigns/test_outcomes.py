"""Outbox reasons are stored as codes and told in the reader's language."""

from __future__ import annotations

import pytest
from django.utils import translation

from fencun.campaigns import outcomes
from fencun.channels.wechat import errors as E
from fencun.channels.wecom.errors import NotAContact


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize("code", sorted(outcomes.LABELS))
def test_every_reason_reads_in_chinese_by_default_and_in_english(code):
    with translation.override("zh-hans"):
        chinese = outcomes.label(code)
    with translation.override("en"):
        english = outcomes.label(code)
    assert _has_chinese(chinese), f"{code} has no Chinese label"
    assert english and not _has_chinese(english)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (E.OutcomeUnknown("no answer"), "outcome_unknown"),
        (E.OutOfWindow(45015, "out of time", "/cgi-bin/message/custom/send"), "outside_window"),
        (E.InvalidRecipient(40003, "invalid openid", "/cgi-bin/message/mass/send"), "not_a_follower"),
        (NotAContact(84061, "not external contact", "/cgi-bin/externalcontact/add_msg_template"), "not_a_contact"),
        (E.ContentRejected(45002, "content too long", "/cgi-bin/message/custom/send"), "failed"),
    ],
)
def test_a_channel_error_is_given_its_reason_code(error, code):
    assert outcomes.code_for(error) == code


def test_a_refused_recipient_is_given_its_reason_code():
    assert outcomes.code_for_refusal("InvalidRecipient 40003: no longer follows the account") == "not_a_follower"
    assert outcomes.code_for_refusal("NotAContact 84061: no longer a contact of any member") == "not_a_contact"
    assert outcomes.code_for_refusal("") == "refused"
