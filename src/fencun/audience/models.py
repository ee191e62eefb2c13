from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from fencun.accounts.models import Account


class Follower(models.Model):
    """A follower of one account: a projection of the event log (see projection.py)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="followers")
    openid = models.CharField(max_length=64)
    unionid = models.CharField(max_length=64, blank=True, db_index=True)
    subscribed = models.BooleanField(default=False)
    subscribed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # Time of the subscription change the current state reflects; an older event
    # arriving late (a retry) must not overturn a newer one.
    subscription_changed_at = models.DateTimeField(null=True, blank=True)
    subscribe_scene = models.CharField(max_length=64, blank=True)
    subscribe_scene_value = models.CharField(max_length=64, blank=True)
    tags = models.JSONField(default=list, blank=True)
    # Time of the user-API snapshot that set tags, unionid, language and remark.
    profile_at = models.DateTimeField(null=True, blank=True)
    language = models.CharField(max_length=16, blank=True)
    remark = models.CharField(max_length=64, blank=True)
    # Last known location in the canonical datum (GCJ-02), converted on entry.
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    location_at = models.DateTimeField(null=True, blank=True)
    # Last action of the follower that opens WeChat's customer-service window.
    last_interaction_at = models.DateTimeField(null=True, blank=True)
    # The follower's latest reply refusing marketing (退订, TD) and the latest taking it
    # back (订阅): opted out while the first is the later (fencun.engine.consent).
    opted_out_at = models.DateTimeField(null=True, blank=True)
    opted_in_at = models.DateTimeField(null=True, blank=True)
    # "No personalisation" (PIPL art. 24): the engine decides for this follower on
    # non-personal rules only (segment and caps), never on their learned interests.
    personalised = models.BooleanField(default=True)
    preference_at = models.DateTimeField(null=True, blank=True)  # of the latest choice
    first_seen_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    @property
    def opted_out(self) -> bool:
        out, back = self.opted_out_at, self.opted_in_at
        return out is not None and (back is None or back < out)

    class Meta:
        verbose_name = _("粉丝")
        verbose_name_plural = _("粉丝")
        constraints = [
            models.UniqueConstraint(fields=["account", "openid"], name="follower_unique_openid"),
        ]
        indexes = [models.Index(fields=["account", "subscribed"])]

    def __str__(self) -> str:
        return self.openid

    @property
    def location(self) -> dict[str, float] | None:
        if self.lat is None or self.lng is None:
            return None
        return {"lat": self.lat, "lng": self.lng}


class Tag(models.Model):
    """A WeChat user tag (the platform's id and name)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tags")
    wechat_id = models.IntegerField()
    name = models.CharField(max_length=30)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "wechat_id"], name="tag_unique_id"),
        ]

    def __str__(self) -> str:
        return self.name


class Store(models.Model):
    """A physical store; coordinates in GCJ-02, converted on entry."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="stores", null=True, blank=True
    )
    name = models.CharField(_("名称"), max_length=100)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lat = models.FloatField(_("纬度"))
    lng = models.FloatField(_("经度"))

    class Meta:
        verbose_name = _("门店")
        verbose_name_plural = _("门店")

    def __str__(self) -> str:
        return self.name


class Event(models.Model):
    """One accepted input, append-only. Follower state is projected from these rows."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="events")
    follower = models.ForeignKey(
        Follower, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    openid = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=40)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    payload = models.JSONField(default=dict)
    source = models.CharField(max_length=16)
    # Unique per source event: WeChat's retries and concurrent duplicates collapse here.
    dedup_key = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "dedup_key"], name="event_unique_dedup"),
        ]
        indexes = [
            models.Index(fields=["follower", "occurred_at"]),
            models.Index(fields=["account", "kind", "occurred_at"]),
            models.Index(fields=["openid", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.openid} {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class Segment(models.Model):
    """A saved filter over followers, in the segment language (``fencun.engine.segments``)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(_("名称"), max_length=100)
    text = models.TextField(_("筛选条件"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("人群")
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="segment_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class FollowerStateSnapshot(models.Model):
    """The engine's follower state of an account as folded so far (see snapshots.py).

    The columns themselves are a file in the data directory (``path``, relative to it):
    hundreds of megabytes at a million followers, read whole by each plan. The row says
    what the file holds: events up to ``events_through`` (an Event pk), for the account's
    configuration ``config`` (a hash of categories, stores and datum); the deliveries and
    campaigns folded are listed in the file itself. A missing file is rebuilt from the log.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="state_snapshots")
    created_at = models.DateTimeField(auto_now_add=True)
    events_through = models.BigIntegerField()
    config = models.CharField(max_length=64)
    followers = models.IntegerField()
    path = models.CharField(max_length=200)

    class Meta:
        indexes = [models.Index(fields=["account", "-events_through"])]

    def __str__(self) -> str:
        return f"state of {self.account_id} through event {self.events_through}"
