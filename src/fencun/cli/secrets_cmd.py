"""``fencun secrets``: the secrets sealed at rest (AppSecrets, tokens, AES keys)."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.table import Table

from fencun.cli.lang import command_option
from fencun.datadir import setup_django
from fencun.language import gettext as _

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.

app = typer.Typer(help=_("Secrets sealed in the database."), no_args_is_help=True)


def _read_old_key(prompt: str) -> str:
    """One old key, never echoed: typed at a terminal, or the first line of stdin."""
    if sys.stdin.isatty():
        return typer.prompt(prompt, hide_input=True, err=True).strip()
    return sys.stdin.readline().strip()


@app.command(
    "rotate",
    help=_(
        "Re-seal every secret under the current FENCUN_SECRET_KEY (old keys from "
        "FENCUN_SECRET_KEY_FALLBACKS or --old-key); if any does not open, nothing changes."
    ),
)
def rotate(
    old_key: bool = typer.Option(
        False,
        "--old-key",
        help=_(
            "Ask for the previous FENCUN_SECRET_KEY (not echoed; the first line of stdin when "
            "not a terminal)."
        ),
    ),
    lang: str = command_option(),
) -> None:
    """Re-seal every secret under the current FENCUN_SECRET_KEY; all or nothing."""
    setup_django()
    from django.utils import translation

    from fencun.accounts import rekey

    out, err = Console(), Console(stderr=True)
    with translation.override(lang):
        old_keys = []
        if old_key:
            given = _read_old_key(_("old FENCUN_SECRET_KEY (not shown)"))
            if not given:
                err.print(_("no old key given"), style="red", markup=False)
                raise typer.Exit(2)
            old_keys.append(given)
        try:
            report = rekey.rotate(old_keys)
        except rekey.RotationRefused as exc:
            err.print(str(exc), style="red", markup=False, highlight=False)
            raise typer.Exit(1) from None
        table = Table(
            _("stored secret"),
            _("re-sealed"),
            _("sealed (was plain text)"),
            _("already current"),
            _("cleared (fetched again)"),
        )
        for field in report.fields:
            table.add_row(
                field.label,
                str(field.resealed),
                str(field.sealed_plain),
                str(field.current),
                str(field.cleared),
            )
        out.print(table)
        if report.changed:
            out.print(
                _(
                    "%(count)d secrets now sealed under the current FENCUN_SECRET_KEY. Restart "
                    "every fencun process with it, then remove the old key from "
                    "FENCUN_SECRET_KEY_FALLBACKS."
                )
                % {"count": report.changed},
                markup=False,
                highlight=False,
            )
        else:
            out.print(
                _("every secret was already sealed under the current FENCUN_SECRET_KEY"),
                markup=False,
                highlight=False,
            )
