"""``fencun retention [--months N]``: how long an account keeps its followers' events
before they are made anonymous, and the pass that does it (also run every night)."""

from __future__ import annotations

import typer

from fencun.cli.import_cmd import _account
from fencun.cli.lang import command_option
from fencun.datadir import setup_django
from fencun.language import gettext as _

HELP = _("Show or set how many months events are kept before they are made anonymous, and apply it now.")
MAX_MONTHS = 600


def retention(
    months: int | None = typer.Option(
        None, "--months", min=0, max=MAX_MONTHS,
        help=_("Keep events this many months (0: keep them all)."),
    ),
    account: str = typer.Option("", "--account", help=_("AppID of the account (default: the default account).")),
    lang: str = command_option(),
) -> None:
    """Show or set the account's retention, and anonymise what is past it now."""
    setup_django()
    from django.utils import translation

    from fencun.accounts import audit
    from fencun.audience.retention import anonymise_old_events

    with translation.override(lang):
        acct = _account(account)
        if months is not None:
            acct.retention_months = months or None
            acct.save(update_fields=["retention_months"])
            with audit.acting_as("cli"):
                audit.record(acct, "retention.changed", acct, months=acct.retention_months)
        if not acct.retention_months:
            typer.echo(_("Events are kept with no time limit."))
            return
        changed = anonymise_old_events(acct)
        typer.echo(
            _("Events older than %(months)s months are made anonymous; %(count)s made anonymous now.")
            % {"months": acct.retention_months, "count": f"{changed:,}"}
        )
