"""Where fencun keeps its files, and bringing the database up to date on first use."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
from pathlib import Path

from fencun import language

# The data dir holds the database (access tokens, AppSecrets, followers' data) and the
# secret key: only the owner may read it.
DIR_MODE = 0o700
FILE_MODE = 0o600
# What in the data dir is private: SQLite databases with their journals, the secret key.
PRIVATE_SUFFIXES = (".sqlite3", ".sqlite3-wal", ".sqlite3-shm", ".sqlite3-journal")
PRIVATE_NAMES = ("secret_key",)

# Data dirs whose modes this process tightened, for :func:`setup_django` to tell once.
_tightened: list[Path] = []


def data_dir() -> Path:
    """The data directory: ``FENCUN_DATA_DIR`` or a per-user default, created if missing.

    Created owner-only (0700, private files 0600); an existing one with looser modes is
    tightened.
    """
    configured = os.environ.get("FENCUN_DATA_DIR")
    if configured:
        path = Path(configured).expanduser()
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base) / "fencun"
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if tighten(path) and path not in _tightened:
        _tightened.append(path)
    return path


def _restrict(path: Path, mode: int) -> bool:
    """chmod ``path`` to ``mode`` if group or others have any access; True if it did."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return False
    if not current & 0o077:
        return False
    try:
        path.chmod(mode)
    except PermissionError:
        return False  # not ours to change; the notice would be a lie
    return True


def tighten(path: Path) -> bool:
    """Make the data dir ``path`` 0700 and its private files 0600; True if any was looser."""
    changed = _restrict(path, DIR_MODE)
    for child in path.iterdir():
        if child.is_file() and (
            child.name.endswith(PRIVATE_SUFFIXES) or child.name in PRIVATE_NAMES
        ):
            changed = _restrict(child, FILE_MODE) or changed
    return changed


def private_file(path: Path) -> None:
    """Create ``path`` empty and owner-only (0600) unless it exists.

    For SQLite databases: an empty file is an empty database, and SQLite gives the -wal and
    -shm files it creates beside a database the database file's mode.
    """
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))


def secret_key() -> str:
    """``FENCUN_SECRET_KEY``, or a random key generated once and kept in the data dir."""
    configured = os.environ.get("FENCUN_SECRET_KEY")
    if configured:
        return configured
    key_file = data_dir() / "secret_key"
    if not key_file.exists():
        # O_EXCL: two processes starting at once must agree on one key.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


def setup_django(migrate: bool = True) -> None:
    """Configure Django for a command-line process and migrate the database if needed.

    Django speaks the run's language (:mod:`fencun.language`) from here on, this process's
    own lines included."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fencun.settings")
    import django
    from django.utils import translation

    django.setup()
    translation.activate(language.active())
    _tell_tightened()
    if migrate:
        ensure_migrated()


def _tell_tightened() -> None:
    """One line on stderr per data dir whose modes were loosened before this start."""
    from django.utils.translation import gettext as _

    while _tightened:
        path = _tightened.pop()
        print(
            _("data directory %(path)s was readable by others: now owner-only (0700, files 0600)")
            % {"path": path},
            file=sys.stderr,
        )


def ensure_migrated() -> None:
    """Apply pending migrations, quietly; a no-op when the schema is current."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", interactive=False, verbosity=0)
