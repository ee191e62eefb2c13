"""``fencun secrets rotate`` as an operator runs it: a real process on its own SQLite data
directory, keys from the environment or typed in, never printed."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

APP_ID = "wx00000000000000d1"
APP_SECRET = "0123456789abcdef0123456789abcdef"
TOKEN = "rotate-token-kept-secret"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OLD_KEY, NEW_KEY = "old-key-" + "o" * 40, "new-key-" + "n" * 40


def fencun(data_dir: Path, *args: str, key: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "FENCUN_", "WECHAT_"))}
    base |= {"FENCUN_DATA_DIR": str(data_dir), "FENCUN_SECRET_KEY": key, "COLUMNS": "160", **env}
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "fencun.cli.main", *args],
        env=base, cwd=data_dir, input=stdin, capture_output=True, text=True, timeout=120, check=False,
        start_new_session=True,  # no controlling terminal: an old key is read from stdin
    )


def raw_secrets(data_dir: Path) -> list[str]:
    with sqlite3.connect(data_dir / "fencun.sqlite3") as db:
        return list(db.execute("SELECT app_secret, token, aes_key FROM channels_account").fetchone())


def opens(data_dir: Path, key: str) -> bool:
    """Whether the account's AppSecret opens under ``key`` alone, in a process of its own."""
    code = (
        "from fencun.datadir import setup_django; setup_django();"
        "from fencun.channels.models import Account;"
        f"print(Account.objects.get().app_secret == {APP_SECRET!r})"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "FENCUN_", "WECHAT_"))}
    base |= {"FENCUN_DATA_DIR": str(data_dir), "FENCUN_SECRET_KEY": key}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], env=base, capture_output=True, text=True, timeout=120, check=False
    )
    return result.returncode == 0 and result.stdout.strip() == "True"


def no_key_shown(result: subprocess.CompletedProcess[str]) -> None:
    text = result.stdout + result.stderr
    assert "Traceback" not in text, text
    for secret in (OLD_KEY, NEW_KEY, APP_SECRET, TOKEN, AES_KEY):
        assert secret not in text


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data dir whose account was created from the environment under OLD_KEY."""
    csv = tmp_path / "products.csv"
    csv.write_text("sku,name,price\nSOFA-1,三人位沙发,1999\n", encoding="utf-8")
    result = fencun(
        tmp_path, "import-products", str(csv), key=OLD_KEY,
        WECHAT_APP_ID=APP_ID, WECHAT_APP_SECRET=APP_SECRET, WECHAT_TOKEN=TOKEN, WECHAT_AES_KEY=AES_KEY,
    )
    assert result.returncode == 0, result.stderr
    return tmp_path


def test_the_account_from_the_environment_is_stored_sealed(data_dir):
    for text, secret in zip(raw_secrets(data_dir), (APP_SECRET, TOKEN, AES_KEY), strict=True):
        assert text.startswith("enc1:") and secret not in text
    assert opens(data_dir, OLD_KEY) and not opens(data_dir, NEW_KEY)


def test_a_wrong_old_key_is_refused_in_chinese_and_nothing_changes(data_dir):
    before = raw_secrets(data_dir)
    result = fencun(data_dir, "secrets", "rotate", key=NEW_KEY, FENCUN_SECRET_KEY_FALLBACKS="a-wrong-old-key")
    assert result.returncode == 1
    assert "未做任何修改" in result.stderr and "FENCUN_SECRET_KEY_FALLBACKS" in result.stderr
    no_key_shown(result)
    assert raw_secrets(data_dir) == before
    assert opens(data_dir, OLD_KEY)


def test_the_old_key_typed_in_reseals_everything_under_the_new_key(data_dir):
    before = raw_secrets(data_dir)
    result = fencun(data_dir, "secrets", "rotate", "--old-key", "--lang", "en", key=NEW_KEY, stdin=OLD_KEY + "\n")
    assert result.returncode == 0, result.stderr
    assert "3 secrets now sealed under the current FENCUN_SECRET_KEY" in result.stdout
    no_key_shown(result)
    after = raw_secrets(data_dir)
    assert all(a != b and a.startswith("enc1:") for a, b in zip(after, before, strict=True))
    assert opens(data_dir, NEW_KEY) and not opens(data_dir, OLD_KEY)

    again = fencun(data_dir, "secrets", "rotate", "--lang", "en", key=NEW_KEY)
    assert again.returncode == 0 and "already sealed" in again.stdout
    assert raw_secrets(data_dir) == after


def test_the_old_key_from_the_fallbacks_needs_no_typing(data_dir):
    result = fencun(data_dir, "secrets", "rotate", key=NEW_KEY, FENCUN_SECRET_KEY_FALLBACKS=OLD_KEY)
    assert result.returncode == 0, result.stderr
    assert "已用当前的 FENCUN_SECRET_KEY 加密 3 个密钥" in result.stdout
    no_key_shown(result)
    assert opens(data_dir, NEW_KEY)


def test_an_empty_old_key_is_refused(data_dir):
    result = fencun(data_dir, "secrets", "rotate", "--old-key", key=NEW_KEY, stdin="\n")
    assert result.returncode == 2 and "没有输入旧密钥" in result.stderr
    no_key_shown(result)
