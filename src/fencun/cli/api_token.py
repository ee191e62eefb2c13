"""``fencun api-token``: issue and revoke JSON API tokens."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from fencun.cli.lang import command_option
from fencun.datadir import setup_django
from fencun.language import gettext as _

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.

app = typer.Typer(help=_("API tokens for `Authorization: Bearer …`."), no_args_is_help=True)
ACCOUNT_HELP = _(
    "AppID of an account the token reaches; repeat for several (default: the only account)."
)


@app.command("create", help=_("Create a token and print it (shown once; only its hash is stored)."))
def create(
    name: str = typer.Option(..., "--name", help=_("What the token is for.")),
    account: list[str] = typer.Option([], "--account", help=ACCOUNT_HELP),  # noqa: B008
    scope: str = typer.Option("write", "--scope", help=_("read (GET only) or write.")),
    lang: str = command_option(),
) -> None:
    """Create a token and print it (shown once; only its hash is stored)."""
    setup_django()
    from django.utils import translation

    with translation.override(lang):
        typer.echo(_issue(name, account, scope))


def _issue(name: str, app_ids: list[str], scope: str) -> str:
    """The new token's plaintext; a bad option exits 2 with why, in the active language."""
    from fencun.accounts.current import default_account
    from fencun.accounts.models import Account
    from fencun.api.models import ApiToken

    if scope not in ApiToken.Scope.values:
        raise typer.BadParameter(_("the scope is read or write"), param_hint="--scope")
    if not name.strip():
        raise typer.BadParameter(_("a token needs a name"), param_hint="--name")
    if app_ids:
        accounts = list(Account.objects.filter(app_id__in=app_ids))
        unknown = sorted(set(app_ids) - {a.app_id for a in accounts})
        if unknown:
            raise typer.BadParameter(
                _("no account with AppID %(app_ids)s") % {"app_ids": ", ".join(unknown)},
                param_hint="--account",
            )
    else:
        default_account()  # creates the account the WECHAT_* variables describe, if any
        accounts = list(Account.objects.order_by("id")[:21])
        if not accounts:
            raise typer.BadParameter(
                _(
                    "there is no account yet: set WECHAT_APP_ID and the other WECHAT_* variables "
                    "(or add an account) first"
                ),
                param_hint="--account",
            )
        if len(accounts) > 1:
            raise typer.BadParameter(
                _("there are several accounts: choose with --account APPID (one of %(app_ids)s)")
                % {"app_ids": ", ".join(a.app_id for a in accounts[:20])},
                param_hint="--account",
            )
    _row, plaintext = ApiToken.issue(name, accounts, scope)
    return plaintext


@app.command("list", help=_("List tokens (never their values)."))
def list_tokens() -> None:
    """List tokens (never their values)."""
    setup_django()
    from fencun.api.models import ApiToken

    table = Table(
        _("name"),
        _("prefix"),
        _("accounts"),
        _("scope"),
        _("created"),
        _("last used"),
        _("revoked"),
    )
    for t in ApiToken.objects.prefetch_related("accounts").order_by("id"):
        table.add_row(
            t.name,
            t.prefix,
            ", ".join(a.app_id for a in t.accounts.all()),
            t.scope,
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "-",
            _("yes") if t.revoked else "",
        )
    Console().print(table)


@app.command("revoke", help=_("Revoke a token by its prefix."))
def revoke(prefix: str = typer.Argument(..., help=_("The token's prefix, from `list`."))) -> None:
    """Revoke a token by its prefix."""
    setup_django()
    from fencun.api.models import ApiToken

    if not ApiToken.revoke(prefix):
        typer.echo(_("no token with prefix %(prefix)s") % {"prefix": prefix}, err=True)
        raise typer.Exit(1)
    typer.echo(_("revoked %(prefix)s") % {"prefix": prefix})
