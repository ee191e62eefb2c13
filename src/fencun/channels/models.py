from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


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
    # The AppSecret is never rendered back; see ChannelAccountAdmin.
    app_secret = models.CharField(_("AppSecret"), max_length=64, blank=True)
    token = models.CharField(_("Token"), max_length=64)
    aes_key = models.CharField(_("EncodingAESKey"), max_length=43, blank=True)
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
