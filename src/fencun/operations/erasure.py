"""A follower's erasure in account operations' tables (see ``audience/erasure.py``): the
subscription notices sent to them."""

from __future__ import annotations

from fencun.accounts.models import Account
from fencun.operations.models import NoticeSend


def erase_follower(account: Account, openid: str) -> int:
    return NoticeSend.objects.filter(account=account, openid=openid).delete()[0]
