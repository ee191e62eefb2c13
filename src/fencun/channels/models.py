from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fencun.channels.fields import SecretField
from fencun.sealing import SecretUnreadable


class Account(models.Model):
    """One WeChat Official Account the merchant runs."""

    class Type(models.TextChoices):
        SUBSCRIPTION = "subscription", _("订阅号")
        SERVICE = "service", _("服务号")

    class Mode(models.TextChoices):
        PLAINTEXT = "plaintext", _("明文模式")
        COMPATIBLE = "compatible", _("兼容模式")
        SAFE = "safe", _("安全模式")

    app_id = models.CharField(_("AppID"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100, blank=True)
    account_type = models.CharField(
        _("账号类型"), max_length=16, choices=Type.choices, default=Type.SUBSCRIPTION
    )
    # Sealed at rest and never rendered back (fencun.sealing); the callback Token signs
    # callbacks, so it is as much a secret as the AppSecret.
    app_secret = SecretField(_("AppSecret"), blank=True)
    token = SecretField(_("Token"))
    aes_key = SecretField(_("EncodingAESKey"), blank=True)
    mode = models.CharField(_("消息加解密方式"), max_length=16, choices=Mode.choices, default=Mode.PLAINTEXT)
    is_default = models.BooleanField(_("默认账号"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("公众号")
        verbose_name_plural = _("公众号")

    def __str__(self) -> str:
        return self.name or self.app_id

    def __repr__(self) -> str:  # never the secret, token or key
        return f"<Account {self.app_id} {self.account_type} {self.mode}>"


class AccessTokenLease(models.Model):
    """The one access_token of an appid, shared by every process, and the lease that
    lets exactly one of them fetch a new one (see ``channels/wechat/tokens.py``).

    Times are unix seconds (floats) because they are compared with the API's
    ``expires_in`` arithmetic, not shown to anyone.
    """

    app_id = models.CharField(max_length=32, unique=True)
    value = SecretField(blank=True)  # sealed: a live token can mass-send for two hours
    expires_at = models.FloatField(default=0)
    fetched_at = models.FloatField(default=0)
    fetch_count = models.PositiveIntegerField(default=0)
    lease_owner = models.CharField(max_length=32, blank=True)
    lease_until = models.FloatField(null=True, blank=True)

    def __repr__(self) -> str:  # never the token itself
        return f"<AccessTokenLease {self.app_id} expires_at={self.expires_at:.0f}>"

    def __str__(self) -> str:
        return self.app_id

    def as_token(self):  # -> fencun.channels.wechat.tokens.AccessToken
        from fencun.channels.wechat.tokens import AccessToken

        try:
            value = self.value.reveal() if self.value else ""
        except SecretUnreadable:
            value = ""  # sealed under a key since dropped: unusable, so fetched again
        return AccessToken(value, self.expires_at, self.fetched_at)


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


class Membership(models.Model):
    """A console user's role in one account: which accounts they see and what they may do
    there. It lives beside ``Account`` (the lowest domain holding it) and moves with it."""

    class Role(models.TextChoices):
        # Ordered from most to least: see ``fencun.channels.roles``.
        OWNER = "owner", _("所有者")
        OPERATOR = "operator", _("运营")
        ANALYST = "analyst", _("分析师")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("角色"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("成员")
        verbose_name_plural = _("成员")
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="membership_one_role_per_account"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role} @ {self.account_id}"
