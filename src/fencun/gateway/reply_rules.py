"""The merchant's auto-reply rules as the console changes them: checked as the model
checks them, saved, and this process's cache of rules dropped (the others' expires within
seconds, ``replies._CACHE_SECONDS``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from fencun import inputs
from fencun.accounts.models import Account
from fencun.gateway.models import AutoReply
from fencun.gateway.replies import forget_cached_rules

RULE_FIELDS = ("match", "keyword", "priority", "reply_type", "content", "active")


class ReplyRuleError(inputs.FieldErrors):
    """A refused rule: ``errors`` maps each bad field to why (``__all__`` for the whole);
    nothing was saved."""


def save_auto_reply(account: Account, reply: AutoReply | None = None, **fields: Any) -> AutoReply:
    """Create a rule of ``account`` (``reply`` None) or change ``reply``: the fields given
    among :data:`RULE_FIELDS`. :class:`ReplyRuleError` names each bad field."""
    unknown = sorted(set(fields) - set(RULE_FIELDS))
    if unknown:
        raise ReplyRuleError({name: [_("not an auto-reply field")] for name in unknown})
    bad = {name: [_("must not contain a NUL character")] for name, value in fields.items() if inputs.has_nul(value)}
    if bad:
        raise ReplyRuleError(bad)
    row = reply if reply is not None else AutoReply(account=account)
    if row.account_id != account.pk:
        raise ReplyRuleError({"__all__": [_("the rule belongs to another account")]})
    for name, value in fields.items():
        setattr(row, name, value)
    try:
        row.full_clean()
    except ValidationError as exc:
        raise ReplyRuleError({k: [str(m) for m in v] for k, v in exc.message_dict.items()}) from None
    with transaction.atomic():
        row.save()
    forget_cached_rules()
    return row


def delete_auto_reply(reply: AutoReply) -> None:
    """Delete ``reply``; it stops answering at once in this process."""
    reply.delete()
    forget_cached_rules()
