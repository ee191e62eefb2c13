"""`fencun member`: console users' roles per account from the command line."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from typer.testing import CliRunner

from fencun.accounts.models import Membership
from fencun.accounts.roles import accounts_for, role_in
from fencun.cli.main import app


def member(*args: str):
    return CliRunner().invoke(app, ["member", *args])


def test_grant_change_and_revoke_a_role(transactional_db, make_account):
    ours = make_account(app_id="wx-ours-000000000001")
    theirs = make_account(app_id="wx-theirs-00000000001")
    result = member("grant", "li", "--account", ours.app_id, "--role", "analyst", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "changepassword li" in result.output  # a new user, without a password yet
    li = User.objects.get(username="li")
    assert not li.has_usable_password()
    assert role_in(li, ours) == "analyst" and list(accounts_for(li)) == [ours]
    assert member("grant", "li", "--account", ours.app_id, "--role", "operator").exit_code == 0
    assert role_in(li, ours) == "operator" and Membership.objects.count() == 1
    assert role_in(li, theirs) is None
    assert "li" in member("list").output
    assert member("revoke", "li", "--account", ours.app_id).exit_code == 0
    assert not accounts_for(li).exists()
    assert member("revoke", "li", "--account", ours.app_id).exit_code == 1


@pytest.mark.parametrize(("args", "words"), [
    (["--account", "wx-ours-000000000001", "--role", "admin"], "owner, operator or analyst"),
    (["--account", "wx-nobody", "--role", "owner"], "wx-nobody"),
])
def test_a_bad_role_or_account_is_refused_and_changes_nothing(transactional_db, make_account, args, words):
    make_account(app_id="wx-ours-000000000001")
    result = member("grant", "li", "--lang", "en", *args)
    assert result.exit_code == 2 and words in result.output
    assert not Membership.objects.exists() and not User.objects.exists()
