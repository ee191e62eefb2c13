"""Journeys in the product: saved, started, entered from the event log, and each due
send step planned by the engine and delivered through the one outbox.

A journey's ``definition`` is the engine's shape (``fencun.engine.journeys``): a trigger,
steps (``{"send": {"title", "body"?, "category", "products"}}`` or ``{"wait_days": N}``)
and ``exit``. Products are the account's SKUs; the saved definition carries their prices.

Rules chosen here:

- **Entering.** The entry pass (every minute) reads new events with a cursor, re-reading
  an overlap as ``channel_tags`` does; a follower enters a journey once (unique
  (journey, openid): a re-read or a second trigger is a no-op, and someone who left never
  comes back). Only events logged after the journey last went live enter anyone: a
  paused journey enters nobody, not even on resuming. Exits (unfollow; an order after
  entering, with ``exit.on_order``) apply to live and paused journeys alike.
- **Sending.** Each due send step becomes a campaign of that step (one per channel:
  customer service for the followers whose window is open, where the account may send
  such messages; mass for the others), planned by the engine on the follower state and
  restricted to the due followers, approved at once (the journey is live) and delivered
  by the outbox workers. Every due follower then moves on, sent or held back: a step held
  back is skipped, its reason kept in the campaign's plan. In the merchant's quiet hours
  nothing is planned: due steps wait for them to end rather than be skipped. Moving on and the outbox rows
  are one transaction, so a step is never sent twice to anyone.
- **Editing a live journey.** The version goes up. A follower inside keeps their place
  only if their step is the same step (same index, same content) in the new definition;
  otherwise they leave (``edited``) without further sends. A removed or changed step is
  therefore never sent to anyone who entered before the edit.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from fencun import clock, inputs
from fencun.accounts import audit
from fencun.accounts.models import Account
from fencun.audience import kinds
from fencun.audience.models import Event, Follower, Store
from fencun.campaigns import planning
from fencun.campaigns.followerstate import build_state
from fencun.campaigns.models import (
    Campaign,
    Journey,
    JourneyCursor,
    JourneyEntry,
    OutboxItem,
    PlanSnapshot,
)
from fencun.campaigns.services import (
    CampaignError,
    check_fields,
    create_campaign,
    lint_text,
    rules_for,
    transition,
)
from fencun.catalog.models import Category, Product
from fencun.content.model import Severity
from fencun.engine import journeys as ej
from fencun.engine.catalog import Category as EngineCategory
from fencun.engine.limits import load_platform_limits
from fencun.engine.planner import Campaign as EngineCampaign
from fencun.engine.state import FollowerState

log = logging.getLogger(__name__)

JS = Journey.Status
LEFT = JourneyEntry.Left
#: Events the entry pass reads: triggers and exits.
KINDS = (kinds.SUBSCRIBE, kinds.ORDER, kinds.TEXT, kinds.LOCATION, kinds.LINK_CLICK, kinds.UNSUBSCRIBE)
EVENTS_PER_PASS = 2_000  # per batch
BATCHES_PER_PASS = 25
#: Event ids re-read behind the cursor: on PostgreSQL a lower id may commit after a higher
#: one was read (see ``operations/channel_tags.py``). Entering is idempotent, an exit of
#: someone who left is a no-op, so the re-read costs queries, not effects.
OVERLAP_IDS = 1_000
#: Who approves a journey's step campaigns: the journey itself, started by the merchant.
APPROVER = "journey"
#: A lone follower due at a mass step of a service account (an openid list needs two)
#: waits this long for company before going alone.
LONE_WAIT = timedelta(hours=6)
MAX_DEFINITION_CHARS = 200_000


class JourneyRefused(CampaignError):
    """A journey that cannot be saved or moved: the message says why; nothing changed."""


# ----- the definition ---------------------------------------------------------------------
def engine_categories(account: Account) -> list[EngineCategory]:
    return [
        EngineCategory(id=c.key, name=c.name, keywords=tuple(c.keywords or ()))
        for c in Category.objects.filter(account=account).order_by("pk")
    ]


def engine_id(journey: Journey) -> str:
    return f"j{journey.pk}"


def _send_of(step: Any) -> Mapping[str, Any] | None:
    send = step.get("send") if isinstance(step, Mapping) else None
    return send if isinstance(send, Mapping) else None


def _check_step(account: Account, n: int, send: Mapping[str, Any], keys: set[str]) -> dict[str, Any]:
    """One send step with its products priced from the catalog; refusals name the step."""
    category = str(send.get("category") or "")
    if category not in keys:
        raise JourneyRefused(
            _("Step %(n)s sends in the category %(key)s, which this account does not have.")
            % {"n": n + 1, "key": category}
        )
    products = send.get("products") or []
    if not isinstance(products, list):
        raise JourneyRefused(_("Step %(n)s: products must be a list of SKUs.") % {"n": n + 1})
    skus = [str(p.get("id") if isinstance(p, Mapping) else p) for p in products]
    found = dict(Product.objects.filter(account=account, sku__in=skus).values_list("sku", "price"))
    for sku in skus:
        if sku not in found:
            raise JourneyRefused(
                _("Step %(n)s names the product %(sku)s, which this account does not have (deleted?).")
                % {"n": n + 1, "sku": sku}
            )
    title, body = str(send.get("title") or ""), str(send.get("body") or "")
    if not (title or body).strip():
        raise JourneyRefused(_("Step %(n)s sends nothing: give it a title or a body.") % {"n": n + 1})
    _lint(account, n, title, body)
    return {"title": title, "body": body, "category": category,
            "products": [{"id": s, "price": float(found[s])} for s in skus]}


def _lint(account: Account, n: int, title: str, body: str) -> None:
    """The content lint's errors refuse the step, as they keep a campaign a draft."""
    try:
        check_fields(title=title, body=body)
    except CampaignError as exc:
        raise JourneyRefused(_("Step %(n)s: %(why)s") % {"n": n + 1, "why": exc}) from None
    zh = (get_language() or "zh-hans").startswith("zh")
    for f in lint_text(account, Campaign.MessageType.TEXT, title, body or title):
        if f.severity == Severity.ERROR:
            why = f.message_zh if zh else f.message_en
            raise JourneyRefused(_("Step %(n)s: %(why)s") % {"n": n + 1, "why": why})


