"""``fencun import-orders FILE.csv``: import shop orders, all rows or none."""

from __future__ import annotations

from pathlib import Path

import typer

from fencun.cli.lang import command_option
from fencun.datadir import setup_django
from fencun.language import gettext as _

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.


HELP = _("Import orders from a CSV file; a bad row stores nothing and says which row and why.")
FILE_HELP = _("CSV: order_id, amount, ordered_at, openid|unionid[, product, coupon, scene]")


def _one_line(message: str) -> str:
    return message.replace("\r", "\\r").replace("\n", "\\n").replace("\x00", "\\x00")


def import_orders(
    file: Path | None = typer.Argument(None, help=FILE_HELP),  # noqa: B008
    account: str = typer.Option(
        "", "--account", help=_("AppID of the account (default: the default account).")
    ),
    webhook: bool = typer.Option(
        False, "--webhook", help=_("Print the orders webhook's path and signing secret.")
    ),
    lang: str = command_option(),
) -> None:
    """Import orders from a CSV file; a bad row stores nothing and says which row and why."""
    setup_django()
    from django.utils import translation

    with translation.override(lang):
        if webhook:
            _webhook()
            return
        if file is None:
            raise typer.BadParameter(_("give a CSV file (or --webhook)"), param_hint="FILE")
        _import(file, account)


def _webhook() -> None:
    """The orders webhook's address and how to sign a body, in the active language."""
    from fencun.insights import webhooks

    typer.echo(
        _("Orders webhook: POST /webhooks/orders/%(path)s") % {"path": webhooks.path_secret()}
    )
    typer.echo(
        _(
            "Sign each body: header %(header)s: sha256=<HMAC-SHA256 of the body, hex>, key %(secret)s"
        )
        % {"header": webhooks.HEADER, "secret": webhooks.secret().decode()}
    )


def _import(file: Path, account: str) -> None:
    """Read, validate and store ``file``'s orders in the active language; exit 1 or 2 on refusal."""
    from fencun import inputs
    from fencun.accounts.current import default_account
    from fencun.accounts.models import Account
    from fencun.insights import orders

    try:
        text = inputs.read_file(file).decode("utf-8")
    except inputs.FileTooLarge as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        typer.echo(
            _("cannot read %(file)s: %(reason)s") % {"file": file, "reason": exc.strerror}, err=True
        )
        raise typer.Exit(2) from None
    except UnicodeDecodeError:
        typer.echo(
            _("cannot read %(file)s: %(reason)s") % {"file": file, "reason": _("not UTF-8")},
            err=True,
        )
        raise typer.Exit(2) from None
    acct = Account.objects.filter(app_id=account).first() if account else default_account()
    if acct is None:
        typer.echo(_("no such account (give --account APPID)"), err=True)
        raise typer.Exit(2)
    try:
        results = orders.import_orders(acct, orders.read_csv(text))
    except orders.OrderError as exc:
        for row, message in exc.errors:
            # One line per bad row, whatever the row held (a newline, a NUL…).
            typer.echo(
                _("row %(row)d: %(message)s") % {"row": row, "message": _one_line(message)},
                err=True,
            )
        typer.echo(_("nothing imported"), err=True)
        raise typer.Exit(1) from None
    created = sum(r.created for r in results)
    attributed = sum(r.campaign is not None for r in results if r.created)
    typer.echo(
        _(
            "imported %(created)d orders (%(stored)d already stored), %(attributed)d attributed to a campaign"
        )
        % {"created": created, "stored": len(results) - created, "attributed": attributed}
    )
