"""Rollups of the event log, and the codes that attribute orders to campaigns.

Everything here is derived from :class:`fencun.audience.models.Event` by
:func:`fencun.insights.rollups.run` (a periodic task that reads new events by id
watermark), except :class:`AttributionCode`, which the merchant or the campaign side
registers. The overview and the campaign report read only these tables and indexed
lookups, never the event log in bulk.
"""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from fencun.accounts.models import Account

# The arm of a campaign's members that was deliberately not sent to.
HOLDOUT = "holdout"


class Watermark(models.Model):
    """The id of the last event a rollup has folded in; one row per rollup."""

    name = models.CharField(max_length=40, unique=True)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}@{self.last_event_id}"


class DailyCount(models.Model):
    """Events per account, local day (Asia/Shanghai) and kind; ``campaign_id`` 0 is the
    account-wide row, any other value the row of that campaign. ``amount`` is yuan for
    orders and the number delivered for mass-send receipts."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    kind = models.CharField(max_length=40)
    campaign_id = models.BigIntegerField(default=0)
    count = models.BigIntegerField(default=0)
    amount = models.FloatField(default=0.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "campaign_id", "kind", "day"], name="insights_daily_unique"
            )
        ]
        indexes = [models.Index(fields=["campaign_id", "kind"])]


class CampaignMember(models.Model):
    """One follower's part in one campaign: the arm (a variant, or the holdout), when it
    was sent (or held out), and what followed within the attribution window."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    campaign_id = models.BigIntegerField()
    openid = models.CharField(max_length=64)
    arm = models.CharField(max_length=32)
    sent_at = models.DateTimeField()
    read = models.BooleanField(default=False)
    clicked = models.BooleanField(default=False)
    orders = models.IntegerField(default=0)
    revenue = models.FloatField(default=0.0)
    unfollowed = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign_id", "openid"], name="insights_member_unique")
        ]
        indexes = [models.Index(fields=["account", "openid", "sent_at"])]


class CampaignArm(models.Model):
    """Counters of one arm of one campaign, kept in step with its members so the report
    reads a handful of rows. ``revenue_sq`` is the sum over members of revenue², for the
    variance of revenue per follower."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    campaign_id = models.BigIntegerField()
    arm = models.CharField(max_length=32)
    members = models.BigIntegerField(default=0)
    read = models.BigIntegerField(default=0)
    clicked = models.BigIntegerField(default=0)
    converters = models.BigIntegerField(default=0)
    orders = models.BigIntegerField(default=0)
    revenue = models.FloatField(default=0.0)
    revenue_sq = models.FloatField(default=0.0)
    unfollowed = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign_id", "arm"], name="insights_arm_unique")
        ]


class CampaignMessage(models.Model):
    """A WeChat mass-send ``msg_id`` and the campaign it carried, so a MASSSENDJOBFINISH
    receipt counts towards the right campaign."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    msg_id = models.CharField(max_length=64)
    campaign_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "msg_id"], name="insights_msg_unique")
        ]


class AccountSnapshot(models.Model):
    """Figures that need a pass over followers (the attention-pressure distribution),
    recomputed by the rollup task, not by the page."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="+")
    computed_at = models.DateTimeField()
    pressure = models.JSONField(default=dict)
    # Subscribed followers when computed: counting them per page view costs ~0.1 s per
    # 250,000 followers on PostgreSQL.
    followers = models.BigIntegerField(null=True)
    # The long-run lift (``control_lift.ControlLift.as_dict()``) over the default period:
    # it reads every follower and the period's orders, too much for each page view.
    control_lift = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    control_lift_at = models.DateTimeField(null=True, blank=True)


class AttributionCode(models.Model):
    """A coupon code or a QR-code scene value that belongs to a campaign."""

    class Kind(models.TextChoices):
        COUPON = "coupon", "coupon"
        SCENE = "scene", "scene"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    code = models.CharField(max_length=64)
    campaign_id = models.BigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "kind", "code"], name="insights_code_unique")
        ]


class HoldBack(models.Model):
    """How many followers a campaign's approved plan held back, by the engine's reason
    (caps, quiet hours, expected harm…): written once per plan by the campaign side."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    campaign_id = models.BigIntegerField()
    day = models.DateField()
    reason = models.CharField(max_length=64)
    followers = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign_id", "reason"], name="insights_holdback_unique")
        ]
        indexes = [models.Index(fields=["account", "day"])]


class ArticleDay(models.Model):
    """The platform's figures of one article of a mass send on one day, as WeChat's
    analytics report them (``getarticlesummary``), read back by the article sync
    (``article_stats.py``); a day read again replaces its rows. ``msgid`` is the platform's
    ``{msg_data_id}_{index}``: the mass send and the article's position in it (the first 1).
    Reads count the article's page opened in WeChat, which fencun cannot see itself."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    msgid = models.CharField(max_length=40)
    msg_data_id = models.BigIntegerField(null=True)
    article = models.PositiveSmallIntegerField(default=1)
    day = models.DateField()
    title = models.CharField(max_length=128, blank=True)
    read_users = models.BigIntegerField(default=0)
    reads = models.BigIntegerField(default=0)
    original_read_users = models.BigIntegerField(default=0)  # 阅读原文
    original_reads = models.BigIntegerField(default=0)
    share_users = models.BigIntegerField(default=0)
    shares = models.BigIntegerField(default=0)
    favourite_users = models.BigIntegerField(default=0)
    favourites = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "msgid", "day"], name="insights_article_day_unique"
            )
        ]
        indexes = [models.Index(fields=["account", "msg_data_id"])]


class ArticleTotal(models.Model):
    """An article's totals from its mass send (``sent_on``) to the end of ``day``, as the
    platform reports them (``getarticletotal``: at most 7 days after the send), so readers
    are counted once however many days they read. ``recipients`` is the platform's
    ``target_user``; ``read_users_from`` the readers by where they came from (``session``,
    ``hist_msg``, ``feed``, ``friends``, ``other``)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    msgid = models.CharField(max_length=40)
    msg_data_id = models.BigIntegerField(null=True)
    article = models.PositiveSmallIntegerField(default=1)
    sent_on = models.DateField()
    day = models.DateField()
    title = models.CharField(max_length=128, blank=True)
    recipients = models.BigIntegerField(default=0)
    read_users = models.BigIntegerField(default=0)
    reads = models.BigIntegerField(default=0)
    original_read_users = models.BigIntegerField(default=0)
    original_reads = models.BigIntegerField(default=0)
    share_users = models.BigIntegerField(default=0)
    shares = models.BigIntegerField(default=0)
    favourite_users = models.BigIntegerField(default=0)
    favourites = models.BigIntegerField(default=0)
    read_users_from = models.JSONField(default=dict)
    moments_shares_from = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "msgid", "day"], name="insights_article_total_unique"
            )
        ]
        indexes = [models.Index(fields=["account", "msg_data_id"])]


class ArticleSync(models.Model):
    """When an account's article figures were last read from the platform, and which days
    that read covered."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="+")
    first_day = models.DateField()
    last_day = models.DateField()
    synced_at = models.DateTimeField()
