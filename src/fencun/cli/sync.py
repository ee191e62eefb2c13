"""``fencun sync``: bring every follower of the account in from WeChat (resumable)."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fencun.datadir import setup_django
from fencun.language import gettext as _

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.


HELP = _(
    "Sync the follower list, the followers' profiles and the tags; run again after an "
    "interruption and it continues from the last page done."
)


def sync(
    app_id: str | None = typer.Option(
        None,
        "--account",
        help=_("The Official Account's AppID (default: the environment or the default account)."),
    ),
    restart: bool = typer.Option(
        False,
        "--restart",
        help=_("Drop the progress of an unfinished sync and start from the first page."),
    ),
) -> None:
    """Sync the followers, their profiles and the tags; resumable."""
    setup_django()
    from fencun.accounts.current import default_account
    from fencun.accounts.models import Account
    from fencun.audience.sync import sync_followers
    from fencun.channels.services import wechat_client
    from fencun.channels.wechat.errors import ChannelError

    try:
        account = Account.objects.filter(app_id=app_id).first() if app_id else default_account()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if account is None:
        typer.echo(
            _(
                "no Official Account: set WECHAT_APP_ID and the other WECHAT_* variables, or give --account."
            ),
            err=True,
        )
        raise typer.Exit(2)
    try:
        client = wechat_client(account)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    with (
        client,
        Progress(
            TextColumn(_("Syncing followers")),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ) as bar,
    ):
        task = bar.add_task("sync", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            result = sync_followers(account, client, restart=restart, progress=progress)
        except ChannelError as exc:
            bar.stop()
            typer.echo(
                _("The sync stopped (its progress is saved: run it again to continue): %(reason)s")
                % {"reason": exc},
                err=True,
            )
            raise typer.Exit(1) from None
    done = _(
        "Done: %(followers)s followers, %(recorded)s new records, %(pages)s pages, %(tags)s tags"
    ) % {
        "followers": result.followers,
        "recorded": result.recorded,
        "pages": result.pages,
        "tags": len(result.tags),
    }
    typer.echo(done + (_(" (resumed)") if result.resumed else ""))
