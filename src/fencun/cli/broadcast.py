"""``fencun broadcast ...``: public posts on the broadcast channels (Weibo, WeCom customer Moments)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from fencun import language
from fencun.datadir import setup_django
from fencun.language import gettext as _

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.

if TYPE_CHECKING:
    from fencun.channels.broadcast.client import WeiboClient
    from fencun.channels.broadcast.services import Outcome
    from fencun.channels.wecom.client import WeComClient
    from fencun.content import Finding

app = typer.Typer(
    help=_(
        "Public posts (Weibo, WeCom customer Moments): scheduling, caps, checks and tracked links."
    ),
    no_args_is_help=True,
)
console = Console()
CHANNEL_HELP = _("weibo (Weibo) or wecom_moments (WeCom customer Moments).")
PORT_HELP = _("Port to listen on (0: any free port).")
HOST_HELP = _("Address to listen on.")


def _parse_time(value: str) -> datetime:
    from fencun.engine.clock import SHANGHAI

    try:
        at = datetime.fromisoformat(value.strip().replace("T", " "))
    except ValueError:
        raise typer.BadParameter(
            _("the time is written 2026-11-26 10:00 (Beijing time)"), param_hint="--at"
        ) from None
    return at.replace(tzinfo=SHANGHAI) if at.tzinfo is None else at


def _client(channel: str = "weibo", account=None) -> WeiboClient | WeComClient:
    """The client of ``channel``: the configured Weibo account, or the account's WeCom corp."""
    from fencun.channels.broadcast.services import MOMENTS, weibo_client

    try:
        if channel == MOMENTS:
            from fencun.channels.wecom.ledger import wecom_client
            from fencun.channels.wecom.people import campaign_corp

            corp = campaign_corp(account) if account is not None else None
            if corp is None:
                raise ValueError(
                    _("posting to customer Moments needs WeCom set up first (fencun wecom sync)")
                )
            return wecom_client(corp)
        return weibo_client()
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _said(finding: Finding) -> tuple[str, str]:
    """A finding's message and fix in the active language."""
    if language.active() == "en":
        return finding.message_en, finding.fix_en
    return finding.message_zh, finding.fix_zh


def _show(outcomes: list[Outcome]) -> None:
    table = Table(_("No."), _("Status"), _("Platform ID"), _("Note"))
    for outcome in outcomes:
        post = outcome.post
        note = str(outcome.error) if outcome.error is not None else post.reason
        table.add_row(str(post.pk), post.get_status_display(), post.remote_id or "—", note or "")
    console.print(table)


@app.command(
    "post",
    help=_(
        "Write a public post: the content and cap checks first, then schedule it or post it now."
    ),
)
def post(
    text: str = typer.Argument(
        ..., help=_("The text (at most 140 characters, tracked link included).")
    ),
    at: str | None = typer.Option(
        None,
        "--at",
        help=_("When to post, e.g. 2026-11-26 10:00 (Beijing time); now if not given."),
    ),
    link: str = typer.Option(
        "", "--link", help=_("A link added after the text (replaced by a tracked link).")
    ),
    acknowledge: bool = typer.Option(
        False, "--ack", help=_("Acknowledge the checks' warnings and post anyway.")
    ),
    channel: str = typer.Option("weibo", "--channel", help=CHANNEL_HELP),
) -> None:
    """Write a public post: the content and cap checks first, then schedule it or post it now."""
    when = _parse_time(at) if at else None
    setup_django()
    from fencun import clock
    from fencun.accounts.current import default_account
    from fencun.channels.broadcast.services import (
        LintBlocked,
        WarningsNotAcknowledged,
        create_post,
        post_due,
    )
    from fencun.channels.wechat.errors import ChannelError

    account = default_account()
    if account is None:
        typer.echo(
            _("no merchant account: set WECHAT_APP_ID and the other WECHAT_* variables first."),
            err=True,
        )
        raise typer.Exit(2)
    client = None if when else _client(channel, account)
    try:
        created = create_post(
            account,
            text,
            link_target=link,
            scheduled_for=when or clock.now(),
            acknowledge_warnings=acknowledge,
            channel=channel,
        )
    except LintBlocked as exc:
        typer.echo(_("The content check failed; the post cannot go out:"), err=True)
        for finding in exc.findings:
            message, fix = _said(finding)
            typer.echo(
                "  ✗ "
                + (
                    _("%(message)s (%(fix)s)") % {"message": message, "fix": fix}
                    if fix
                    else message
                ),
                err=True,
            )
        raise typer.Exit(1) from None
    except WarningsNotAcknowledged as exc:
        typer.echo(_("The content check has warnings:"), err=True)
        for finding in exc.findings:
            typer.echo(f"  ! {_said(finding)[0]}", err=True)
        typer.echo(_("Once they are checked, run again with --ack."), err=True)
        raise typer.Exit(1) from None
    except ChannelError as exc:  # a cap or Weibo's length limit
        typer.echo(_("Over a cap, not saved: %(reason)s") % {"reason": exc}, err=True)
        raise typer.Exit(1) from None
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if when:
        typer.echo(
            _("Scheduled: post %(id)s, %(when)s. Run fencun broadcast run then to post it.")
            % {"id": created.pk, "when": f"{when:%Y-%m-%d %H:%M}"}
        )
        return
    assert client is not None
    with client:
        try:
            outcomes = post_due(client)
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
    _show(outcomes)
    created.refresh_from_db()
    if created.status != created.Status.POSTED:
        raise typer.Exit(1)


@app.command(
    "run",
    help=_(
        "Post every scheduled post that is due; each goes out once, and one whose outcome "
        "is unknown is not sent again."
    ),
)
def run(channel: str = typer.Option("weibo", "--channel", help=CHANNEL_HELP)) -> None:
    """Post every scheduled post that is due, each once."""
    setup_django()
    from fencun.accounts.current import default_account
    from fencun.channels.broadcast.services import post_due

    with _client(channel, default_account()) as client:
        try:
            outcomes = post_due(client)
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
    if not outcomes:
        typer.echo(_("No post is due."))
        return
    _show(outcomes)
    if any(o.error is not None for o in outcomes):
        raise typer.Exit(1)


@app.command(
    "sandbox",
    help=_("Start the local Weibo sandbox (statuses/share): no real Weibo account needed."),
)
def sandbox(
    port: int = typer.Option(8902, "--port", help=PORT_HELP),
    host: str = typer.Option("127.0.0.1", "--host", help=HOST_HELP),
) -> None:
    """Start the local Weibo sandbox."""
    from fencun.cli.serving import serve_until_stopped
    from fencun.sandbox.weibo import WeiboSandbox

    try:
        box = WeiboSandbox(host=host, port=port)
    except OSError as exc:
        typer.echo(
            _("cannot listen on %(address)s: %(reason)s")
            % {"address": f"{host}:{port}", "reason": exc.strerror},
            err=True,
        )
        raise typer.Exit(1) from None
    box.start()
    config = box.config
    typer.echo(
        _("The Weibo sandbox is running: %(base)s") % {"base": box.api_base}
        + "\n  "
        + _("set WEIBO_API_BASE=%(base)s WEIBO_ACCESS_TOKEN=%(token)s")
        % {"base": box.api_base, "token": config.access_token}
        + "\n  "
        + _("safe domain %(domain)s (FENCUN_PUBLIC_URL must be under it)")
        % {"domain": config.safe_domain}
        + "\n  "
        + _("admin endpoint %(url)s") % {"url": f"{box.api_base}/sandbox/weibo/state"}
        + "\n"
        + _("Press Ctrl+C to stop.")
    )
    serve_until_stopped(box)