def _check_trigger(raw: Any) -> None:
    if isinstance(raw, Mapping) and raw.get("kind") == "keyword" and not str(raw.get("keyword") or "").strip():
        raise JourneyRefused(_("A keyword trigger needs a keyword: without one it would fire on every text."))


def check_definition(account: Account, definition: Any) -> dict[str, Any]:
    """The definition as it is saved (products priced), or :class:`JourneyRefused`."""
    if not isinstance(definition, Mapping):
        raise JourneyRefused(_("A journey's definition is an object with a trigger, steps and an exit."))
    try:
        # JSON writes a NUL as \u0000: put it back for the check.
        text = json.dumps(definition).replace("\\u0000", "\x00")
        inputs.check_text(text, "definition", MAX_DEFINITION_CHARS)
    except (inputs.InputError, TypeError, ValueError) as exc:  # a NUL, too long, not JSON
        raise JourneyRefused(str(exc)) from None
    _check_trigger(definition.get("trigger"))
    steps = definition.get("steps")
    if not isinstance(steps, list) or not any(_send_of(s) for s in steps):
        raise JourneyRefused(_("A journey needs at least one send step."))
    keys = {c.key for c in Category.objects.filter(account=account)}
    out = {
        "trigger": definition.get("trigger"),
        "steps": [
            {"send": _check_step(account, n, send, keys)} if (send := _send_of(s)) else s
            for n, s in enumerate(steps)
        ],
        "exit": definition.get("exit") or {"on_order": True},
    }
    try:
        ej.parse_journeys([{**out, "id": "j"}], engine_categories(account))
    except ej.JourneyError as exc:
        raise JourneyRefused(_("This journey cannot run: %(why)s") % {"why": exc}) from None
    return out


def engine_journey(journey: Journey) -> ej.Journey:
    (parsed,) = ej.parse_journeys([{**journey.definition, "id": engine_id(journey)}], engine_categories(journey.account))
    return parsed


