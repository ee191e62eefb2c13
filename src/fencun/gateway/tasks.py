"""Queue tasks of the gateway: folding the callbacks' inbox into the event log every
minute, for when no server folds it (stopped, or killed with rows still in the inbox).

``run_huey`` imports every installed app's ``tasks`` module. A fold takes rows no other
folder holds (:mod:`fencun.gateway.inbox`), so it may overlap a server's folds.
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from fencun.gateway import inbox
from fencun.tasklocks import lock_task


@db_periodic_task(crontab(minute="*"))
@lock_task("gateway-fold-inbox")
def fold_inbox_tick() -> int:
    """Every minute: fold what waits in the inbox; returns the rows moved."""
    return inbox.fold_all()
