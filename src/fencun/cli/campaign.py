"""``fencun campaign``: list, dry-run, approve, resume, and the delivery loop by hand."""

from __future__ import annotations

import json
import time

import typer

from fencun.datadir import setup_django

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.

app = typer.Typer(help="营销活动：列表、预演、批准、恢复、发送。", no_args_is_help=True)


def _campaign(campaign_id: int):
    from fencun.campaigns.models import Campaign

    campaign = Campaign.objects.select_related("account", "category").filter(pk=campaign_id).first()
    if campaign is None:
        typer.echo(f"找不到活动 {campaign_id}", err=True)
        raise typer.Exit(2)
    return campaign


@app.command("list")
def list_campaigns() -> None:
    """列出所有活动及其状态与发送进度。"""
    setup_django()
    from fencun.campaigns.models import Campaign
    from fencun.campaigns.services import delivery_counts

    for c in Campaign.objects.order_by("-created_at"):
        counts = delivery_counts(c)
        line = f"{c.pk}\t{c.status}\t{c.name}\tsent={counts['recipients_sent']}"
        # Recipients the platform may or may not have reached (never sent again).
        if counts["recipients_unknown"]:
            line += f"\tunknown={counts['recipients_unknown']}"
        if c.pause_reason:
            line += f"\t{c.pause_reason}"
        typer.echo(line)


@app.command("plan")
def plan(campaign_id: int, as_json: bool = typer.Option(False, "--json")) -> None:
    """预演：触达、按原因的保留人数、预测订单/收入/取关（对比全部发送）。"""
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


@app.command("approve")
def approve(
    campaign_id: int,
    by: str = typer.Option(..., "--by", help="批准人"),
    now: bool = typer.Option(False, "--now", help="批准后立即排期发送"),
) -> None:
    """批准最近一次预演，写入发件箱（同一事务）。"""
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
    typer.echo(f"已批准：{rows} 条发件记录")


@app.command("resume")
def resume(campaign_id: int) -> None:
    """恢复已暂停的活动：只发送尚未发送的部分。"""
    setup_django()
    from fencun.campaigns.services import CampaignError
    from fencun.campaigns.services import resume as resume_campaign

    try:
        resume_campaign(_campaign(campaign_id))
    except CampaignError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo("已恢复")


ROLES = ("both", "scheduler", "sender")


@app.command("work")
def work(
    until_idle: bool = typer.Option(False, "--until-idle", help="无到期的发送工作时退出（先等其他进程的租约到期）"),
    role: str = typer.Option(
        "both", "--role", help="both：排期并发送；scheduler：只排期并唤醒队列中的 worker；sender：只发送"
    ),
    poll: float = typer.Option(1.0, "--poll", help="空闲时的轮询间隔（秒）"),
    lang: str = typer.Option("zh-hans", "--lang", help="界面语言 / console language: zh-hans | en"),
) -> None:
    """在本进程中运行排期器和/或发送循环；可在多台机器上同时运行（发件箱保证不重发）。"""
    if role not in ROLES:
        raise typer.BadParameter(f"--role: one of {', '.join(ROLES)}")
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
    from django.utils.translation import gettext as _

    parts = []
    if wait.rows:
        parts.append(
            _("%(rows)d outbox rows leased by another worker, free by %(time)s")
            % {"rows": wait.rows, "time": f"{timezone.localtime(wait.rows_free_at):%H:%M:%S}"}
        )
    if wait.scheduler_free_at:
        parts.append(
            _("%(campaigns)d due campaigns, the scheduler lease held elsewhere until %(time)s")
            % {"campaigns": wait.campaigns, "time": f"{timezone.localtime(wait.scheduler_free_at):%H:%M:%S}"}
        )
    return _("waiting for leases to end: %(what)s") % {"what": "; ".join(parts)}
