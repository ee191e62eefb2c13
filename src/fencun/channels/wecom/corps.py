"""Which WeCom corp is meant: the one configured by environment, or the only one."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from fencun.accounts.current import default_account
from fencun.accounts.models import Account
from fencun.channels.models import WecomCorp
from fencun.sealing import same


def corp_from_environment(account: Account | None = None) -> WecomCorp | None:
    """The corp described by ``WECOM_*`` variables, created or updated to match them.

    Its events go to ``account`` (default: the merchant's default account); raises
    ValueError with the reason when the configuration cannot be used.
    """
    conf = settings.WECOM
    if not conf["CORP_ID"]:
        return None
    if len(conf["AES_KEY"]) != 43:
        raise ValueError("WECOM_AES_KEY 必须是 43 个字符")
    if not conf["TOKEN"]:
        raise ValueError("请设置 WECOM_TOKEN")
    wanted = {"secret": conf["SECRET"], "token": conf["TOKEN"], "aes_key": conf["AES_KEY"]}
    with transaction.atomic():
        corp = WecomCorp.objects.filter(corp_id=conf["CORP_ID"]).first()
        if corp is None:
            owner = account or default_account()
            if owner is None:
                raise ValueError(
                    "企业微信的事件记录在商家的公众号账号下：请先配置 WECHAT_APP_ID 等环境变量"
                )
            return WecomCorp.objects.create(account=owner, corp_id=conf["CORP_ID"], **wanted)
        stale = [f for f, v in wanted.items() if not same(getattr(corp, f), v)]
        if stale:
            for field in stale:
                setattr(corp, field, wanted[field])
            corp.save(update_fields=stale)
    return corp


def default_corp() -> WecomCorp | None:
    """The environment's corp if configured, else the only corp, else None."""
    corp = corp_from_environment()
    if corp is not None:
        return corp
    corps = list(WecomCorp.objects.select_related("account").all()[:2])
    return corps[0] if len(corps) == 1 else None
