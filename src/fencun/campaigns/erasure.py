"""A follower's erasure in campaigns' tables (see ``audience/erasure.py``): they leave
every plan's recipients, holdout and controls, every outbox row and every journey; a
pending row that was theirs alone is removed, so nothing is sent to them after the
erasure."""

from __future__ import annotations

from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast

from fencun.accounts.models import Account
from fencun.audience.erasure import without
from fencun.campaigns.models import JourneyEntry, OutboxItem, PlanSnapshot

#: What a customer-service row's key becomes once its follower is erased.
ERASED_KEY = "erased-{pk}"


def _naming(rows: QuerySet, openid: str, *fields: str, also: Q | None = None) -> QuerySet:
    """The rows whose JSON ``fields`` name ``openid`` (matched in the stored text: the JSON
    lookups that would do it are not on SQLite), or that ``also`` selects."""
    quoted = f'"{openid}"'
    texts = {f"{f}_text": Cast(f, TextField()) for f in fields}
    match = also if also is not None else Q(pk__in=[])
    for name in texts:
        match |= Q(**{f"{name}__contains": quoted})
    return rows.annotate(**texts).filter(match)


def erase_follower(account: Account, openid: str) -> int:
    changed = 0
    plans = PlanSnapshot.objects.select_for_update(of=("self",)).filter(campaign__account=account)
    for plan in _naming(plans, openid, "recipients", "holdout", "controls"):
        plan.recipients = without(plan.recipients, openid)
        plan.holdout = without(plan.holdout, openid)
        plan.controls = without(plan.controls, openid)
        plan.save(update_fields=["recipients", "holdout", "controls"])
        changed += 1
    rows = OutboxItem.objects.select_for_update(of=("self",)).filter(campaign__account=account)
    for row in _naming(rows, openid, "openids", also=Q(key=openid)):
        row.openids = without(row.openids, openid)
        pending = row.status in (OutboxItem.Status.PENDING, OutboxItem.Status.HELD)
        if pending and not row.openids:
            row.delete()
        else:
            if row.key == openid:
                row.key = ERASED_KEY.format(pk=row.pk)
            row.save(update_fields=["openids", "key"])
        changed += 1
    # Their place in journeys goes too: an erased follower is one fencun never met.
    changed += JourneyEntry.objects.filter(journey__account=account, openid=openid).delete()[0]
    return changed
