"""The accounts: one WeChat Official Account each, its secrets, its access token, and who
may work in it. The lowest domain: every other app may import it, it imports none of them.

The tables keep the names they had when these models lived in ``channels``
(``channels_account``...): the move changed where the code lives, not the data."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fencun.accounts.fields import SecretField


class Account(models.Model):
    """One WeChat Official Account the merchant runs."""

    class Type(models.TextChoices):
        # As the platform names them since it renamed subscription accounts.
        SUBSCRIPTION = "subscription", _("公众号（原订阅号）")
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
    # Events older than this many months are made anonymous (audience/retention.py);
    # None keeps them.
    retention_months = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "channels_account"
        verbose_name = _("公众号")
        verbose_name_plural = _("公众号")

    def __str__(self) -> str:
        return self.name or self.app_id

    def __repr__(self) -> str:  # never the secret, token or key
        return f"<Account {self.app_id} {self.account_type} {self.mode}>"


class AccessTokenLease(models.Model):
    """The one access_token of an appid, shared by every process, and the lease that
    lets exactly one of them fetch a new one (see ``fencun/channels/wechat/tokens.py``).

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

    class Meta:
        db_table = "channels_accesstokenlease"

    def __repr__(self) -> str:  # never the token itself
        return f"<AccessTokenLease {self.app_id} expires_at={self.expires_at:.0f}>"

    def __str__(self) -> str:
        return self.app_id


class Membership(models.Model):
    """A console user's role in one account: which accounts they see and what they may do
    there (``fencun.accounts.roles``)."""

    class Role(models.TextChoices):
        # Ordered from most to least: see ``fencun.accounts.roles``.
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
        db_table = "channels_membership"
        verbose_name = _("成员")
        verbose_name_plural = _("成员")
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="membership_one_role_per_account"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role} @ {self.account_id}"


class AuditEntry(models.Model):
    """Who did what to which object of an account, and when: append-only. Written by the
    domains' actions (``accounts/audit.py``); never changed or deleted one by one."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="audit")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=120)  # user:NAME, api:TOKEN NAME, cli, system
    action = models.CharField(max_length=60)  # e.g. campaign.approved
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "target_type", "target_id"])]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("audit entries are append-only")
