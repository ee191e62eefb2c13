"""Queue tasks of audience: the daily retention pass."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from fencun.accounts.models import Account
from fencun.audience.retention import anonymise_old_events
from fencun.tasklocks import lock_task


@db_periodic_task(crontab(minute="17", hour="3"))
@lock_task("audience-retention")
def retention_tick() -> int:
    """Every night: anonymise the events past each account's retention; how many."""
    return sum(
        anonymise_old_events(account)
        for account in Account.objects.filter(retention_months__isnull=False)
    )
