"""Erasing a follower on request (PIPL art. 47): everything fencun holds about one openid
of one account, in every app's tables, in one transaction.

Each app above audience that keeps a follower's data registers what it erases
(:func:`register`, from its ``AppConfig.ready``): audience, which every other app may
import, calls them without importing any of them. Counts that are already aggregated
(daily rollups, a campaign's sent and held-back figures) stay as they are: they name
nobody. The follower-state snapshots are discarded, so the next plan is rebuilt from a
log without the follower.

A send already handed to WeChat cannot be called back; pending outbox rows lose the
follower before any worker can claim them (the erasure holds their rows locked).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from fencun.accounts import audit
from fencun.accounts.models import Account
from fencun.audience import snapshots
from fencun.audience.models import Event, Follower

#: ``hook(account, openid) -> rows changed``, by the name of what it erases.
Hook = Callable[[Account, str], int]
_HOOKS: dict[str, Hook] = {}


def register(name: str, hook: Hook) -> None:
    """Have ``erase_follower`` erase ``name`` with ``hook`` too (idempotent per name)."""
    _HOOKS[name] = hook


def erase_follower(account: Account, openid: str) -> dict[str, int] | None:
    """Erase ``openid`` of ``account``: rows changed per kind of data, or None when fencun
    holds nothing about them (no follower row and no event)."""
    with transaction.atomic():
        followers = Follower.objects.select_for_update().filter(account=account, openid=openid)
        events = Event.objects.filter(account=account, openid=openid)
        if not followers.exists() and not events.exists():
            return None
        counts = {name: hook(account, openid) for name, hook in sorted(_HOOKS.items())}
        counts["events"] = events.delete()[0]
        counts["followers"] = followers.delete()[0]
        snapshots.discard(account)
        # The trail says a follower was erased, never who: an openid kept here would be
        # the very thing erased.
        audit.record(account, "follower.erased", None, follower=audit.pseudonym(openid), rows=counts)
    return counts


def without(items: list, openid: str) -> list:
    """``items`` (openids, or rows naming one first) without ``openid``'s."""
    return [
        item for item in items
        if item != openid and not (isinstance(item, list | tuple) and item and item[0] == openid)
        and not (isinstance(item, dict) and openid in item.values())
    ]
