"""Queue tasks. They only wake workers: the outbox in the database is the truth, so a
task lost with a killed worker loses nothing (the periodic pass finds the rows)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from fencun.campaigns import delivery
from fencun.tasklocks import lock_task


@db_task()
def deliver() -> int:
    """Send ready outbox rows until none is left; returns rows sent."""
    return delivery.work().sent


def wake_workers(n: int = 1) -> None:
    """Enqueue ``n`` delivery tasks (each drains the outbox; extras find nothing)."""
    for _ in range(n):
        deliver()


@db_periodic_task(crontab(minute="*"))
def scheduler_tick() -> None:
    """Every minute: the scheduler pass, then wake a worker if anything is sending."""
    delivery.run_scheduler()
    delivery.cleanup_tags()
    from fencun.campaigns.models import Campaign, OutboxItem

    if OutboxItem.objects.filter(
        status=OutboxItem.Status.PENDING, campaign__status=Campaign.Status.SENDING
    ).exists():
        wake_workers()


@db_periodic_task(crontab(minute="*/10"))
@lock_task("wecom-results")
def wecom_results_tick() -> int:
    """Every ten minutes: read back what members sent of WeCom campaign tasks."""
    return delivery.collect_wecom_results()


@db_periodic_task(crontab(minute="*"))
@lock_task("campaigns-journeys")
def journeys_tick() -> int:
    """Every minute: enter and exit followers of running journeys, then approve their
    due steps (the scheduler starts them); returns step campaigns approved."""
    from fencun.campaigns import journeys

    return journeys.run_all()[1]
