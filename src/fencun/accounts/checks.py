"""System checks about the accounts' secrets (``python -m fencun.manage check --deploy``)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def shared_secret_key(app_configs: Any, **kwargs: Any) -> list[Warning]:
    """A shared database needs one FENCUN_SECRET_KEY everywhere: a key generated into each
    machine's data dir would seal secrets the other machines cannot open."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if "sqlite" in engine or os.environ.get("FENCUN_SECRET_KEY"):
        return []
    return [
        Warning(
            "FENCUN_SECRET_KEY is not set, but the database is shared: each machine would "
            "seal the stored secrets under a key of its own.",
            hint="Set the same FENCUN_SECRET_KEY on every machine.",
            id="fencun.W001",
        )
    ]
