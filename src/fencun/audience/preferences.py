"""A follower's own choices about how fencun treats them, kept in the event log so a
rebuild keeps them: "no personalisation" (PIPL art. 24 — marketing by automated
decisions must offer an option not targeted at personal characteristics)."""

from __future__ import annotations

from fencun import clock
from fencun.accounts.models import Account
from fencun.audience import kinds
from fencun.audience.models import Follower
from fencun.audience.services import record_event


def set_personalised(account: Account, openid: str, personalised: bool, *, source: str = "api") -> Follower | None:
    """Record the follower's choice; the follower as it stands after it (None: unknown)."""
    if not Follower.objects.filter(account=account, openid=openid).exists():
        return None
    now = clock.now()
    record_event(
        account, kind=kinds.PREFERENCE, openid=openid, occurred_at=now,
        payload={"personalised": bool(personalised)}, source=source,
        dedup_key=f"preference:{openid}:{now.timestamp():.6f}",
    )
    return Follower.objects.get(account=account, openid=openid)
