"""Connecting an Official Account from the console: its AppID, AppSecret, callback Token
and EncodingAESKey, checked against the WeChat admin's own rules before anything is
stored (sealed, as every secret is). Where the ``WECHAT_*`` environment describes the
account, the environment wins at every start: the console says so and changes nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from fencun.accounts.models import Account

# The shapes the WeChat admin accepts (设置与开发 → 基本配置): the Token "必须为英文或数字，
# 长度为3-32字符", the EncodingAESKey "由43位字符组成，字符范围为A-Z，a-z，0-9"; an AppID is
# "wx" and 16 hex digits, an AppSecret 32 letters or digits.
# The fields: https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/message-push.html
# (the lengths and characters are those the admin's form states beside each field).
SHAPES: dict[str, re.Pattern[str]] = {
    "app_id": re.compile(r"wx[0-9a-f]{16}"),
    "app_secret": re.compile(r"[0-9A-Za-z]{32}"),
    "token": re.compile(r"[0-9A-Za-z]{3,32}"),
    "aes_key": re.compile(r"[0-9A-Za-z]{43}"),
}


class ConnectError(ValueError):
    """Refused, field by field (``errors``: field -> message, ``form`` for the whole);
    nothing was stored."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class Connection:
    app_id: str = ""
    account_type: str = Account.Type.SUBSCRIPTION
    app_secret: str = ""  # blank: keep the stored one
    token: str = ""  # blank: keep the stored one
    aes_key: str = ""  # blank: keep the stored one


def managed_by_environment(account: Account | None) -> bool:
    """Whether the ``WECHAT_*`` environment describes this account (or, with none, any):
    it is rewritten from the environment at every start."""
    app_id = settings.WECHAT["APP_ID"]
    return bool(app_id) and (account is None or account.app_id == app_id)


def _check(c: Connection, account: Account | None) -> dict[str, str]:
    messages = {
        "app_id": _("An AppID is wx followed by 16 hexadecimal digits (设置与开发 → 基本配置)."),
        "app_secret": _("An AppSecret is 32 letters or digits."),
        "token": _("The Token is 3 to 32 letters or digits, the same as in the WeChat admin."),
        "aes_key": _("The EncodingAESKey is 43 letters or digits, the same as in the WeChat admin."),
    }
    errors = {}
    for field, shape in SHAPES.items():
        value = getattr(c, field)
        if field == "app_id" and account is not None:
            continue  # an account keeps its AppID
        if value and not shape.fullmatch(value):
            errors[field] = messages[field]
    if account is None:
        for field in ("app_id", "token"):
            if not getattr(c, field):
                errors.setdefault(field, _("Required to connect an account."))
        if c.account_type not in Account.Type.values:
            errors["account_type"] = _("Choose the account type: Official Account (formerly subscription account) or service account.")
        elif c.app_id and Account.objects.filter(app_id=c.app_id).exists():
            errors["app_id"] = _("This AppID is connected already.")
    return errors


def connect(c: Connection, *, account: Account | None) -> Account:
    """Store the connection: a new account (``account`` None) or new secrets for
    ``account`` (a blank field keeps the stored value). The message
    mode follows the key: safe with an EncodingAESKey, plaintext without. ``ConnectError``
    with every field at fault, nothing stored."""
    if managed_by_environment(account):
        raise ConnectError({"form": _(
            "This account is set by the WECHAT_* variables fencun was started with: change them there "
            "and restart fencun.")})
    errors = _check(c, account)
    if errors:
        raise ConnectError(errors)
    with transaction.atomic():
        if account is None:
            account = Account(app_id=c.app_id, account_type=c.account_type,
                              is_default=not Account.objects.exists())
        for field in ("app_secret", "token", "aes_key"):
            if getattr(c, field):
                setattr(account, field, getattr(c, field))
        account.mode = Account.Mode.SAFE if account.aes_key else Account.Mode.PLAINTEXT
        account.save()
    return account
