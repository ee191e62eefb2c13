"""The database ledger of created WeCom tasks (``channels.WecomDispatch``) and the client
factory the rest of the product uses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from fencun.channels.models import WecomCorp, WecomDispatch
from fencun.channels.wechat.errors import CredentialUnreadable
from fencun.channels.wechat.tokens import default_token_store
from fencun.channels.wecom.client import WeComClient
from fencun.sealing import SecretUnreadable


class DatabaseDispatchLedger:
    """Tasks of one corp, shared by every process through the database."""

    def __init__(self, corp: WecomCorp) -> None:
        self.corp = corp

    def mass_received(self, external_userids: Sequence[str], day: date) -> dict[str, int]:
        counts: dict[str, int] = {}
        ids = list(external_userids)
        for start in range(0, len(ids), 1000):  # bounded IN lists
            rows = (
                WecomDispatch.objects.filter(
                    corp=self.corp,
                    kind=WecomDispatch.Kind.MASS,
                    day=day,
                    external_userid__in=ids[start : start + 1000],
                )
                .values("external_userid")
                .annotate(n=Count("id"))
            )
            counts.update({r["external_userid"]: r["n"] for r in rows})
        return counts

    def moments_on(self, day: date) -> int:
        return WecomDispatch.objects.filter(
            corp=self.corp, kind=WecomDispatch.Kind.MOMENT, day=day
        ).count()

    def record(self, kind: str, task_id: str, external_userids: Sequence[str], day: date) -> None:
        with transaction.atomic():
            WecomDispatch.objects.bulk_create(
                [
                    WecomDispatch(
                        corp=self.corp, kind=kind, task_id=task_id, external_userid=u, day=day
                    )
                    for u in (list(external_userids) or [""])
                ],
                ignore_conflicts=True,
                batch_size=1000,
            )


def wecom_client(corp: WecomCorp, *, api_base: str | None = None, **options: Any) -> WeComClient:
    """The API client of ``corp``: token shared through the database (or Redis), tasks
    recorded in the database, base URL from ``WECOM_API_BASE`` unless given."""
    if not corp.secret:
        raise ValueError(f"企业微信 {corp.corp_id} 未配置 Secret（WECOM_SECRET）")
    try:
        secret = corp.secret.reveal()
    except SecretUnreadable as exc:
        raise CredentialUnreadable(str(exc)) from None
    return WeComClient(
        corp.corp_id,
        secret,
        api_base=api_base or settings.WECOM["API_BASE"],
        token_store=options.pop("token_store", None) or default_token_store(),
        ledger=options.pop("ledger", None) or DatabaseDispatchLedger(corp),
        **options,
    )
