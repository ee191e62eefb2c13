"""The database ledger of accepted mass sends (``channels.MassSend``)."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction

from fencun.accounts.models import Account
from fencun.channels.models import MassSend
from fencun.channels.wechat.client import MassSendResult


class DatabaseMassLedger:
    """Mass sends of one account, shared by every process through the database."""

    def __init__(self, account: Account) -> None:
        self.account = account

    def mass_sends_since(self, since: datetime) -> int:
        return MassSend.objects.filter(account=self.account, sent_at__gte=since).count()

    def record(
        self,
        *,
        clientmsgid: str,
        kind: str,
        result: MassSendResult,
        tag_id: int | None,
        recipients: int | None,
        sent_at: datetime,
    ) -> None:
        # A 45065 answer (already sent) finds the row of the first acceptance: keep it.
        try:
            with transaction.atomic():
                MassSend.objects.create(
                    account=self.account,
                    clientmsgid=clientmsgid,
                    kind=kind,
                    msg_id=result.msg_id,
                    msg_data_id=result.msg_data_id,
                    tag_id=tag_id,
                    recipients=recipients,
                    sent_at=sent_at,
                )
        except IntegrityError:
            if result.msg_id is not None:
                MassSend.objects.filter(
                    account=self.account, clientmsgid=clientmsgid, msg_id=None
                ).update(msg_id=result.msg_id)
