"""Where fencun keeps its files, and bringing the database up to date on first use."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def data_dir() -> Path:
    """The data directory: ``FENCUN_DATA_DIR`` or a per-user default, created if missing."""
    configured = os.environ.get("FENCUN_DATA_DIR")
    if configured:
        path = Path(configured).expanduser()
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base) / "fencun"
    path.mkdir(parents=True, exist_ok=True)
    return path


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
    """Configure Django for a command-line process and migrate the database if needed."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fencun.settings")
    import django

    django.setup()
    if migrate:
        ensure_migrated()


def ensure_migrated() -> None:
    """Apply pending migrations, quietly; a no-op when the schema is current."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", interactive=False, verbosity=0)
