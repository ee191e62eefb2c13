"""``fencun campaign``: list, dry-run, approve, resume, and the delivery loop by hand."""

from __future__ import annotations

import json
import time

import typer

from fencun.cli.lang import command_option
from fencun.datadir import setup_django
from fencun.language import gettext as _
from fencun.language import ngettext

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.

app = typer.Typer(help=_("Campaigns: list, dry run, approve, resume, send."), no_args_is_help=True)


def _campaign(campaign_id: int):
    from fencun.campaigns.models import Campaign

    campaign = Campaign.objects.select_related("account", "category").filter(pk=campaign_id).first()
    if campaign is None:
        typer.echo(_("no campaign %(id)s") % {"id": campaign_id}, err=True)
        raise typer.Exit(2)
    return campaign


@app.command("list", help=_("List every campaign with its status and how far its sending got."))
def list_campaigns() -> None:
    """List every campaign with its status and sending progress."""
    setup_django()
    from fencun.campaigns.models import Campaign
    from fencun.campaigns.services import delivery_counts

    campaigns = Campaign.objects.order_by("-created_at")
    if not campaigns.exists():
        # On stderr: stdout stays one line per campaign, for scripts.
        typer.echo(_("No campaign yet."), err=True)
        return
    for c in campaigns:
        counts = delivery_counts(c)
        line = f"{c.pk}\t{c.status}\t{c.name}\tsent={counts['recipients_sent']}"
        # Recipients the platform may or may not have reached (never sent again).
        if counts["recipients_unknown"]:
            line += f"\tunknown={counts['recipients_unknown']}"
        if c.pause_reason:
            line += f"\t{c.pause_reason}"
        typer.echo(line)


@app.command(
    "plan",
    help=_(
        "Dry run: reach, followers held back by reason, predicted orders, revenue and "
        "unfollows (against sending to all)."
    ),
)
def plan(
    campaign_id: int = typer.Argument(..., help=_("The campaign's number, from `list`.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print one JSON object on one line.")),
) -> None:
    """Dry run a campaign and print its figures as JSON."""
    setup_django()
    from fencun.campaigns.planning import dry_run
    from fencun.campaigns.services import CampaignError

    try:
        snap = dry_run(_campaign(campaign_id))
    except CampaignError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    out = {
        "reach": snap.reach,
        "held_back": snap.held_back,
        "predicted": snap.predicted,
        "send_to_all": snap.send_to_all,
        "dial_effect": snap.dial_effect,
    }
    typer.echo(json.dumps(out, ensure_ascii=False, indent=None if as_json else 2))


@app.command(
    "report",
    help=_(
        "A campaign's results: sent, read, orders, revenue, unfollows, and in words what the "
        "push earned beyond its holdout, the followers it cost and what holding back saved."
    ),
)
def report(
    campaign_id: int = typer.Argument(..., help=_("The campaign's number, from `list`.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print one JSON object on one line.")),
) -> None:
    """The campaign's report, as the console's report page shows it."""
    setup_django()
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from fencun.figures import count, yuan
    from fencun.insights.report_words import report_words
    from fencun.insights.services import campaign_report

    campaign = _campaign(campaign_id)
    r = campaign_report(campaign)
    words = report_words(r)
    if as_json:
        typer.echo(json.dumps({**r.as_dict(), "words": words}, ensure_ascii=False, default=str))
        return
    table = Table(title=escape(campaign.name))
    table.add_column("")
    table.add_column("", justify="right")
    for label, value in (
        (_("Sent"), count(r.sent)),
        (_("Read"), count(r.read)),
        (_("Clicked"), count(r.clicked)),
        (_("Ordered"), count(r.ordered)),
        (_("Revenue"), yuan(r.revenue)),
        (_("Unfollowed within the window"), count(r.unfollowed)),
        (_("Holdout"), count(r.holdout)),
    ):
        table.add_row(label, value)
    console = Console()
    console.print(table)
    for key in ("headline", "earned", "cost", "no_holdout", "restraint"):
        if key in words:
            console.print(escape(words[key]))


