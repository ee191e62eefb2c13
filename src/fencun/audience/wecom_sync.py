"""The external-contact sync: WeCom's customers, their follow users and corp tags into the
product.

Contacts are written to ``ExternalContact`` and each relation's snapshot (a customer as one
follow user has them) is appended to the event log (kind ``wecom_contact``) through :func:`fencun.audience.services.record_events`,
keyed by the snapshot's digest: running the sync again over unchanged contacts records
nothing, and a changed relation records exactly one new snapshot.

Progress is kept in :class:`~fencun.channels.models.ContactSync` after each page of
``batch/get_by_user`` (the members still to do and the cursor inside the current group of
up to 100 members), so an interrupted run resumes at the next page. Once a run has seen
every member, relations it did not see are dropped (a deletion whose callback was missed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fencun import clock
from fencun.audience.services import NewEvent, record_events
from fencun.channels.models import ContactSync, WecomCorp
from fencun.channels.wecom import contacts
from fencun.channels.wecom.client import WeComClient

CONTACT_SNAPSHOT = "wecom_contact"

Progress = Callable[[int], None]


@dataclass
class ContactSyncResult:
    """What one run did: relations (contact, member) seen, snapshots recorded, pages, tags."""

    relations: int = 0
    contacts: int = 0
    recorded: int = 0
    pages: int = 0
    tags: int = 0
    resumed: bool = False
    dropped: int = 0


def _snapshots(corp: WecomCorp, items: Sequence[dict[str, Any]]) -> list[NewEvent]:
    """One snapshot event per relation (customer, follow user), as the page lists them."""
    now = clock.now()
    events = []
    for item in items:
        info = item.get("external_contact") or {}
        follow = item.get("follow_info") or {}
        external_userid = str(info.get("external_userid") or "")
        userid = str(follow.get("userid") or "")
        if not external_userid:
            continue
        payload = {
            "external_userid": external_userid,
            "unionid": str(info.get("unionid") or ""),
            "userid": userid,
            "remark": str(follow.get("remark") or ""),
            "tags": sorted(str(t) for t in follow.get("tag_id") or []),
        }
        digest = hashlib.sha1(  # noqa: S324 - a content key, not a security measure
            json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
        ).hexdigest()[:20]
        key = f"wecom:contact:{corp.corp_id}:{external_userid}:{userid}:{digest}"
        events.append(NewEvent(CONTACT_SNAPSHOT, "", now, payload, "sync", key))
    return events


def sync_contacts(
    corp: WecomCorp,
    client: WeComClient,
    *,
    restart: bool = False,
    progress: Progress | None = None,
    page_size: int = 100,
) -> ContactSyncResult:
    """Sync every external contact of ``corp`` from WeCom; resume an unfinished run.

    ``restart`` drops saved progress. ``progress`` is called with the relations done so
    far after each page. Raises the client's typed errors when WeCom fails beyond its
    retries; progress up to the last finished page is kept.
    """
    state, _ = ContactSync.objects.get_or_create(corp=corp)
    result = ContactSyncResult()
    result.tags = contacts.store_tags(corp, client.corp_tags())
    if state.in_progress and not restart:
        result.resumed = True
    else:
        state.pending_users = client.follow_users()
        state.cursor = ""
        state.pages_done = state.contacts_done = 0
        state.started_at = clock.now()
        state.finished_at = None
        state.save()
    assert state.started_at is not None  # set above, or by the run being resumed
    run = state.started_at.timestamp()
    group = client.limits.batch_get_by_user_users_max
    done = state.contacts_done
    while state.pending_users:
        page = client.contacts_by_users(
            state.pending_users[:group], cursor=state.cursor, limit=page_size
        )
        result.contacts += contacts.upsert_contacts(corp, page.items, run)
        recorded = record_events(corp.account, _snapshots(corp, page.items))
        result.recorded += sum(1 for r in recorded if r.created)
        result.relations += len(page.items)
        result.pages += 1
        done += len(page.items)
        state.pages_done += 1
        state.contacts_done = done
        if page.next_cursor:
            state.cursor = page.next_cursor
        else:
            state.pending_users = state.pending_users[group:]
            state.cursor = ""
        state.save()
        if progress:
            progress(done)
    result.dropped = contacts.drop_unseen(corp, run)
    state.finished_at = clock.now()
    state.save()
    return result
