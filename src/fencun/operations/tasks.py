"""Queue tasks of account operations: the channel-tagging pass, every minute."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from fencun.accounts.models import Account
from fencun.channels.services import wechat_client
from fencun.channels.wechat.errors import ChannelError
from fencun.operations.channel_tags import tag_pass
from fencun.operations.models import QrChannel
from fencun.tasklocks import lock_task

log = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*"))
@lock_task("operations-channel-tags")
def channel_tags_tick() -> int:
    """Every minute: tag who came through a channel code; returns the tags applied."""
    tagged = 0
    ids = QrChannel.objects.filter(archived=False).exclude(tag_names=[]).values("account_id")
    for account in Account.objects.filter(pk__in=ids):
        try:
            with wechat_client(account) as client:
                tagged += tag_pass(account, client).tagged
        except (ChannelError, ValueError) as exc:  # not connected, or WeChat unreachable
            log.warning("channel tags of account %s not applied this time: %s", account.pk, exc)
    return tagged
