"""The ``fencun`` console script as a merchant runs it: a fresh data directory, a real process.

Every command answers ``--help``; the imports take a tiny valid file, and refuse a bad one
with one line per bad row, a non-zero exit, no traceback and nothing imported.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command

from fencun.cli.main import app

APP_ID = "wx00000000000000c1"


def _commands(command, path: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        yield path
        return
    yield path
    for name, sub in subcommands.items():
        yield from _commands(sub, (*path, name))


COMMANDS = sorted(_commands(get_command(app)))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One fresh data directory for the module: the first command creates and migrates it."""
    return tmp_path_factory.mktemp("data")


def fencun(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the console script in ``data_dir`` with its own SQLite database."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "FENCUN_", "WECHAT_"))
    }
    env |= {"FENCUN_DATA_DIR": str(data_dir), "WECHAT_APP_ID": APP_ID, "WECHAT_TOKEN": "token"}
    env["FENCUN_LANG"] = os.environ["FENCUN_LANG"]  # the tests' language, whatever the machine's
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "fencun.cli.main", *args],
        env=env,
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def rows(data_dir: Path, table: str) -> int:
    with sqlite3.connect(data_dir / "fencun.sqlite3") as db:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - a fixed name


def refused(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "fencun")
def test_every_command_answers_help(data_dir, command):
    result = fencun(data_dir, *command, "--help")
    assert result.returncode == 0, result.stderr
    assert "用法：" in result.stdout and "Traceback" not in result.stderr  # the tests speak 简体中文


@pytest.mark.parametrize(
    ("command", "table", "good", "bad"),
    [
        (
            "import-products",
            "catalog_product",
            "sku,name,price\nSOFA-1,三人位沙发,1999\n",
            "sku,name,price\nBED-1,床,2999\nBED-2,床,两千\n",
        ),
        (
            "import-stores",
            "audience_store",
            "name,lat,lng,datum\n惠州店,23.11,114.41,gcj02\n",
            "name,lat,lng,datum\n东莞店,23.0,113.7,gcj02\n深圳店,123,114,gcj02\n",
        ),
    ],
    ids=["products", "stores"],
)
def test_a_catalog_import_takes_a_valid_file_and_a_bad_file_imports_nothing(
    data_dir, command, table, good, bad
):
    good_file = data_dir / "good.csv"
    good_file.write_text(good, encoding="utf-8")
    result = fencun(data_dir, command, str(good_file))
    assert result.returncode == 0, result.stderr
    before = rows(data_dir, table)
    bad_file = data_dir / "bad.csv"
    bad_file.write_text(bad, encoding="utf-8")
    refused(fencun(data_dir, command, str(bad_file)), "3")
    assert rows(data_dir, table) == before >= 1


GOOD_ORDER = "A-1,99.00,2026-11-01T10:00:00+08:00,o1"


@pytest.mark.parametrize(
    "bad_row",
    [
        "A-2,99.00,9999-12-31T23:59:59,o1",
        "A-2,99.00,0001-01-01T00:00:00,o1",
        "A-2\x00,99.00,2026-11-01T10:00:00+08:00,o1",
        "A-2,1e400,2026-11-01T10:00:00+08:00,o1",
        "A-2,ninety-nine,2026-11-01T10:00:00+08:00,o1",
        "A-2,99.00,2026-11-01T10:00:00+08:00,o1\x00",
    ],
    ids=["year-9999", "year-1", "nul-id", "huge-amount", "not-a-number", "nul-openid"],
)
def test_a_bad_order_row_is_one_line_naming_the_row_and_imports_nothing(data_dir, bad_row):
    before = rows(data_dir, "audience_event") if (data_dir / "fencun.sqlite3").exists() else 0
    path = data_dir / "orders.csv"
    path.write_text(
        f"order_id,amount,ordered_at,openid\n{GOOD_ORDER}\n{bad_row}\n", encoding="utf-8"
    )
    result = fencun(data_dir, "import-orders", str(path))
    refused(result, "第 2 行：")  # in the merchant's language by default
    assert [line for line in result.stderr.splitlines() if line.startswith("第")] == [
        next(line for line in result.stderr.splitlines() if line.startswith("第 2 行："))
    ]
    assert rows(data_dir, "audience_event") == before  # the good row is not stored either


def test_a_valid_orders_file_is_imported(data_dir):
    path = data_dir / "orders.csv"
    path.write_text(f"order_id,amount,ordered_at,openid\n{GOOD_ORDER}\n", encoding="utf-8")
    result = fencun(data_dir, "import-orders", str(path), "--lang", "en")
    assert result.returncode == 0, result.stderr
    assert "imported 1 orders" in result.stdout


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.parametrize("command", ["import-orders", "import-products", "import-stores", "lint"])
def test_an_endless_file_is_refused_at_the_size_limit(data_dir, command):
    result = fencun(data_dir, command, "/dev/zero")
    refused(result, "MB")