def _check_name(name: str) -> None:
    if not name.strip():
        raise JourneyRefused(_("A journey needs a name."))
    try:
        inputs.check_text(name, "name", Journey._meta.get_field("name").max_length)
    except inputs.InputError as exc:
        raise JourneyRefused(str(exc)) from None


# ----- saving and the lifecycle -------------------------------------------------------------
def create_journey(account: Account, *, name: str, definition: Any) -> Journey:
    """A new draft journey, its definition checked (nothing saved on a refusal)."""
    _check_name(name)
    checked = check_definition(account, definition)
    with transaction.atomic():
        journey = Journey.objects.create(account=account, name=name, definition=checked)
        audit.record(account, "journey.created", journey, name=name)
    return journey


def update_journey(journey: Journey, *, name: str | None = None, definition: Any = None) -> Journey:
    """Change the name or the definition. A new definition bumps the version; who is
    inside keeps their place only where their step is unchanged (see the module's rules)."""
    if name is not None:
        _check_name(name)
    checked = check_definition(journey.account, definition) if definition is not None else None
    with transaction.atomic():
        current = Journey.objects.select_for_update().get(pk=journey.pk)
        if name is not None:
            current.name = name
        if checked is not None and checked != current.definition:
            old = current.definition
            current.definition, current.version = checked, current.version + 1
            _carry_over(current, old.get("steps") or [], checked["steps"])
        current.save()
        audit.record(current.account, "journey.changed", current, version=current.version,
                     name_changed=name is not None, definition_changed=checked is not None)
    journey.refresh_from_db()
    return journey


def _carry_over(journey: Journey, old: list[Any], new: list[Any]) -> None:
    """Entries at a step the edit kept as it was move to the new version; the others
    leave without another send."""
    inside = JourneyEntry.objects.filter(journey=journey, left_at__isnull=True)
    kept = [i for i, step in enumerate(old) if i < len(new) and new[i] == step]
    inside.filter(step__in=kept).update(version=journey.version)
    inside.exclude(version=journey.version).update(
        left_at=clock.now(), left_reason=LEFT.EDITED, due_at=None
    )


def _last_event(account: Account) -> int:
    return Event.objects.filter(account=account).aggregate(m=Max("pk"))["m"] or 0


def _move(journey: Journey, allowed: tuple[str, ...], to: str) -> Journey:
    with transaction.atomic():
        current = Journey.objects.select_for_update().get(pk=journey.pk)
        if current.status not in allowed:
            raise JourneyRefused(
                _("A journey in the state %(status)s cannot become %(to)s.")
                % {"status": JS(current.status).label, "to": JS(to).label}
            )
        if to == JS.LIVE:
            engine_journey(current)  # a category deleted since the save stops it here
            current.enter_after_event = _last_event(current.account)
            if current.status == JS.DRAFT:  # a paused one's exits were read all along
                _follow_log(current)
        audit.record(current.account, f"journey.{to}", current, was=current.status)
        current.status = to
        current.save(update_fields=["status", "enter_after_event", "updated_at"])
    journey.refresh_from_db()
    return journey


def _follow_log(journey: Journey) -> None:
    """With no other journey running, the account's cursor jumps to the log's end: the
    entry pass has nothing older to read (exits only matter to followers inside)."""
    others = Journey.objects.filter(account=journey.account, status__in=(JS.LIVE, JS.PAUSED)).exclude(pk=journey.pk)
    if not others.exists():
        JourneyCursor.objects.update_or_create(
            account=journey.account, defaults={"event_id": journey.enter_after_event}
        )


def start(journey: Journey) -> Journey:
    """Go live: events from now on enter followers."""
    return _move(journey, (JS.DRAFT,), JS.LIVE)


def pause(journey: Journey) -> Journey:
    """Stop entering and sending; who is inside stays where they are."""
    return _move(journey, (JS.LIVE,), JS.PAUSED)


def resume(journey: Journey) -> Journey:
    """Live again: steps that fell due meanwhile go out; events of the pause enter nobody."""
    return _move(journey, (JS.PAUSED,), JS.LIVE)


# ----- the entry pass ---------------------------------------------------------------------
@dataclass
class EntryPass:
    events: int = 0  # new events read
    entered: int = 0
    left: int = 0