@app.command(
    "approve", help=_("Approve the latest dry run and write it to the outbox (in one transaction).")
)
def approve(
    campaign_id: int = typer.Argument(..., help=_("The campaign's number, from `list`.")),
    by: str = typer.Option(..., "--by", help=_("Who approves.")),
    now: bool = typer.Option(False, "--now", help=_("Schedule the sending for now once approved.")),
) -> None:
    """Approve the latest dry run: its outbox rows are written in the same transaction."""
    setup_django()
    from django.utils import timezone

    from fencun.campaigns.planning import approve as approve_campaign
    from fencun.campaigns.services import CampaignError

    try:
        rows = approve_campaign(
            _campaign(campaign_id), by=by, scheduled_for=timezone.now() if now else None
        )
    except CampaignError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(
        ngettext("Approved: %(rows)d outbox row", "Approved: %(rows)d outbox rows", rows)
        % {"rows": rows}
    )


@app.command("resume", help=_("Resume a paused campaign: only what was not sent yet is sent."))
def resume(
    campaign_id: int = typer.Argument(..., help=_("The campaign's number, from `list`.")),
) -> None:
    """Resume a paused campaign; only what was not sent yet is sent."""
    setup_django()
    from fencun.campaigns.services import CampaignError
    from fencun.campaigns.services import resume as resume_campaign

    try:
        resume_campaign(_campaign(campaign_id))
    except CampaignError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(_("Resumed"))


ROLES = ("both", "scheduler", "sender")


@app.command(
    "work",
    help=_(
        "Run the scheduler and/or the sending loop in this process; several machines may run "
        "it at once (the outbox never sends twice)."
    ),
)
def work(
    until_idle: bool = typer.Option(
        False,
        "--until-idle",
        help=_(
            "Exit when no sending work is due (after waiting for other processes' leases to end)."
        ),
    ),
    role: str = typer.Option(
        "both",
        "--role",
        help=_(
            "both: schedule and send; scheduler: schedule only and wake the queue's workers; sender: send only."
        ),
    ),
    poll: float = typer.Option(1.0, "--poll", help=_("Polling interval when idle (seconds).")),
    lang: str = command_option(),
) -> None:
    """Run the scheduler and/or the sending loop in this process."""
    if role not in ROLES:
        raise typer.BadParameter(
            _("one of %(choices)s") % {"choices": ", ".join(ROLES)}, param_hint="--role"
        )
    setup_django()
    from django.utils import translation

    with translation.override(lang):
        _work(until_idle, role, poll)


def _work(until_idle: bool, role: str, poll: float) -> None:
    from fencun.campaigns import delivery
    from fencun.campaigns.tasks import wake_workers

    owner = delivery.worker_id()
    told = delivery.LeaseWait()
    while True:
        busy = False
        if role in ("both", "scheduler"):
            delivery.run_scheduler(owner)
            if role == "scheduler" and delivery.has_work():
                wake_workers()
        if role in ("both", "sender"):
            result = delivery.work(owner)
            busy = bool(result.sent or result.failed or result.unknown or result.retried)
        if until_idle and not busy:
            # A sender alone cannot start a due campaign: it waits only for rows.
            if not (delivery.has_work() if role == "sender" else delivery.has_due_work()):
                break
            # Due work under another process's lease: that process may have been killed,
            # so wait for the lease to end (at most its length) and take the work.
            delivery.reclaim_expired()
            wait = delivery.lease_wait(owner)
            if wait and wait != told:
                typer.echo(_lease_wait_line(wait), err=True)
            told = wait
        if not busy:
            time.sleep(poll)


def _lease_wait_line(wait) -> str:
    """One line saying which leases the loop waits for, in the active language."""
    from django.utils import timezone

    parts = []
    if wait.rows:
        parts.append(
            _("%(rows)d outbox rows leased by another worker, free by %(time)s")
            % {"rows": wait.rows, "time": f"{timezone.localtime(wait.rows_free_at):%H:%M:%S}"}
        )
    if wait.scheduler_free_at:
        parts.append(
            _("%(campaigns)d due campaigns, the scheduler lease held elsewhere until %(time)s")
            % {
                "campaigns": wait.campaigns,
                "time": f"{timezone.localtime(wait.scheduler_free_at):%H:%M:%S}",
            }
        )
    return _("waiting for leases to end: %(what)s") % {"what": "; ".join(parts)}
