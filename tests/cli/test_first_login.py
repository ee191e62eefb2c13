"""The first `fencun serve` on a data dir where nobody can log in: the owner chooses the
administrator's password (at a prompt, or FENCUN_ADMIN_PASSWORD); never a default one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import typer
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from fencun.cli.serve import NoPassword, first_login, has_login


def _serve(tmp_path, lang: str = "zh-hans", **extra: str) -> subprocess.CompletedProcess[str]:
    """``fencun serve`` without a terminal; it must stop before listening (port 1)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FENCUN_ADMIN_PASSWORD")}
    env.update(FENCUN_DATA_DIR=str(tmp_path), **extra)
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "fencun.cli.main", "serve", "--port", "1", "--workers", "1", "--lang", lang],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.slow(seconds=5)
@pytest.mark.parametrize(("lang", "words"), [
    ("zh-hans", "不会使用默认密码"),
    ("en", "will not run with a default password"),
])
def test_serve_refuses_to_start_without_a_password_when_nobody_can_log_in(tmp_path, lang, words):
    result = _serve(tmp_path, lang=lang)
    assert result.returncode == 2, result.stdout + result.stderr
    assert words in result.stderr and "FENCUN_ADMIN_PASSWORD" in result.stderr
    assert "serving" not in result.stdout


@pytest.mark.slow(seconds=5)
def test_serve_refuses_a_weak_password(tmp_path):
    result = _serve(tmp_path, FENCUN_ADMIN_PASSWORD="12345678")
    assert result.returncode == 2
    assert "FENCUN_ADMIN_PASSWORD" in result.stderr and "12345678" not in result.stdout


@pytest.mark.django_db
def test_the_password_given_makes_the_administrator_who_owns_every_account(make_account):
    from fencun.accounts.roles import role_in

    account = make_account()
    assert not has_login()
    assert first_login("a-long-password-1", interactive=False) == "admin"
    admin = User.objects.get(username="admin")
    assert admin.check_password("a-long-password-1") and admin.is_superuser
    assert role_in(admin, account) == "owner"
    # Once someone can log in, the variable changes nothing.
    assert first_login("another-long-password-2", interactive=False) is None
    admin.refresh_from_db()
    assert admin.check_password("a-long-password-1")


@pytest.mark.django_db
def test_no_password_and_no_terminal_is_refused_and_creates_nobody():
    with pytest.raises(NoPassword):
        first_login(None, interactive=False)
    with pytest.raises(ValidationError):
        first_login("short", interactive=False)
    assert not User.objects.exists()


@pytest.mark.django_db
def test_a_superuser_without_a_usable_password_gets_the_chosen_one():
    User.objects.create_superuser("boss", "", None)  # e.g. createsuperuser --noinput
    assert not has_login()
    assert first_login("a-long-password-1", interactive=False) == "boss"
    assert User.objects.get().check_password("a-long-password-1")


@pytest.mark.django_db
def test_at_a_terminal_the_owner_is_asked_until_the_password_is_good(monkeypatch):
    answers = iter(["password", "a-long-password-1"])  # the first is too common
    asked = []

    def prompt(text, **kwargs):
        asked.append(kwargs)
        return next(answers)

    monkeypatch.setattr(typer, "prompt", prompt)
    assert first_login(None, interactive=True) == "admin"
    assert len(asked) == 2 and all(k["hide_input"] and k["confirmation_prompt"] for k in asked)
    assert User.objects.get(username="admin").check_password("a-long-password-1")
