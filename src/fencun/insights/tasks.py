"""The periodic passes of insights: the rollup folds new events into its tables every
minute; the article sync reads the platform's article figures once a day."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from fencun.insights import article_stats, outbox, rollups
from fencun.tasklocks import lock_task


@db_periodic_task(crontab(minute="*"))
@lock_task("insights-rollup")
def roll_up_events() -> int:
    outbox.sync()
    return rollups.run()


# 01:15 UTC is 09:15 in Beijing (the queue's crontab runs on UTC): the platform asks for a
# day's analytics to be read after 08:00 the next morning, when it has finished counting.
@db_periodic_task(crontab(hour="1", minute="15"))
@lock_task("insights-article-stats")
def read_article_stats() -> int:
    """Once a day: the last week of every account's article figures from the platform;
    returns the accounts read."""
    outcomes = article_stats.sync_all_article_stats()
    return sum(1 for o in outcomes.values() if isinstance(o, article_stats.ArticleSyncResult))
