"""Campaigns, the merchant's rules, plan snapshots and the delivery outbox.

The outbox (:class:`OutboxItem`) is the truth of delivery: one row per (campaign,
recipient or batch), written in the same transaction as the approval, claimed with a
lease, finished as sent or failed. The task queue only wakes workers.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from fencun.accounts.models import Account
from fencun.engine.rules import MAX_CONTROL_FRACTION, MerchantRules


class Rules(models.Model):
    """The merchant's rules for one account: read by the planner as ``MerchantRules``.

    Times of day are Asia/Shanghai (``HH:MM``). ``follower_value_yuan`` is the dial: what
    keeping one follower is worth, in yuan; empty lets the engine learn it.
    """

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="rules")
    quiet_start = models.CharField(_("免打扰开始"), max_length=5, default="22:00")
    quiet_end = models.CharField(_("免打扰结束"), max_length=5, default="08:00")
    weekly_cap = models.PositiveSmallIntegerField(_("每周上限"), default=3)
    category_cooldown_days = models.FloatField(
        _("同类冷却（天）"), default=3.0, validators=[MinValueValidator(0)]
    )
    min_gap_hours = models.FloatField(
        _("最小间隔（小时）"), default=20.0, validators=[MinValueValidator(0)]
    )
    holdout_fraction = models.FloatField(
        _("对照组比例"),
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
    )
    # The account's long-run control group: a stable share of followers who never get a
    # marketing push, so insights can measure what marketing adds over months.
    control_fraction = models.FloatField(
        _("长期对照组比例"),
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(MAX_CONTROL_FRACTION)],
        help_text=_("这部分粉丝（按粉丝固定抽取）从不接收营销推送，用来衡量长期效果；0 到 0.2，默认 0.05。"),
    )
    follower_value_yuan = models.FloatField(
        _("每位粉丝的价值（元）"), null=True, blank=True, validators=[MinValueValidator(0)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("推送规则")
        verbose_name_plural = _("推送规则")

    def __str__(self) -> str:
        return f"rules of {self.account_id}"

    def as_engine_rules(self):  # -> fencun.engine.rules.MerchantRules
        """The engine's dataclass; raises ``ValueError`` on values the engine refuses."""

        return MerchantRules(
            quiet_start=self.quiet_start,
            quiet_end=self.quiet_end,
            weekly_cap=self.weekly_cap,
            category_cooldown_days=self.category_cooldown_days,
            min_gap_hours=self.min_gap_hours,
            holdout_fraction=self.holdout_fraction,
            control_fraction=self.control_fraction,
            follower_value_yuan=self.follower_value_yuan,
        )


def engine_id_of(pk: int) -> str:
    """The engine's id of the campaign with primary key ``pk`` (events store the pk)."""
    return f"c{pk}"


