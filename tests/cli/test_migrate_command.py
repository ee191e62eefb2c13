"""``fencun migrate`` as an operator runs it: a real process; everything pending applied
once, nothing the second time; a database it cannot use is one clear line and a non-zero
exit, never a traceback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import dj_database_url
import psycopg
import pytest
from django.utils import translation
from django.utils.translation import gettext
from tests import live
from tests.conftest import requires_postgres

from fencun.cli.migrate import describe


def migrate(data_dir: Path, *args: str, database_url: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "FENCUN_", "WECHAT_"))}
    env["FENCUN_DATA_DIR"] = str(data_dir)
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "fencun.cli.main", "migrate", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def applied(database: Path) -> list[tuple]:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT app, name, applied FROM django_migrations ORDER BY id").fetchall()


def said(lang: str, message: str, **values: object) -> str:
    with translation.override(lang):
        return gettext(message) % values


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


@pytest.mark.slow(seconds=8)
def test_the_first_run_applies_everything_and_the_next_changes_nothing(tmp_path):
    first = migrate(tmp_path)
    assert first.returncode == 0, first.stderr
    database = tmp_path / "fencun.sqlite3"
    rows = applied(database)
    where = describe({"ENGINE": "django.db.backends.sqlite3", "NAME": str(database)})
    # 简体中文 by default: the count, the database, then the migrations by app.
    headline, *by_app = first.stdout.splitlines()
    assert str(len(rows)) in headline and where in headline and "迁移" in headline
    assert {line.split(":")[0].strip() for line in by_app} == {app for app, _name, _at in rows}

    for lang in ("zh-hans", "en"):
        again = migrate(tmp_path, "--lang", lang)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == said(
            lang, "The database %(database)s is up to date: no migration was pending.", database=where
        )
        assert again.stderr == ""
    assert applied(database) == rows


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_an_unreachable_database_is_one_line_and_a_failure(tmp_path, lang):
    url = f"postgresql://fencun@127.0.0.1:{live.free_port()}/fencun"
    result = migrate(tmp_path, "--lang", lang, database_url=url)
    assert result.returncode == 1
    no_traceback(result)
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    where = describe(dj_database_url.parse(url))
    prefix = said(lang, "cannot connect to the database %(database)s: %(error)s", database=where, error="")
    assert line.startswith(prefix) and len(line) > len(prefix)


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_a_refused_configuration_is_one_line_and_a_failure(tmp_path, lang):
    result = migrate(tmp_path, "--lang", lang, database_url="nosuchdb://somewhere/fencun")
    assert result.returncode == 2
    no_traceback(result)
    (line,) = result.stderr.splitlines()
    assert line.startswith(said(lang, "fencun cannot start with this configuration: %(error)s", error=""))
    assert "nosuchdb" in line


def test_a_migration_that_fails_is_one_line_naming_the_database(tmp_path):
    database = tmp_path / "fencun.sqlite3"
    with sqlite3.connect(database) as db:  # a table in the way of the first migrations
        db.execute("CREATE TABLE django_content_type (id integer)")
    database.chmod(0o600)  # owner-only, as fencun makes it: no notice about its mode
    tmp_path.chmod(0o700)
    result = migrate(tmp_path, "--lang", "en")
    assert result.returncode == 1
    no_traceback(result)
    (line,) = result.stderr.splitlines()
    where = describe({"ENGINE": "django.db.backends.sqlite3", "NAME": str(database)})
    assert line.startswith(said("en", "migrating the database %(database)s failed: %(error)s", database=where, error=""))
    assert "django_content_type" in line


@requires_postgres
@pytest.mark.slow(seconds=10)
def test_two_runs_at_once_on_postgresql_take_turns(tmp_path):
    """Two machines starting at once: one applies everything, the other waits for it
    and then finds nothing pending; neither fails."""
    with live.empty_postgres_database() as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "FENCUN_", "WECHAT_"))}
        runs = [
            subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "fencun.cli.main", "migrate", "--lang", "en"],
                env={**env, "DATABASE_URL": url, "FENCUN_DATA_DIR": str(tmp_path / str(n))},
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for n in (1, 2)
        ]
        outputs = [run.communicate(timeout=120) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        with psycopg.connect(url) as db:
            (count,) = db.execute("SELECT count(*) FROM django_migrations").fetchone()
        up_to_date = said("en", "The database %(database)s is up to date: no migration was pending.",
                          database=describe(dj_database_url.parse(url)))
        heads = sorted(out.splitlines()[0] for out, _err in outputs)
        assert heads[1] == up_to_date, outputs
        assert heads[0].startswith(f"Applied {count} migrations"), outputs
