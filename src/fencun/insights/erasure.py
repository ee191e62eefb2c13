"""A follower's erasure in insights' tables (see ``audience/erasure.py``): their part in
each campaign is removed; the campaign's aggregated figures, which name nobody, stay."""

from __future__ import annotations

from fencun.accounts.models import Account
from fencun.insights.models import CampaignMember


def erase_follower(account: Account, openid: str) -> int:
    return CampaignMember.objects.filter(account=account, openid=openid).delete()[0]
