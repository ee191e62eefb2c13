"""Which account is meant: the one configured by environment, or the default one."""

from __future__ import annotations

import os

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from fencun.accounts.models import Account
from fencun.sealing import Sealed, SecretUnreadable, mask, same


def _env_mode(aes_key: str) -> str:
    mode = os.environ.get("WECHAT_ENCRYPT_MODE", "").lower()
    if mode in Account.Mode.values:
        return mode
    return Account.Mode.SAFE if aes_key else Account.Mode.PLAINTEXT


def account_from_environment() -> Account | None:
    """The account described by ``WECHAT_*`` variables, created or updated to match them."""
    conf = settings.WECHAT
    if not conf["APP_ID"]:
        return None
    if conf["AES_KEY"] and len(conf["AES_KEY"]) != 43:
        raise ValueError("WECHAT_AES_KEY must be exactly 43 characters")
    if conf["ACCOUNT_TYPE"] not in Account.Type.values:
        raise ValueError("WECHAT_ACCOUNT_TYPE must be 'subscription' or 'service'")
    wanted = {
        "app_secret": conf["APP_SECRET"],
        "token": conf["TOKEN"],
        "aes_key": conf["AES_KEY"],
        "account_type": conf["ACCOUNT_TYPE"],
        "mode": _env_mode(conf["AES_KEY"]),
    }
    with transaction.atomic():
        account, created = Account.objects.get_or_create(
            app_id=conf["APP_ID"], defaults={**wanted, "is_default": True}
        )
        stale = [f for f, v in wanted.items() if not same(getattr(account, f), v)]
        if stale and not created:
            for field in stale:
                setattr(account, field, wanted[field])
            account.save(update_fields=stale)
    return account


def default_account() -> Account | None:
    """The environment's account if configured, else the one marked default, else the only one."""
    account = account_from_environment()
    if account is not None:
        return account
    account = Account.objects.filter(is_default=True).order_by("id").first()
    if account is not None:
        return account
    accounts = list(Account.objects.all()[:2])
    return accounts[0] if len(accounts) == 1 else None


def _shown(value: Sealed) -> str:
    if not value:
        return _("not set")
    try:
        return mask(value.reveal())
    except SecretUnreadable:
        return _("set, but it cannot be decrypted with FENCUN_SECRET_KEY")


def shown_connection(account: Account) -> list[tuple[str, list[tuple[str, str]]]]:
    """What the console shows of how ``account`` and its WeCom corps are connected: ids
    in full, every secret masked (at most its last 4 characters, see fencun.sealing)."""
    fields = Account._meta
    sections = [
        (
            _("WeChat Official Account %(app_id)s") % {"app_id": account.app_id},
            [
                (str(fields.get_field("app_secret").verbose_name), _shown(account.app_secret)),
                (str(fields.get_field("token").verbose_name), _shown(account.token)),
                (str(fields.get_field("aes_key").verbose_name), _shown(account.aes_key)),
                (str(fields.get_field("mode").verbose_name), account.get_mode_display()),
            ],
        )
    ]
    for corp in account.wecom_corps.order_by("id"):
        sections.append(
            (
                _("WeCom %(corp_id)s") % {"corp_id": corp.corp_id},
                [
                    ("Secret", _shown(corp.secret)),
                    ("Token", _shown(corp.token)),
                    ("EncodingAESKey", _shown(corp.aes_key)),
                ],
            )
        )
    return sections