def _enter(journey: Journey, engine: ej.Journey, openids: Iterable[str], at: datetime) -> int:
    """Enter those not yet entered, each once (the unique (journey, openid) settles a
    race); returns how many entered."""
    wanted = set(openids)
    wanted -= set(JourneyEntry.objects.filter(journey=journey, openid__in=list(wanted)).values_list("openid", flat=True))
    if not wanted:
        return 0
    placed = ej.advance(engine, 0, at.timestamp())
    assert placed is not None  # a saved journey has a send step
    step, due = placed
    rows = [
        JourneyEntry(journey=journey, openid=o, version=journey.version, step=step,
                     due_at=datetime.fromtimestamp(due, UTC), entered_at=at)
        for o in sorted(wanted)
    ]
    JourneyEntry.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)


def _leave(journey: Journey, openid: str, at: datetime, reason: str) -> int:
    inside = JourneyEntry.objects.filter(journey=journey, openid=openid, left_at__isnull=True)
    if reason == LEFT.GOAL:
        inside = inside.filter(entered_at__lt=at)  # not the order that made them enter
    return inside.update(left_at=at, left_reason=reason, due_at=None)


def _on_event(journeys: list[tuple[Journey, ej.Journey]], stores: list[tuple[float, float]],
              pk: int, openid: str, kind: str, at: datetime, payload: dict) -> tuple[int, int]:
    """One event's effect on each journey: (entered, left)."""
    entered = left = 0
    ev = {**(payload or {}), "kind": kind}
    for journey, engine in journeys:
        if kind == kinds.UNSUBSCRIBE:
            left += _leave(journey, openid, at, LEFT.UNFOLLOWED)
        elif kind == kinds.ORDER and engine.exit_on_order and _leave(journey, openid, at, LEFT.GOAL):
            left += 1
        elif journey.status == JS.LIVE and pk > journey.enter_after_event and ej.fires(engine.trigger, ev, stores):
            entered += _enter(journey, engine, [openid], at)
    return entered, left


def _running(account: Account) -> list[tuple[Journey, ej.Journey]]:
    """The account's live and paused journeys with their engine shape; one whose
    definition no longer runs (a category deleted since) is logged and left out."""
    out = []
    for journey in Journey.objects.filter(account=account, status__in=(JS.LIVE, JS.PAUSED)).order_by("pk"):
        try:
            out.append((journey, engine_journey(journey)))
        except ej.JourneyError as exc:
            log.warning("journey %s cannot run: %s", journey.pk, exc)
    return out


def entry_pass(account: Account, now: datetime | None = None) -> EntryPass:
    """Enter and exit followers on the events since the last pass; once a local day, enter
    the followers quiet for an ``inactive`` journey's days."""
    now = now or clock.now()
    result = EntryPass()
    running = _running(account)
    cursor, _created = JourneyCursor.objects.get_or_create(account=account)
    if not running:
        # Nothing listens: the cursor follows the log, so going live reads nothing old.
        JourneyCursor.objects.filter(pk=cursor.pk).update(event_id=max(cursor.event_id, _last_event(account)))
        return result
    stores = [(s.lat, s.lng) for s in Store.objects.filter(account=account).order_by("pk")]
    after, read = max(0, cursor.event_id - OVERLAP_IDS), cursor.event_id
    for _batch in range(BATCHES_PER_PASS):  # a burst is caught up within the pass
        rows = list(
            Event.objects.filter(account=account, pk__gt=after, kind__in=KINDS)
            .order_by("pk")
            .values_list("pk", "openid", "kind", "occurred_at", "payload")[:EVENTS_PER_PASS]
        )
        for pk, openid, kind, at, payload in rows:
            if openid:
                result.events += pk > read
                entered, left = _on_event(running, stores, pk, openid, kind, at, payload)
                result.entered += entered
                result.left += left
        if rows and rows[-1][0] > read:
            read = rows[-1][0]
            JourneyCursor.objects.filter(pk=cursor.pk).update(event_id=read)
        if len(rows) < EVENTS_PER_PASS:
            break
        after = rows[-1][0]
    result.entered += _enter_inactive(account, cursor, running, now)
    return result


