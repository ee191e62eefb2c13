"""``fencun member``: who may use the console for which account, and with which role."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from fencun.cli.lang import command_option
from fencun.datadir import setup_django
from fencun.language import gettext as _

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.

app = typer.Typer(
    help=_(
        "Console users' roles per account: owner, operator (campaigns and content), "
        "analyst (read only)."
    ),
    no_args_is_help=True,
)
ACCOUNT_HELP = _("AppID of the account.")


def _account(app_id: str):
    from fencun.accounts.models import Account

    account = Account.objects.filter(app_id=app_id).first()
    if account is None:
        raise typer.BadParameter(
            _("no account with AppID %(app_ids)s") % {"app_ids": app_id}, param_hint="--account"
        )
    return account


@app.command(
    "grant", help=_("Give USERNAME a role in an account (replacing the role they had there).")
)
def grant(
    username: str = typer.Argument(
        ..., help=_("The console user (created without a password if new).")
    ),
    account: str = typer.Option(..., "--account", help=ACCOUNT_HELP),
    role: str = typer.Option(..., "--role", help=_("owner, operator or analyst.")),
    lang: str = command_option(),
) -> None:
    """Give USERNAME a role in an account (replacing the role they had there)."""
    setup_django()
    from django.contrib.auth import get_user_model
    from django.utils import translation

    from fencun.accounts import roles
    from fencun.accounts.models import Membership

    with translation.override(lang):
        if role not in Membership.Role.values:
            raise typer.BadParameter(
                _("the role is owner, operator or analyst"), param_hint="--role"
            )
        if not username.strip() or len(username) > 150:
            raise typer.BadParameter(_("a username is 1 to 150 characters"), param_hint="USERNAME")
        acct = _account(account)
        user, created = get_user_model().objects.get_or_create(username=username.strip())
        if created:
            user.set_unusable_password()
            user.save()
        roles.grant(user, acct, role)
        typer.echo(
            _("%(username)s is now %(role)s of %(account)s.")
            % {"username": user.get_username(), "role": role, "account": acct.app_id}
        )
        if not user.has_usable_password():
            typer.echo(
                _("Set their password with: python -m fencun.manage changepassword %(username)s")
                % {"username": user.get_username()}
            )


@app.command("revoke", help=_("Take USERNAME's role in an account away: they no longer see it."))
def revoke(
    username: str = typer.Argument(..., help=_("The console user.")),
    account: str = typer.Option(..., "--account", help=ACCOUNT_HELP),
    lang: str = command_option(),
) -> None:
    """Take USERNAME's role in an account away: they no longer see it."""
    setup_django()
    from django.utils import translation

    from fencun.accounts.models import Membership

    with translation.override(lang):
        acct = _account(account)
        if not Membership.objects.filter(account=acct, user__username=username).delete()[0]:
            typer.echo(
                _("%(username)s has no role in %(account)s")
                % {"username": username, "account": acct.app_id},
                err=True,
            )
            raise typer.Exit(1)
        typer.echo(
            _("%(username)s no longer sees %(account)s.")
            % {"username": username, "account": acct.app_id}
        )


@app.command(
    "list", help=_("Every member of every account, with their role (superusers own every account).")
)
def list_members() -> None:
    """Every member of every account, with their role (superusers own every account)."""
    setup_django()
    from fencun.accounts.models import Membership

    table = Table(_("account"), _("username"), _("role"))
    for m in Membership.objects.select_related("account", "user").order_by(
        "account__app_id", "user__username"
    ):
        table.add_row(m.account.app_id, m.user.get_username(), m.role)
    Console().print(table)
