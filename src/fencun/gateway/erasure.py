"""A follower's erasure in the gateway's inbox (see ``audience/erasure.py``): callbacks
acknowledged and not yet folded into the event log."""

from __future__ import annotations

from fencun.accounts.models import Account
from fencun.gateway.models import InboxEvent


def erase_follower(account: Account, openid: str) -> int:
    return InboxEvent.objects.filter(account=account, openid=openid).delete()[0]