def _enter_inactive(account: Account, cursor: JourneyCursor, running: list[tuple[Journey, ej.Journey]],
                    now: datetime) -> int:
    today = timezone.localdate(now)
    if cursor.inactive_on == today:
        return 0
    entered = 0
    for journey, engine in running:
        if journey.status != JS.LIVE or engine.trigger.kind != "inactive":
            continue
        quiet = now - timedelta(days=engine.trigger.days or 0)
        openids = (
            Follower.objects.filter(account=account, subscribed=True, last_interaction_at__lte=quiet)
            .exclude(openid__in=JourneyEntry.objects.filter(journey=journey).values("openid"))
            .values_list("openid", flat=True)
        )
        entered += _enter(journey, engine, list(openids), now)
    JourneyCursor.objects.filter(pk=cursor.pk).update(inactive_on=today)
    return entered


# ----- due steps ----------------------------------------------------------------------------
@dataclass
class StepPass:
    campaigns: list[Campaign] = field(default_factory=list)  # step campaigns approved
    moved: int = 0  # due followers moved on (sent or held back)


def send_due_steps(account: Account, now: datetime | None = None) -> StepPass:
    """Each live journey's due send steps as approved campaigns restricted to the due
    followers, then those followers move on. A follower chosen for one journey's step
    waits for the next pass for another's, so the engine sees the first send."""
    now = now or clock.now()
    result = StepPass()
    if rules_for(account).as_engine_rules().in_quiet_hours(now.timestamp()):
        return result  # due steps wait for the quiet hours to end rather than be skipped
    state: FollowerState | None = None
    chosen: set[str] = set()
    for journey, engine in _running(account):
        if journey.status != JS.LIVE:
            continue
        due = _due(journey, now, chosen)
        if not due:
            continue
        state = state or build_state(account, now)
        for ec in _step_campaigns(account, engine, due, state, now):
            if not _ready(journey, ec, due, now):
                continue
            found = ej.step_of(ec.id)
            assert found is not None
            campaign, moved, sent = _send_step(journey, engine, found[1], ec, state, now)
            if campaign is not None:
                result.campaigns.append(campaign)
                result.moved += moved
                chosen.update(sent)
    return result


def _due(journey: Journey, now: datetime, chosen: set[str]) -> dict[str, tuple[int, datetime]]:
    """openid -> (step, due at) of the journey's followers due now (by the index on
    (journey, due_at): the cost follows what is due)."""
    rows = JourneyEntry.objects.filter(
        journey=journey, due_at__lte=now, left_at__isnull=True, version=journey.version
    ).values_list("openid", "step", "due_at")
    return {o: (s, d) for o, s, d in rows if o not in chosen and d is not None}


def _step_campaigns(account: Account, engine: ej.Journey, due: Mapping[str, tuple[int, datetime]],
                    state: FollowerState, now: datetime) -> list[EngineCampaign]:
    """The engine's step campaigns of the due followers, split by channel (its book)."""
    book = ej.JourneyBook([engine])
    book.at[engine.id] = {o: (step, at.timestamp()) for o, (step, at) in due.items()}
    return book.campaigns(state, now.timestamp(), load_platform_limits(account.account_type))


def _ready(journey: Journey, ec: EngineCampaign, due: Mapping[str, tuple[int, datetime]], now: datetime) -> bool:
    """A lone mass recipient of a service account (an openid list needs two) waits a
    while for others due at the same step."""
    members = ec.members or frozenset()
    if ec.channel != Campaign.Channel.MASS or len(members) != 1:
        return True
    if journey.account.account_type != Account.Type.SERVICE:
        return True
    (openid,) = members
    return bool(due[openid][1] <= now - LONE_WAIT)


