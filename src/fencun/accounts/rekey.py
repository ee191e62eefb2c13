"""Re-sealing every stored secret under the current ``FENCUN_SECRET_KEY``
(``fencun secrets rotate``): all of them in one transaction, or none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.utils.translation import gettext as _

from fencun import sealing
from fencun.accounts.fields import SecretField
from fencun.accounts.models import AccessTokenLease


@dataclass
class FieldReport:
    """What a rotation did to one secret field (counts of rows)."""

    label: str  # "Account.app_secret"
    resealed: int = 0  # sealed under an older key, now under the current one
    sealed_plain: int = 0  # plain text from before sealing existed, now sealed
    current: int = 0  # already sealed under the current key: left as it was
    cleared: int = 0  # access tokens no key opens: cleared, fetched again when needed


@dataclass
class RotationReport:
    fields: list[FieldReport] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(f.resealed + f.sealed_plain + f.cleared for f in self.fields)


class RotationRefused(Exception):
    """Some stored secrets open under none of the keys; nothing was changed."""

    def __init__(self, unreadable: list[str]) -> None:
        self.unreadable = unreadable
        shown = ", ".join(unreadable[:5]) + (" …" if len(unreadable) > 5 else "")
        super().__init__(
            _(
                "%(count)d stored secrets open under neither FENCUN_SECRET_KEY nor the old keys "
                "given (%(which)s). Nothing was changed: give the key they were sealed with "
                "(FENCUN_SECRET_KEY_FALLBACKS or --old-key)."
            )
            % {"count": len(unreadable), "which": shown}
        )


def secret_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with secret fields, and their names."""
    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, SecretField)]
        if names:
            found.append((model, names))
    return found


def rotate(old_keys: Sequence[str] = ()) -> RotationReport:
    """Re-seal every stored secret under ``settings.SECRET_KEY``, opening each with it,
    ``settings.SECRET_KEY_FALLBACKS`` or ``old_keys``.

    Raises :class:`RotationRefused` (and changes nothing) if any secret opens under none
    of them; an access token that opens under none is cleared instead, since a new one
    is fetched when needed.
    """
    current = settings.SECRET_KEY
    ring = sealing.keyring(current, [*settings.SECRET_KEY_FALLBACKS, *old_keys])
    report = RotationReport()
    unreadable: list[str] = []
    with transaction.atomic():
        for model, names in secret_fields():
            rows = list(model._default_manager.select_for_update().order_by("pk").values_list("pk", *names))
            for index, name in enumerate(names, start=1):
                counts = FieldReport(f"{model.__name__}.{name}")
                report.fields.append(counts)
                for row in rows:
                    pk, value = row[0], row[index]
                    stored = value.stored if isinstance(value, sealing.Sealed) else value
                    if not stored:
                        continue
                    if sealing.opens_with_first(stored, [current]):
                        counts.current += 1
                        continue
                    try:
                        new = sealing.reseal(stored, ring)
                    except sealing.SecretUnreadable:
                        if model is AccessTokenLease:
                            model._default_manager.filter(pk=pk).update(value="", expires_at=0)
                            counts.cleared += 1
                        else:
                            unreadable.append(f"{counts.label} #{pk}")
                        continue
                    model._default_manager.filter(pk=pk).update(**{name: new})
                    if sealing.is_sealed(stored):
                        counts.resealed += 1
                    else:
                        counts.sealed_plain += 1
        if unreadable:
            raise RotationRefused(unreadable)
    return report
