"""Follower state as a projection of the event log.

Each field is guarded by the time of the event that set it, so applying events in any
arrival order gives the same state as replaying the log in time order: a retried or
late event never overturns a newer one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fencun.audience import kinds
from fencun.audience.models import Follower
from fencun.engine.consent import consent_change

_SUBSCRIPTION_FIELDS = frozenset(
    {
        "subscribed",
        "subscribed_at",
        "unsubscribed_at",
        "subscription_changed_at",
        "subscribe_scene",
        "subscribe_scene_value",
    }
)
_PROFILE_FIELDS = frozenset({"profile_at", "unionid", "language", "remark", "tags"})
_LOCATION_FIELDS = frozenset({"lat", "lng", "location_at"})
_CONSENT_FIELDS = frozenset({"opted_out_at", "opted_in_at"})
_PREFERENCE_FIELDS = frozenset({"personalised", "preference_at"})
#: Every follower field :func:`apply` reads or writes, for any kind of event.
PROJECTED_FIELDS: tuple[str, ...] = (
    "last_interaction_at",
    *sorted(_SUBSCRIPTION_FIELDS | _PROFILE_FIELDS | _LOCATION_FIELDS | _CONSENT_FIELDS | _PREFERENCE_FIELDS),
)


def fields_of(kind: str) -> frozenset[str]:
    """The follower fields :func:`apply` may read or change for an event of ``kind``.

    Batch writers read only these (keep them in step with :func:`apply`; a field missing
    here makes ``apply`` fail loudly on the writer's slotted state, never silently).
    """
    fields: frozenset[str] = frozenset()
    if kind in kinds.INTERACTION_KINDS:
        fields |= {"last_interaction_at"}
    if kind in (kinds.SUBSCRIBE, kinds.UNSUBSCRIBE, kinds.PROFILE):
        fields |= _SUBSCRIPTION_FIELDS
    if kind == kinds.PROFILE:
        fields |= _PROFILE_FIELDS
    if kind == kinds.LOCATION:
        fields |= _LOCATION_FIELDS
    if kind == kinds.TEXT:
        fields |= _CONSENT_FIELDS
    if kind == kinds.PREFERENCE:
        fields |= _PREFERENCE_FIELDS
    return fields


def _later(current: datetime | None, candidate: datetime) -> bool:
    return current is None or candidate >= current


def apply(
    follower: Follower, kind: str, occurred_at: datetime, payload: dict[str, Any]
) -> set[str]:
    """Fold one event into ``follower``; return the names of the fields it changed.

    ``follower`` may be any object with the fields :func:`fields_of` names for ``kind``
    (the batch writer passes a lighter one than the model).
    """
    changed: set[str] = set()

    def put(field: str, value: Any) -> None:
        if getattr(follower, field) != value:
            setattr(follower, field, value)
            changed.add(field)

    if kind in kinds.INTERACTION_KINDS and _later(follower.last_interaction_at, occurred_at):
        put("last_interaction_at", occurred_at)

    subscribes = kind == kinds.SUBSCRIBE or (kind == kinds.PROFILE and payload.get("subscribed"))
    unsubscribes = kind == kinds.UNSUBSCRIBE or (
        kind == kinds.PROFILE and payload.get("subscribed") is False
    )
    if subscribes:
        at = occurred_at
        if kind == kinds.PROFILE and payload.get("subscribe_time"):
            at = datetime.fromtimestamp(int(payload["subscribe_time"]), tz=UTC)
        scene = (str(payload.get("scene") or ""), str(payload.get("scene_value") or ""))
        current = (follower.subscribe_scene or "", follower.subscribe_scene_value or "")
        if follower.subscribed_at is None or at > follower.subscribed_at or (
            # Two subscriptions at the same moment: the same one wins in any order, so a
            # batch folded as it arrived equals the replay.
            at == follower.subscribed_at and scene >= current
        ):
            # The latest subscription's scene replaces the whole scene, value included.
            put("subscribed_at", at)
            put("subscribe_scene", scene[0])
            put("subscribe_scene_value", scene[1])
        # At the same moment as an unfollow, the unfollow wins, in whatever order they come.
        if follower.subscription_changed_at is None or at > follower.subscription_changed_at:
            put("subscribed", True)
            put("subscription_changed_at", at)
    elif unsubscribes:
        if _later(follower.unsubscribed_at, occurred_at):
            put("unsubscribed_at", occurred_at)
        if _later(follower.subscription_changed_at, occurred_at):
            put("subscribed", False)
            put("subscription_changed_at", occurred_at)

    if kind == kinds.PROFILE and _later(follower.profile_at, occurred_at):
        put("profile_at", occurred_at)
        for field in ("unionid", "language", "remark"):
            if payload.get(field) is not None:
                put(field, payload[field])
        if payload.get("tags") is not None:
            put("tags", sorted(int(t) for t in payload["tags"]))

    if kind == kinds.LOCATION and payload.get("lat") is not None:
        place = (float(payload["lat"]), float(payload["lng"]))
        if (
            follower.location_at is None
            or occurred_at > follower.location_at
            # Two locations at the same moment: the same one wins in any order, so a batch
            # folded as it arrived equals the replay.
            or (occurred_at == follower.location_at and place >= (follower.lat or 0.0, follower.lng or 0.0))
        ):
            put("lat", place[0])
            put("lng", place[1])
            put("location_at", occurred_at)

    if kind == kinds.TEXT and (change := consent_change(payload.get("content"))) is not None:
        field = "opted_in_at" if change else "opted_out_at"
        if _later(getattr(follower, field), occurred_at):
            put(field, occurred_at)

    chosen = payload.get("personalised") if kind == kinds.PREFERENCE else None
    if isinstance(chosen, bool) and _later(follower.preference_at, occurred_at):
        put("personalised", chosen)
        put("preference_at", occurred_at)
    return changed


def reset(follower: Follower) -> None:
    """Clear every projected field, before a replay."""
    for field in (
        "subscribed_at",
        "unsubscribed_at",
        "subscription_changed_at",
        "lat",
        "lng",
        "location_at",
        "last_interaction_at",
        "profile_at",
        "opted_out_at",
        "opted_in_at",
        "preference_at",
    ):
        setattr(follower, field, None)
    follower.personalised = True
    follower.subscribed = False
    follower.subscribe_scene = ""
    follower.subscribe_scene_value = ""
    follower.unionid = follower.language = follower.remark = ""
    follower.tags = []
