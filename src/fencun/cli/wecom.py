"""``fencun wecom ...``: the WeCom customer-contact channel from the command line."""

from __future__ import annotations

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from fencun.datadir import setup_django
from fencun.language import gettext as _

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.

app = typer.Typer(help=_("WeCom customer contact."), no_args_is_help=True)


@app.command(
    "sync",
    help=_(
        "Sync the WeCom customers, the members following them up and the corp's tags; run "
        "again after an interruption and it continues from the last page done."
    ),
)
def sync(
    corp_id: str | None = typer.Option(
        None, "--corp", help=_("The corp's CorpID (default: the environment or the only corp).")
    ),
    restart: bool = typer.Option(
        False, "--restart", help=_("Drop the progress of an unfinished sync and start again.")
    ),
) -> None:
    """Sync the WeCom customers, their members and the corp's tags; resumable."""
    setup_django()
    from fencun.audience.wecom_sync import sync_contacts
    from fencun.channels.models import WecomCorp
    from fencun.channels.wechat.errors import ChannelError
    from fencun.channels.wecom.corps import default_corp
    from fencun.channels.wecom.ledger import wecom_client

    try:
        corp = WecomCorp.objects.filter(corp_id=corp_id).first() if corp_id else default_corp()
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if corp is None:
        typer.echo(
            _("no WeCom corp: set WECOM_CORP_ID and the other WECOM_* variables, or give --corp."),
            err=True,
        )
        raise typer.Exit(2)
    try:
        client = wecom_client(corp)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    with (
        client,
        Progress(
            SpinnerColumn(),
            TextColumn(_("Syncing WeCom customers")),
            TextColumn(_("%(count)s relations") % {"count": "{task.completed}"}),
            TimeElapsedColumn(),
        ) as bar,
    ):
        task = bar.add_task("sync", total=None)

        def progress(done: int) -> None:
            bar.update(task, completed=done)

        try:
            result = sync_contacts(corp, client, restart=restart, progress=progress)
        except ChannelError as exc:
            bar.stop()
            typer.echo(
                _("The sync stopped (its progress is saved: run it again to continue): %(reason)s")
                % {"reason": exc},
                err=True,
            )
            raise typer.Exit(1) from None
    done = _(
        "Done: %(contacts)s customers (%(relations)s follow-up relations), %(recorded)s new "
        "records, %(pages)s pages, %(tags)s corp tags"
    ) % {
        "contacts": result.contacts,
        "relations": result.relations,
        "recorded": result.recorded,
        "pages": result.pages,
        "tags": result.tags,
    }
    typer.echo(done + (_(" (resumed)") if result.resumed else ""))


@app.command(
    "sandbox",
    help=_(
        "Start the local WeCom sandbox (the customer contact API and callbacks): no real WeCom needed."
    ),
)
def sandbox(
    port: int = typer.Option(8901, "--port", help=_("Port to listen on (0: any free port).")),
    host: str = typer.Option("127.0.0.1", "--host", help=_("Address to listen on.")),
    callback: str | None = typer.Option(
        None,
        "--callback",
        help=_("The product's callback URL, e.g. http://127.0.0.1:8000/wecom/callback."),
    ),
    contacts: int = typer.Option(30, "--contacts", help=_("Customers generated.")),
    seed: int = typer.Option(1, "--seed", help=_("Random seed.")),
) -> None:
    """Start the local WeCom sandbox."""
    from fencun.cli.serving import serve_until_stopped
    from fencun.sandbox.wecom import WeComConfig, WeComSandbox

    if callback and not callback.startswith(("http://", "https://")):
        raise typer.BadParameter(
            _("the callback URL starts with http:// or https://"), param_hint="--callback"
        )
    config = WeComConfig(callback_url=callback, contacts=contacts, seed=seed)
    try:
        box = WeComSandbox(config, host=host, port=port)
    except OSError as exc:
        typer.echo(
            _("cannot listen on %(address)s: %(reason)s")
            % {"address": f"{host}:{port}", "reason": exc.strerror},
            err=True,
        )
        raise typer.Exit(1) from None
    box.start()
    typer.echo(
        _("The WeCom sandbox is running: %(base)s  (set WECOM_API_BASE=%(base)s)")
        % {"base": box.api_base}
        + "\n  "
        + _("CorpID %(corp_id)s  customers %(contacts)s  members %(members)s")
        % {"corp_id": config.corp_id, "contacts": contacts, "members": ", ".join(config.members)}
        + "\n  "
        + _("callback %(url)s") % {"url": callback or _("(not set)")}
        + "\n  "
        + _("admin endpoints %(urls)s")
        % {
            "urls": f"{box.api_base}/sandbox/wecom/state, /sandbox/wecom/confirm, /sandbox/wecom/contacts"
        }
        + "\n"
        + _("Press Ctrl+C to stop.")
    )
    serve_until_stopped(box)
