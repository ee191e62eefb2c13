from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from fencun.accounts.fields import SecretField
from fencun.accounts.models import Account


class MassSend(models.Model):
    """A mass send WeChat accepted (``sendall`` or ``send``): the account-wide daily count
    of a subscription account is checked against these rows before the next one, and
    MASSSENDJOBFINISH receipts find their send by ``msg_id``."""

    class Kind(models.TextChoices):
        TAG_OR_ALL = "sendall", _("按标签或全部群发")
        OPENID_LIST = "send", _("按 OpenID 列表群发")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="mass_sends")
    clientmsgid = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    msg_id = models.BigIntegerField(null=True, blank=True)
    msg_data_id = models.BigIntegerField(null=True, blank=True)
    tag_id = models.IntegerField(null=True, blank=True)
    recipients = models.PositiveIntegerField(null=True, blank=True)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "clientmsgid"], name="mass_send_unique_clientmsgid"
            ),
        ]
        indexes = [models.Index(fields=["account", "sent_at"]), models.Index(fields=["msg_id"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.clientmsgid}"


class FollowerSync(models.Model):
    """Progress of the follower sync of one account, so an interrupted sync resumes at the
    last page it finished (``next_openid``) instead of starting over."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="follower_sync")
    next_openid = models.CharField(max_length=64, blank=True)
    pages_done = models.PositiveIntegerField(default=0)
    followers_done = models.PositiveIntegerField(default=0)
    events_recorded = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"sync {self.account_id}: {self.followers_done}/{self.total}"

    @property
    def in_progress(self) -> bool:
        return self.started_at is not None and self.finished_at is None


class WecomCorp(models.Model):
    """One WeCom (企业微信) corp whose customer contact the merchant runs.

    Its events go to the event log of ``account`` -- the merchant's account that owns the
    log and the audience -- so a WeCom customer and an Official Account follower who share
    a ``unionid`` are one person in one log. The secret is the customer-contact secret (or
    an app secret on the "可调用应用" list), never rendered back.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="wecom_corps")
    corp_id = models.CharField(_("CorpID"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100, blank=True)
    secret = SecretField(_("Secret"), blank=True)
    token = SecretField(_("Token"))
    aes_key = SecretField(_("EncodingAESKey"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("企业微信")
        verbose_name_plural = _("企业微信")

    def __str__(self) -> str:
        return self.name or self.corp_id

    def __repr__(self) -> str:  # never the secret, token or key
        return f"<WecomCorp {self.corp_id}>"


class ExternalContact(models.Model):
    """A WeCom external contact (a customer) of one corp.

    A separate model rather than ``Follower`` with a channel column: a follower is keyed by
    openid and projected from subscribe/unsubscribe events, while an external contact is
    keyed by ``external_userid`` and is a set of relationships with corp members (follow
    users), each with its own remark and tags. Sharing one table would put a channel filter
    in every audience query the engine and console run. The person behind both is joined
    by ``unionid`` (``Follower.unionid``), which is what the cross-channel attention budget
    will key on.
    """

    corp = models.ForeignKey(WecomCorp, on_delete=models.CASCADE, related_name="contacts")
    external_userid = models.CharField(max_length=64)
    unionid = models.CharField(max_length=64, blank=True, db_index=True)
    name = models.CharField(max_length=100, blank=True)
    #: 1 WeChat user, 2 WeCom user.
    contact_type = models.PositiveSmallIntegerField(default=1)
    gender = models.PositiveSmallIntegerField(default=0)
    #: ``[{"userid", "remark", "createtime", "tags": [tag_id, ...], "add_way"}]`` -- the
    #: members this customer is a contact of, as the platform last described them.
    follow_users = models.JSONField(default=list, blank=True)
    #: The union of every follow user's corp tag ids, sorted.
    tags = models.JSONField(default=list, blank=True)
    #: False once no member follows the customer any more (deleted on both sides).
    active = models.BooleanField(default=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("企业微信客户")
        verbose_name_plural = _("企业微信客户")
        constraints = [
            models.UniqueConstraint(fields=["corp", "external_userid"], name="contact_unique_external_userid"),
        ]

    def __str__(self) -> str:
        return self.external_userid


class WecomTag(models.Model):
    """A WeCom corp tag (企业客户标签) with its group."""

    corp = models.ForeignKey(WecomCorp, on_delete=models.CASCADE, related_name="tags")
    tag_id = models.CharField(max_length=64)
    name = models.CharField(max_length=64)
    group_id = models.CharField(max_length=64, blank=True)
    group_name = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["corp", "tag_id"], name="wecom_tag_unique_id")]

    def __str__(self) -> str:
        return self.name


class ContactSync(models.Model):
    """Progress of the external-contact sync of one corp: the follow users still to do and
    the ``batch/get_by_user`` cursor inside the current one, so a broken run resumes at the
    last finished page instead of starting over."""

    corp = models.OneToOneField(WecomCorp, on_delete=models.CASCADE, related_name="contact_sync")
    pending_users = models.JSONField(default=list, blank=True)
    cursor = models.CharField(max_length=256, blank=True)
    pages_done = models.PositiveIntegerField(default=0)
    contacts_done = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"contact sync {self.corp_id}: {self.contacts_done}"

    @property
    def in_progress(self) -> bool:
        return self.started_at is not None and self.finished_at is None


class WecomDispatch(models.Model):
    """What the product asked WeCom to send, per customer: one row per (mass task,
    external contact), and one row per Moments task (``external_userid`` empty). The
    per-customer daily caps of ``wecom_limits.json`` are checked against these rows before
    the next task is created; ``day`` is the Beijing-time platform day."""

    class Kind(models.TextChoices):
        MASS = "mass", _("企业群发")
        MOMENT = "moment", _("客户朋友圈")

    corp = models.ForeignKey(WecomCorp, on_delete=models.CASCADE, related_name="dispatches")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    task_id = models.CharField(max_length=128)  # msgid (mass) or jobid (Moments)
    external_userid = models.CharField(max_length=64, blank=True)
    day = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["corp", "kind", "task_id", "external_userid"], name="wecom_dispatch_unique"
            ),
        ]
        indexes = [models.Index(fields=["corp", "kind", "day", "external_userid"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.task_id} {self.external_userid}"


class BroadcastPost(models.Model):
    """One public post on a broadcast channel (Weibo): written, linted, scheduled, posted
    at most once. ``status`` moves draft → scheduled → posting → posted | failed | unknown;
    the move to ``posting`` is the claim that makes the post go out once (see
    ``channels/broadcast/services.py``)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SCHEDULED = "scheduled", _("已排期")
        POSTING = "posting", _("发布中")
        POSTED = "posted", _("已发布")
        FAILED = "failed", _("失败")
        UNKNOWN = "unknown", _("结果未知")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="broadcast_posts")
    channel = models.CharField(max_length=16, default="weibo")
    text = models.TextField(_("正文"))
    link_target = models.URLField(_("链接"), max_length=1000, blank=True)
    posted_text = models.TextField(blank=True)  # the text with tracked links, as sent
    warnings_acknowledged = models.BooleanField(default=False)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    remote_id = models.CharField(max_length=128, blank=True)  # a Weibo idstr or a WeCom jobid
    posted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "scheduled_for"])]

    def __str__(self) -> str:
        return f"{self.channel} post {self.pk} {self.status}"


class ChannelCost(models.Model):
    """What one send cost on one channel: a count of messages or posts and the fee the
    platform charges for them (yuan; 0 where it charges nothing), with the fee's source."""

    channel = models.CharField(max_length=16)
    kind = models.CharField(max_length=16)  # "post", "message", ...
    reference = models.CharField(max_length=64)  # the platform's id of what was sent
    count = models.PositiveIntegerField(default=1)
    fee_yuan = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    source = models.CharField(max_length=300, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "kind", "reference"], name="channel_cost_unique_reference"
            )
        ]
        indexes = [models.Index(fields=["channel", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.channel} {self.kind} {self.reference}"


