"""Queue tasks of the channels app: posting due broadcast posts (Weibo, WeCom customer
Moments) every minute.

``run_huey`` imports every installed app's ``tasks`` module, so this one is found as
``fencun.channels.tasks``. Posting once is guarded in the database (the claim in
``channels/broadcast/services.py``), so an overlapping or repeated run posts nothing twice.
"""

from __future__ import annotations

import logging

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from fencun.channels.broadcast.services import post_due, recent_moment_jobs, weibo_client
from fencun.channels.models import WecomCorp
from fencun.channels.wechat.errors import ChannelError, CredentialUnreadable
from fencun.channels.wecom.ledger import wecom_client
from fencun.channels.wecom.tasks import record_moment_result
from fencun.tasklocks import lock_task

log = logging.getLogger(__name__)


def post_due_broadcasts() -> int:
    """Post every due broadcast post: Weibo posts through the configured Weibo account
    (nothing without ``WEIBO_ACCESS_TOKEN``: the channel is not set up), customer Moments
    through each WeCom corp with a secret. Returns the number posted."""
    outcomes = []
    if settings.WEIBO["ACCESS_TOKEN"]:
        if settings.WEIBO["PUBLIC_URL"]:
            with weibo_client() as weibo:
                outcomes += post_due(weibo)
        else:
            # Weibo takes only posts with a link under the safe domain: our tracked links.
            log.warning("broadcast posts wait: FENCUN_PUBLIC_URL is not set")
    for corp in WecomCorp.objects.exclude(secret=""):
        try:
            client = wecom_client(corp)
        except CredentialUnreadable as exc:
            log.warning("broadcast posts of WeCom %s wait: %s", corp.corp_id, exc)
            continue
        with client:
            outcomes += post_due(client)
            # Members confirm a Moments task in the app: read back the day's results.
            for jobid in recent_moment_jobs(corp):
                try:
                    record_moment_result(corp, client, jobid)
                except ChannelError as exc:
                    log.warning("Moments job %s: %s", jobid, type(exc).__name__)
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
