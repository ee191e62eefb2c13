"""Channel tags: who subscribes or scans through a channel's code gets its tags.

A pass reads the event log from where the last one stopped (:class:`ChannelTagCursor`),
finds subscribe and SCAN events whose scene is a channel's, and tags those followers on
the platform (``tags/members/batchtagging``, 50 at a time; tagging again is harmless, so
a pass cut short is simply repeated). The new tag lists enter the event log as profile
events, so the follower projection and the segments (``tag:NAME``) see them at once and
a rebuild from the log keeps them. The worker runs a pass every minute.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction

from fencun import clock
from fencun.accounts.models import Account
from fencun.audience import kinds
from fencun.audience.models import Event, Follower, Tag
from fencun.audience.services import NewEvent, record_events
from fencun.channels.wechat.client import WeChatClient
from fencun.channels.wechat.errors import ChannelError
from fencun.operations.models import ChannelTagCursor, QrChannel

log = logging.getLogger(__name__)

EVENTS_PER_PASS = 2_000
#: Event ids re-read behind the cursor: on PostgreSQL, concurrent folds of the gateway's
#: inbox may commit a lower id after a higher one was read. Followers who already carry
#: a tag are not tagged again, so the re-read costs one query.
OVERLAP_IDS = 1_000
TAG_BATCH = 50  # openids per batchtagging call (the tag API's limit)
SOURCE = "channel_tags"


@dataclass
class TagPass:
    events: int = 0  # subscribe and scan events read
    tagged: int = 0  # (follower, tag) pairs applied
    failed: int = 0  # pairs the platform refused (logged)


def _tag_ids(account: Account, client: WeChatClient, names: set[str]) -> dict[str, int]:
    """The platform's id of each tag name, creating the tags the account lacks."""
    known = {t.name: t.wechat_id for t in Tag.objects.filter(account=account, name__in=names)}
    missing = names - set(known)
    if missing:
        for tag in client.list_tags():  # made elsewhere since the last sync
            if tag.name in missing:
                known[tag.name] = tag.id
        for name in sorted(names - set(known)):
            known[name] = client.create_tag(name).id
        for name in missing:
            Tag.objects.update_or_create(
                account=account, wechat_id=known[name], defaults={"name": name}
            )
    return known


def _apply(client: WeChatClient, tag_id: int, openids: list[str]) -> list[str]:
    """Tag ``openids`` on the platform; the ones it took. A refused batch is retried one
    by one, so one follower at the tag limit holds back nobody else."""
    done: list[str] = []
    for start in range(0, len(openids), TAG_BATCH):
        batch = openids[start : start + TAG_BATCH]
        try:
            client.tag_followers(tag_id, batch)
            done.extend(batch)
            continue
        except ChannelError as exc:
            if len(batch) == 1:
                log.warning("tag %s refused for %s: %s", tag_id, batch[0], exc)
                continue
        for openid in batch:
            try:
                client.tag_followers(tag_id, [openid])
                done.append(openid)
            except ChannelError as exc:
                log.warning("tag %s refused for %s: %s", tag_id, openid, exc)
    return done


def _record(account: Account, added: dict[str, set[int]], cursor_at: int) -> None:
    """The followers' new tag lists as profile events (one per follower and pass)."""
    now = clock.now()
    current = dict(
        Follower.objects.filter(account=account, openid__in=list(added)).values_list("openid", "tags")
    )
    events = [
        NewEvent(
            kinds.PROFILE, openid, now, {"tags": sorted(set(current.get(openid) or []) | ids)},
            SOURCE, f"{SOURCE}:{cursor_at}:{openid}",
        )
        for openid, ids in added.items()
    ]
    record_events(account, events)


def tag_pass(account: Account, client: WeChatClient) -> TagPass:
    """Tag the followers who came through a channel since the last pass."""
    result = TagPass()
    cursor, _ = ChannelTagCursor.objects.get_or_create(account=account)
    rows = list(
        Event.objects.filter(
            account=account,
            pk__gt=max(0, cursor.event_id - OVERLAP_IDS),
            kind__in=(kinds.SUBSCRIBE, kinds.SCAN),
        )
        .order_by("pk")
        .values_list("pk", "openid", "payload")[: OVERLAP_IDS + EVENTS_PER_PASS]
    )
    if not rows or rows[-1][0] <= cursor.event_id:
        return result
    result.events = sum(1 for pk, _, _ in rows if pk > cursor.event_id)
    channels = {
        c.scene: c.tag_names
        for c in QrChannel.objects.filter(account=account, archived=False).exclude(tag_names=[])
    }
    wanted: dict[str, set[str]] = defaultdict(set)  # tag name -> openids
    for _, openid, payload in rows:
        scene = str((payload or {}).get("scene_value") or "")
        for name in channels.get(scene, ()):
            if openid:
                wanted[name].add(openid)
    last = rows[-1][0]
    if wanted:
        ids = _tag_ids(account, client, set(wanted))
        has = dict(
            Follower.objects.filter(
                account=account, openid__in={o for group in wanted.values() for o in group}
            ).values_list("openid", "tags")
        )
        added: dict[str, set[int]] = defaultdict(set)
        for name, group in sorted(wanted.items()):
            openids = sorted(o for o in group if ids[name] not in (has.get(o) or []))
            applied = _apply(client, ids[name], openids)
            result.tagged += len(applied)
            result.failed += len(openids) - len(applied)
            for openid in applied:
                added[openid].add(ids[name])
        with transaction.atomic():
            _record(account, added, last)
            ChannelTagCursor.objects.filter(pk=cursor.pk).update(event_id=last)
    else:
        ChannelTagCursor.objects.filter(pk=cursor.pk).update(event_id=last)
    return result
