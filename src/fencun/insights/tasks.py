"""The periodic rollup: folds new events into the insights tables every minute."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from fencun.insights import outbox, rollups
from fencun.tasklocks import lock_task


@db_periodic_task(crontab(minute="*"))
@lock_task("insights-rollup")
def roll_up_events() -> int:
    outbox.sync()
    return rollups.run()