class Campaign(models.Model):
    """One campaign and where it is in its lifecycle (see ``campaigns/lifecycle.py``)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        LINTED = "linted", _("已检查")
        PLANNED = "planned", _("已预演")
        APPROVED = "approved", _("已批准")
        SCHEDULED = "scheduled", _("已排期")
        SENDING = "sending", _("发送中")
        PAUSED = "paused", _("已暂停")
        DONE = "done", _("已完成")
        CANCELLED = "cancelled", _("已取消")

    class Channel(models.TextChoices):
        MASS = "mass", _("群发")
        CUSTOMER_SERVICE = "customer_service", _("客服消息")
        WECOM = "wecom", _("企业微信群发")
        # An article on the account's page and in search, pushed to nobody
        # (freepublish): the zero-attention way to say something.
        PUBLISH = "publish", _("发表（不推送）")

    class MessageType(models.TextChoices):
        NEWS = "news", _("图文")
        TEXT = "text", _("文字")
        IMAGE = "image", _("图片")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(_("名称"), max_length=200)
    category = models.ForeignKey(
        "catalog.Category", on_delete=models.PROTECT, related_name="campaigns"
    )
    products = models.ManyToManyField("catalog.Product", blank=True, related_name="campaigns")
    urgent = models.BooleanField(_("紧急"), default=False)
    # The merchant says the text (or images) was made by AI: it must carry a label.
    ai_generated = models.BooleanField(_("人工智能生成"), default=False)
    deadline = models.DateTimeField(_("截止时间"), null=True, blank=True)
    segment = models.TextField(_("人群筛选"), blank=True)
    channel = models.CharField(
        _("渠道"), max_length=20, choices=Channel.choices, default=Channel.MASS
    )
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    pause_reason = models.CharField(_("暂停原因"), max_length=500, blank=True)
    # content
    message_type = models.CharField(
        _("消息类型"), max_length=8, choices=MessageType.choices, default=MessageType.TEXT
    )
    title = models.CharField(_("标题"), max_length=120, blank=True)
    body = models.TextField(_("正文"), blank=True)
    media_id = models.CharField(_("素材 media_id"), max_length=128, blank=True)
    # The news article's cover (JPEG, at most WeChat's 64 KB): in the database, not a file,
    # so every worker on every machine can upload it.
    cover = models.BinaryField(_("封面"), blank=True, null=True)
    # The cover as permanent material on the platform: added once, every draft reuses it.
    cover_media_id = models.CharField(max_length=128, blank=True)
    # The draft of the latest preview: it stays in the box for the reviewer to read, and
    # goes when the next preview replaces it.
    preview_media_id = models.CharField(max_length=128, blank=True)
    title_variants = models.JSONField(_("标题 A/B 版本"), default=list, blank=True)
    variant_split = models.FloatField(
        _("A/B 测试比例"), default=0.0, validators=[MinValueValidator(0), MaxValueValidator(1)]
    )
    winner_rule = models.CharField(_("胜出规则"), max_length=20, blank=True, default="read_rate")
    # How long the test variants' outcomes are gathered after the last test send before
    # the winner is decided and the rest of the audience gets it (minutes).
    variant_test_minutes = models.PositiveIntegerField(_("A/B 测试时长（分钟）"), default=120)
    ab_winner = models.CharField(_("A/B 胜出版本"), max_length=2, blank=True)
    ab_decided_at = models.DateTimeField(null=True, blank=True)
    # Per variant at the decision: members, read, clicked, ordered and the rule's rate.
    ab_results = models.JSONField(default=dict, blank=True)
    lint_acknowledged = models.BooleanField(default=False)
    # approval and schedule
    approved_by = models.CharField(_("批准人"), max_length=150, blank=True)
    approved_at = models.DateTimeField(_("批准时间"), null=True, blank=True)
    scheduled_for = models.DateTimeField(_("计划发送时间"), null=True, blank=True, db_index=True)
    # The schedule may be late by this much before it needs asking again (seconds).
    max_lateness_s = models.PositiveIntegerField(default=3600)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A finished or cancelled campaign put away: out of the list, kept with its results.
    archived_at = models.DateTimeField(_("归档时间"), null=True, blank=True)
    # A journey's step: the campaign that sent it to the followers due at it then.
    journey = models.ForeignKey(
        "campaigns.Journey", on_delete=models.PROTECT, null=True, blank=True, related_name="campaigns"
    )
    journey_step = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("营销活动")
        verbose_name_plural = _("营销活动")
        indexes = [models.Index(fields=["status", "urgent", "scheduled_for"])]

    def __str__(self) -> str:
        return self.name

    @property
    def engine_id(self) -> str:
        """The campaign's id as the engine and the event log know it."""
        return engine_id_of(self.pk)


class Journey(models.Model):
    """A triggered follow-up: ``definition`` is the engine's journey shape (trigger, steps,
    exit; see ``fencun.engine.journeys``), checked by ``campaigns/journeys.py`` on save.

    ``version`` goes up with every change of the definition; an entry remembers the version
    it runs on. ``enter_after_event`` is the last event of the log when it last went live:
    only later events enter followers (a paused journey enters nobody, even afterwards).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        LIVE = "live", _("Live")
        PAUSED = "paused", _("Paused")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="journeys")
    name = models.CharField(max_length=200)
    definition = models.JSONField(default=dict)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT, db_index=True)
    version = models.PositiveIntegerField(default=1)
    enter_after_event = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Journey")
        verbose_name_plural = _("Journeys")

    def __str__(self) -> str:
        return self.name


class JourneyEntry(models.Model):
    """One follower's way through a journey: the send step they wait for and when it is
    due; ``left_at`` once they left. One per (journey, follower): a follower enters once."""

    class Left(models.TextChoices):
        GOAL = "goal", _("Ordered (the goal)")
        UNFOLLOWED = "unfollowed", _("Unfollowed")
        FINISHED = "finished", _("Finished")
        EDITED = "edited", _("Their step was removed by an edit")

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="entries")
    openid = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    step = models.PositiveSmallIntegerField(default=0)
    due_at = models.DateTimeField(null=True, blank=True)  # None once they left
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    left_reason = models.CharField(max_length=12, choices=Left.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["journey", "openid"], name="journey_entry_once"),
        ]
        # The scheduler reads what is due: its cost follows the due steps, not the entrants.
        indexes = [models.Index(fields=["journey", "due_at"])]

    def __str__(self) -> str:
        return f"{self.journey_id}/{self.openid} at {self.step}"


class JourneyCursor(models.Model):
    """Where the journeys' entry pass of an account stopped in the event log, and the
    local day it last looked for inactive followers."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="journey_cursor")
    event_id = models.BigIntegerField(default=0)
    inactive_on = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"journeys of {self.account_id} @ {self.event_id}"


