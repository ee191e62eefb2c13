"""Queue tasks of the channels app: posting due broadcast posts every minute.

``run_huey`` imports every installed app's ``tasks`` module, so this one is found as
``fencun.channels.tasks``. Posting once is guarded in the database (the claim in
``channels/broadcast/services.py``), so an overlapping or repeated run posts nothing twice.
"""

from __future__ import annotations

import logging

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from fencun.channels.broadcast.services import post_due, weibo_client

log = logging.getLogger(__name__)


def post_due_broadcasts() -> int:
    """Post every due broadcast post through the configured Weibo account; returns the
    number posted. Does nothing without ``WEIBO_ACCESS_TOKEN``: the channel is not set up."""
    if not settings.WEIBO["ACCESS_TOKEN"]:
        return 0
    if not settings.WEIBO["PUBLIC_URL"]:
        # Weibo takes only posts with a link under the safe domain: our tracked links.
        log.warning("broadcast posts wait: FENCUN_PUBLIC_URL is not set")
        return 0
    with weibo_client() as client:
        outcomes = post_due(client)
    for outcome in outcomes:
        if outcome.error is not None:
            log.warning(
                "broadcast post %s: %s (%s)", outcome.post.pk, outcome.post.status, outcome.error
            )
    return sum(1 for o in outcomes if o.error is None)


@db_periodic_task(crontab(minute="*"))
@lock_task("broadcast-post-due")
def post_due_broadcasts_tick() -> int:
    """Every minute: post what is due (see :func:`post_due_broadcasts`)."""
    return post_due_broadcasts()
