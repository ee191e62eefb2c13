"""What the rest of the product calls to reach WeChat for an account."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from fencun.accounts.models import Account
from fencun.channels.wechat.client import WeChatClient
from fencun.channels.wechat.errors import CredentialUnreadable
from fencun.channels.wechat.ledger import DatabaseMassLedger
from fencun.channels.wechat.tokens import default_token_store
from fencun.sealing import SecretUnreadable


def wechat_client(account: Account, *, api_base: str | None = None, **options: Any) -> WeChatClient:
    """The API client of ``account``: tokens shared through the database (or Redis), mass
    sends recorded in the database, base URL from ``WECHAT_API_BASE`` unless given."""
    if not account.app_secret:
        raise ValueError(f"account {account.app_id} has no AppSecret configured")
    try:
        secret = account.app_secret.reveal()
    except SecretUnreadable as exc:
        raise CredentialUnreadable(str(exc)) from None
    return WeChatClient(
        account.app_id,
        secret,
        account_type=account.account_type,
        api_base=api_base or settings.WECHAT["API_BASE"],
        token_store=options.pop("token_store", None) or default_token_store(),
        ledger=options.pop("ledger", None) or DatabaseMassLedger(account),
        **options,
    )
