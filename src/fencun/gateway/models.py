from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from fencun.accounts.models import Account


class AutoReply(models.Model):
    """A passive reply: the subscribe greeting or a keyword rule."""

    class Match(models.TextChoices):
        SUBSCRIBE = "subscribe", _("关注欢迎语")
        EXACT = "exact", _("全匹配")
        CONTAINS = "contains", _("包含")

    class ReplyType(models.TextChoices):
        TEXT = "text", _("文本")
        NEWS = "news", _("图文")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="auto_replies")
    match = models.CharField(_("匹配方式"), max_length=16, choices=Match.choices)
    keyword = models.CharField(_("关键词"), max_length=100, blank=True)
    priority = models.IntegerField(_("优先级"), default=0, help_text=_("数值大的优先"))
    reply_type = models.CharField(
        _("回复类型"), max_length=8, choices=ReplyType.choices, default=ReplyType.TEXT
    )
    content = models.TextField(_("回复内容"), blank=True)
    # News replies: [{"title", "description", "picurl", "url"}], at most 8.
    articles = models.JSONField(_("图文"), default=list, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("自动回复")
        verbose_name_plural = _("自动回复")
        ordering = ["-priority", "id"]

    def __str__(self) -> str:
        return f"{self.get_match_display()} {self.keyword}".strip()


class InboxEvent(models.Model):
    """A callback acknowledged to WeChat and not yet folded into the event log.

    The callback path only appends here (a row per callback, no index besides the row id)
    and answers once that append is committed; :mod:`fencun.gateway.inbox` folds the rows
    into the event log and the follower projection later, in large batches, and deletes
    them in the same transaction. De-duplication is decided by the fold, against the event
    log's unique key: a WeChat retry may sit here twice, it is stored once.
    """

    id = models.BigAutoField(primary_key=True)
    # No foreign-key check or index per append: an account's rows go with it (the ORM's
    # cascade), and nothing looks rows up by account.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )
    kind = models.CharField(max_length=40)
    openid = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    payload = models.JSONField(default=dict)
    source = models.CharField(max_length=16)
    dedup_key = models.CharField(max_length=200)
