"""The full follower sync: WeChat's user list, profiles and tags into the event log.

Every profile becomes one ``profile`` event through :func:`fencun.audience.services.
record_events`, the same path as the callback, so a replay of the log rebuilds the same
followers. The event's de-duplication key is the digest of the snapshot, so running the
sync again over unchanged followers records nothing (idempotent), and a changed follower
records exactly one new snapshot.

Progress is kept in :class:`~fencun.channels.models.FollowerSync` after each finished
page of ``user/get`` (10,000 openids on WeChat): an interrupted sync (a fault, a killed process)
resumes at the next page instead of starting over.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import close_old_connections, models, transaction

from fencun import clock
from fencun.accounts.models import Account
from fencun.audience import kinds
from fencun.audience.models import Follower, Tag
from fencun.audience.services import NewEvent, record_events
from fencun.channels.models import FollowerSync
from fencun.channels.wechat.client import FollowerProfile, TagInfo, WeChatClient
from fencun.inputs import clip

#: ``user/info/batchget`` takes at most this many openids per call.
BATCH = 100
#: Profiles written to the event log per transaction.
WRITE_BATCH = 1000

Progress = Callable[[int, int], None]


@dataclass
class SyncResult:
    """What one run did: followers seen, new events recorded, pages fetched, tags listed."""

    followers: int = 0
    recorded: int = 0
    pages: int = 0
    total: int = 0
    resumed: bool = False
    tags: list[TagInfo] = field(default_factory=list)


def _fit(value: str, field: str) -> str:
    """``value`` cut to the follower column the projection copies it into."""
    column = Follower._meta.get_field(field)
    assert isinstance(column, models.Field)  # a column of the follower, not a relation
    return clip(value, column.max_length or len(value))


def profile_payload(profile: FollowerProfile) -> dict[str, Any]:
    """The ``profile`` event payload the projection reads (see ``audience/projection.py``).

    Text is cut to the follower's columns here, where the platform's answer enters, so
    an over-long value from the API is stored cut rather than failing the whole page.
    """
    return {
        "subscribed": profile.subscribed,
        "subscribe_time": profile.subscribe_time,
        "scene": _fit(profile.scene, "subscribe_scene"),
        "scene_value": _fit(profile.scene_value, "subscribe_scene_value"),
        "tags": sorted(profile.tags),
        "unionid": _fit(profile.unionid, "unionid"),
        "language": _fit(profile.language, "language"),
        "remark": _fit(profile.remark, "remark"),
    }


def _dedup_key(openid: str, payload: dict[str, Any]) -> str:
    digest = hashlib.sha1(  # noqa: S324 - a content key, not a security measure
        json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    ).hexdigest()[:20]
    return f"profile:{openid}:{digest}"


def _batches(openids: Sequence[str], size: int = BATCH) -> list[Sequence[str]]:
    return [openids[i : i + size] for i in range(0, len(openids), size)]


def sync_followers(
    account: Account,
    client: WeChatClient,
    *,
    restart: bool = False,
    progress: Progress | None = None,
    workers: int = 4,
) -> SyncResult:
    """Sync every follower of ``account`` from WeChat; resume an unfinished run.

    ``restart`` drops a saved cursor and starts from the first page. ``progress`` is called
    with (followers done, total) after each batch. ``workers`` ``batchget`` calls run at
    once; the database writes stay on the calling thread. Raises the client's typed errors
    (:mod:`fencun.channels.wechat.errors`) when WeChat fails beyond its retries; the cursor
    of the last finished page is kept, so the next run continues from there.
    """
    state, _ = FollowerSync.objects.get_or_create(account=account)
    result = SyncResult(tags=client.list_tags())
    _store_tags(account, result.tags)
    if state.in_progress and not restart:
        result.resumed = True
    else:
        state.next_openid = ""
        state.pages_done = state.followers_done = state.events_recorded = state.total = 0
        state.started_at = clock.now()
        state.finished_at = None
        state.save()
    done = state.followers_done
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="sync") as pool:
        while True:
            page = client.get_followers(state.next_openid)
            result.total = state.total = page.total
            if progress:
                progress(done, page.total)
            if not page.openids:
                break
            for profiles in _chunks(pool.map(_fetch(client), _batches(page.openids))):
                now = clock.now()
                events = []
                for profile in profiles:
                    payload = profile_payload(profile)
                    events.append(
                        NewEvent(
                            kinds.PROFILE,
                            profile.openid,
                            now,
                            payload,
                            "sync",
                            _dedup_key(profile.openid, payload),
                        )
                    )
                recorded = record_events(account, events)
                fresh = sum(1 for r in recorded if r.created)
                result.recorded += fresh
                result.followers += len(profiles)
                state.events_recorded += fresh
                done += len(profiles)
                if progress:
                    progress(done, page.total)
            result.pages += 1
            state.pages_done += 1
            state.followers_done = done
            state.next_openid = page.next_openid
            # The end is an empty page: WeChat's last page still names a next_openid, and
            # a short page is not proof of the end (the page size is the platform's).
            state.save()
            if not page.next_openid:
                break
    state.finished_at = clock.now()
    state.save()
    return result


def _chunks(results: Iterator[list[FollowerProfile]]) -> Iterator[list[FollowerProfile]]:
    """Profiles of several ``batchget`` answers together: one write per WRITE_BATCH."""
    chunk: list[FollowerProfile] = []
    for profiles in results:
        chunk.extend(profiles)
        if len(chunk) >= WRITE_BATCH:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _store_tags(account: Account, tags: Sequence[TagInfo]) -> None:
    """The account's tags as WeChat lists them: names updated, deleted ones removed."""
    with transaction.atomic():
        for tag in tags:
            Tag.objects.update_or_create(
                account=account, wechat_id=tag.id, defaults={"name": tag.name[:30]}
            )
        Tag.objects.filter(account=account).exclude(wechat_id__in=[t.id for t in tags]).delete()


def _fetch(client: WeChatClient) -> Callable[[Sequence[str]], list[FollowerProfile]]:
    def fetch(openids: Sequence[str]) -> list[FollowerProfile]:
        try:
            return client.get_profiles(openids)
        finally:
            close_old_connections()  # a worker thread may have opened one for the token

    return fetch