class PlanSnapshot(models.Model):
    """The dry-run a campaign was approved on: what it would do, and beside it send-to-all."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="plans")
    created_at = models.DateTimeField(auto_now_add=True)
    planned_for = models.DateTimeField()
    reach = models.PositiveIntegerField(default=0)
    audience = models.PositiveIntegerField(default=0)
    held_back = models.JSONField(default=dict)  # reason -> count
    predicted = models.JSONField(default=dict)  # reach, orders, revenue (yuan), unfollows
    send_to_all = models.JSONField(default=dict)
    dial_effect = models.JSONField(default=list)
    delivery_method = models.CharField(max_length=20, blank=True)
    follower_value_yuan = models.FloatField(default=0)
    # Chosen recipients, in order: written to the outbox on approval.
    recipients = models.JSONField(default=list)
    # The campaign's random holdout: would have been sent, kept back to measure lift.
    holdout = models.JSONField(default=list)
    # The campaign's randomized controls: its holdout and the account's control-group
    # members who passed every hard rule. Once the campaign is sent the engine compares
    # them with the recipients to learn what a push adds (see ``planning.build_state``).
    controls = models.JSONField(default=list)
    # Set when this snapshot was approved: its recipients are the outbox, its controls
    # are what the engine learns against.
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"plan {self.pk} of {self.campaign_id}: {self.reach}"


class OutboxItem(models.Model):
    """One unit of delivery: a batch of openids (mass sends) or one follower (CS).

    ``clientmsgid`` is written once with the row and reused on every attempt, so WeChat
    refuses a repeat (45065, recorded as sent). Where the platform takes no such key
    (customer-service messages), an attempt whose request may have reached it without an
    answer ends the row as ``unknown``: never sent again, shown to the merchant.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        CLAIMED = "claimed", _("发送中")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("失败")
        # The platform may or may not have delivered it, and cannot be asked (terminal).
        UNKNOWN = "unknown", _("结果未知")
        # The rest of an A/B campaign's audience, waiting for the winner (never claimed).
        HELD = "held", _("等待胜出版本")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="outbox")
    key = models.CharField(max_length=80)  # a batch number or an openid
    # "A" (the campaign's title), "B", "C"… (its title variants), "rest" while held for
    # the winner, "rest:B" once the winner is decided (see ``campaigns/variants.py``).
    variant = models.CharField(max_length=8, default="A")
    openids = models.JSONField(default=list)
    clientmsgid = models.CharField(max_length=64, unique=True)
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)
    msg_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # WeCom: the mass task's msgid, stored the moment WeCom returns it (WeCom takes no
    # idempotency key, see ``channels/wecom/channel.py``); "started" marks an attempt
    # whose answer was not stored yet. A publication: its publish_id.
    task_id = models.CharField(max_length=128, blank=True)
    tag_id = models.IntegerField(null=True, blank=True)
    # The draft this row's article went out as: a mass send takes its draft out of the
    # box, so each row (batch) has its own, kept so that a retry sends the same one.
    media_id = models.CharField(max_length=128, blank=True)
    # The delivery tag is deleted a while after WeChat accepted the send (the platform
    # resolves the tag's members while the job runs).
    tag_removed = models.BooleanField(default=False)
    # Why the row was refused, failed, ended unknown or is waiting: a code of
    # ``campaigns/outcomes.py`` (shown in the merchant's language) and the detail (the
    # platform's own words, as it gave them).
    reason_code = models.CharField(max_length=32, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When an attempt's request was about to leave and no answer has been recorded since:
    # set before calling a platform that takes no idempotency key (or forgets it, after
    # ``clientmsgid_dedup_hours``), cleared when an answer says nothing was sent.
    attempt_started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "key"], name="outbox_unique_recipient"),
        ]
        indexes = [models.Index(fields=["status", "lease_until"])]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.key} {self.status}"


class SchedulerLease(models.Model):
    """One row per named lease: only the holder before ``until`` may act."""

    name = models.CharField(max_length=32, unique=True)
    owner = models.CharField(max_length=64, blank=True)
    until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} held by {self.owner or '-'}"


class ApiRateWindow(models.Model):
    """Calls made to one rate-limited WeChat API of one account in one clock minute,
    shared by every worker on every machine, so together they never exceed the limit."""

    app_id = models.CharField(max_length=32)
    api = models.CharField(max_length=40)
    minute = models.BigIntegerField()  # unix seconds // 60
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app_id", "api", "minute"], name="rate_window_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.app_id} {self.api} @{self.minute}: {self.calls}"
