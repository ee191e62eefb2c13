"""External contacts in the product: written by the sync (the platform's snapshot) and
nudged by callbacks (a member added or lost a customer) between syncs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction

from fencun import clock
from fencun.audience.models import Follower
from fencun.channels.models import ExternalContact, WecomCorp, WecomTag
from fencun.channels.wecom.events import FOLLOW_KINDS, UNFOLLOW_KINDS, WecomEvent


def _tags_of(follow_users: Iterable[dict[str, Any]]) -> list[str]:
    return sorted({str(t) for f in follow_users for t in f.get("tags") or []})


def apply_event(corp: WecomCorp, event: WecomEvent) -> None:
    """Fold a callback into the contact: a follow user added or removed. Names, unionid and
    tags come with the next sync (the callback does not carry them)."""
    if event.kind not in FOLLOW_KINDS | UNFOLLOW_KINDS:
        return
    external_userid = event.payload.get("external_userid", "")
    userid = event.payload.get("userid", "")
    contact, _ = ExternalContact.objects.select_for_update().get_or_create(
        corp=corp, external_userid=external_userid
    )
    follows = [f for f in contact.follow_users if f.get("userid") != userid]
    if event.kind in FOLLOW_KINDS and userid:
        known = next((f for f in contact.follow_users if f.get("userid") == userid), None)
        follows.append(
            known
            or {"userid": userid, "createtime": int(event.occurred_at.timestamp()), "tags": []}
        )
    contact.follow_users = follows
    contact.tags = _tags_of(follows)
    contact.active = bool(follows)
    contact.save()


def upsert_contacts(corp: WecomCorp, described: Sequence[dict[str, Any]], run: float = 0.0) -> int:
    """Store contacts as ``batch/get_by_user`` describes them (one item per contact and
    follow user); return how many contacts were written. A follow user listed here
    replaces the stored one; others stay (they come with their own member's page).
    ``run`` marks the follow users seen by one sync run (see :func:`drop_unseen`)."""
    by_id: dict[str, dict[str, Any]] = {}
    for item in described:
        info = item.get("external_contact") or {}
        follow = item.get("follow_info") or {}
        external_userid = str(info.get("external_userid") or "")
        if not external_userid:
            continue
        entry = by_id.setdefault(external_userid, {"info": info, "follows": {}})
        if follow.get("userid"):
            entry["follows"][str(follow["userid"])] = {
                "userid": str(follow["userid"]),
                "remark": str(follow.get("remark") or ""),
                "createtime": int(follow.get("createtime") or 0),
                "tags": sorted(str(t) for t in follow.get("tag_id") or []),
                "add_way": int(follow.get("add_way") or 0),
                "run": run,
            }
    now = clock.now()
    with transaction.atomic():
        stored = {
            c.external_userid: c
            for c in ExternalContact.objects.select_for_update().filter(
                corp=corp, external_userid__in=list(by_id)
            )
        }
        for external_userid, entry in by_id.items():
            info = entry["info"]
            contact = stored.get(external_userid) or ExternalContact(
                corp=corp, external_userid=external_userid
            )
            follows = {f["userid"]: f for f in contact.follow_users if f.get("userid")}
            follows.update(entry["follows"])
            contact.follow_users = sorted(follows.values(), key=lambda f: f["userid"])
            contact.tags = _tags_of(contact.follow_users)
            contact.unionid = str(info.get("unionid") or contact.unionid)
            contact.name = str(info.get("name") or contact.name)[:100]
            contact.contact_type = int(info.get("type") or contact.contact_type)
            contact.gender = int(info.get("gender") or 0)
            contact.active = bool(contact.follow_users)
            contact.synced_at = now
            contact.save()
    return len(by_id)


def store_tags(corp: WecomCorp, groups: Sequence[dict[str, Any]]) -> int:
    """The corp's tags as ``get_corp_tag_list`` lists them; deleted ones removed."""
    seen: list[str] = []
    with transaction.atomic():
        for group in groups:
            for tag in group.get("tag") or []:
                if tag.get("deleted"):
                    continue
                seen.append(str(tag["id"]))
                WecomTag.objects.update_or_create(
                    corp=corp,
                    tag_id=str(tag["id"]),
                    defaults={
                        "name": str(tag.get("name") or "")[:64],
                        "group_id": str(group.get("group_id") or ""),
                        "group_name": str(group.get("group_name") or "")[:64],
                    },
                )
        WecomTag.objects.filter(corp=corp).exclude(tag_id__in=seen).delete()
    return len(seen)


def drop_unseen(corp: WecomCorp, run: float) -> int:
    """After a complete sync run: remove follow users the run did not see (the customer or
    member deleted the other meanwhile, and the callback was missed), except those added
    by a callback after the run started. Return how many contacts changed."""
    changed = 0
    with transaction.atomic():
        for contact in ExternalContact.objects.select_for_update().filter(corp=corp, active=True):
            keep = [
                f
                for f in contact.follow_users
                if f.get("run") == run or int(f.get("createtime") or 0) >= run
            ]
            if len(keep) != len(contact.follow_users):
                contact.follow_users = keep
                contact.tags = _tags_of(keep)
                contact.active = bool(keep)
                contact.save()
                changed += 1
    return changed


def followers_joined(corp: WecomCorp) -> list[tuple[Any, ExternalContact]]:
    """(Follower, ExternalContact) pairs of one person on both channels, joined by unionid
    within the corp's account: the key the cross-channel attention budget will use."""

    pairs = []
    by_unionid = {
        c.unionid: c
        for c in ExternalContact.objects.filter(corp=corp, active=True).exclude(unionid="")
    }
    followers = Follower.objects.filter(
        account=corp.account, unionid__in=list(by_unionid)
    ).order_by("openid")
    for follower in followers:
        pairs.append((follower, by_unionid[follower.unionid]))
    return pairs