def _send_step(journey: Journey, engine: ej.Journey, step: int, ec: EngineCampaign, state: FollowerState,
               now: datetime) -> tuple[Campaign | None, int, list[str]]:
    """Plan, approve and move on in one transaction: (campaign, moved, recipients)."""
    send = journey.definition["steps"][step]["send"]
    with transaction.atomic():
        members = set(
            JourneyEntry.objects.select_for_update()
            .filter(journey=journey, step=step, due_at__lte=now, left_at__isnull=True,
                    version=journey.version, openid__in=list(ec.members or ()))
            .values_list("openid", flat=True)
        )
        if not members:  # another pass took them
            return None, 0, []
        campaign = create_campaign(
            journey.account,
            name=_("%(journey)s · step %(n)s") % {"journey": journey.name, "n": step + 1},
            category=Category.objects.get(account=journey.account, key=send["category"]),
            products=list(Product.objects.filter(account=journey.account,
                                                 sku__in=[p["id"] for p in send["products"]])),
            channel=ec.channel, message_type=Campaign.MessageType.TEXT,
            title=send["title"], body=send.get("body") or "",
            deadline=now + timedelta(days=1),
        )
        Campaign.objects.filter(pk=campaign.pk).update(journey=journey, journey_step=step)
        transition(campaign, Campaign.Status.LINTED, lint_acknowledged=True)
        plan = planning.dry_run(campaign, now, state=state, members=frozenset(members))
        planning.approve(campaign, by=APPROVER, snapshot=plan, scheduled_for=now)
        moved = _move_on(journey, engine, step, members, now)
    return campaign, moved, list(plan.recipients)


def _move_on(journey: Journey, engine: ej.Journey, step: int, openids: set[str], now: datetime) -> int:
    """The step's followers go to the next send step (or leave, finished)."""
    entries = JourneyEntry.objects.filter(journey=journey, step=step, openid__in=list(openids), left_at__isnull=True)
    placed = ej.advance(engine, step + 1, now.timestamp())
    if placed is None:
        return entries.update(left_at=now, left_reason=LEFT.FINISHED, due_at=None)
    return entries.update(step=placed[0], due_at=datetime.fromtimestamp(placed[1], UTC))


# ----- reads ------------------------------------------------------------------------------
def step_counts(journey: Journey) -> list[dict[str, Any]]:
    """Per step: followers waiting at it, sent it and held back from it."""
    waiting: dict[int, int] = defaultdict(int)
    for step in JourneyEntry.objects.filter(journey=journey, left_at__isnull=True).values_list("step", flat=True):
        waiting[step] += 1
    sent: dict[int, int] = defaultdict(int)
    for at, openids in OutboxItem.objects.filter(
        campaign__journey=journey, status=OutboxItem.Status.SENT
    ).values_list("campaign__journey_step", "openids"):
        sent[at or 0] += len(openids)
    held: dict[int, int] = defaultdict(int)
    for at, reasons in PlanSnapshot.objects.filter(
        campaign__journey=journey, approved_at__isnull=False
    ).values_list("campaign__journey_step", "held_back"):
        held[at or 0] += sum(int(n) for n in (reasons or {}).values())
    steps = journey.definition.get("steps") or []
    return [
        {"step": i, "kind": "send" if _send_of(s) else "wait", "waiting": waiting[i], "sent": sent[i],
         "held_back": held[i]}
        for i, s in enumerate(steps)
    ]


def counts(journey: Journey) -> dict[str, int]:
    """Followers who entered, are inside, converted (left on an order) and left otherwise."""
    entries = JourneyEntry.objects.filter(journey=journey)
    return {
        "entered": entries.count(),
        "inside": entries.filter(left_at__isnull=True).count(),
        "converted": entries.filter(left_reason=LEFT.GOAL).count(),
        "unfollowed": entries.filter(left_reason=LEFT.UNFOLLOWED).count(),
        "finished": entries.filter(left_reason=LEFT.FINISHED).count(),
        "edited_out": entries.filter(left_reason=LEFT.EDITED).count(),
    }


def run_all(now: datetime | None = None) -> tuple[int, int]:
    """The periodic pass over every account with a running journey: entries, then due
    steps. Returns (followers entered, step campaigns approved)."""
    entered = approved = 0
    accounts = Account.objects.filter(journeys__status__in=(JS.LIVE, JS.PAUSED)).distinct()
    for account in accounts:
        try:
            entered += entry_pass(account, now).entered
            approved += len(send_due_steps(account, now).campaigns)
        except ValueError as exc:  # one account's refusal holds back no other: tried next pass
            log.warning("journeys of account %s stopped this pass: %s", account.pk, exc)
    return entered, approved
