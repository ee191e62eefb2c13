"""A model field for secrets: sealed in the database, a :class:`~fencun.sealing.Sealed`
on the model, opened only where it is used (see :mod:`fencun.sealing`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from fencun.sealing import Sealed, is_sealed, seal


def as_sealed(value: Any) -> Sealed | None:
    """A model's value of a secret field: a str with the sealed prefix is a stored value,
    any other str a plain secret (the one rule for assignment, fixtures and lookups)."""
    if value is None or isinstance(value, Sealed):
        return value
    text = str(value)
    return Sealed.from_stored(text) if is_sealed(text) else Sealed.from_plain(text)


class _SealedAttribute(DeferredAttribute):
    # Assigning a plain str (``account.token = "..."``) still gives a Sealed, so every
    # reader meets one type whether the value came from the database or not.
    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = as_sealed(value)


class SecretField(models.TextField):
    """Text sealed at rest. Lookups work only for emptiness (``exclude(secret="")``):
    sealing is randomised, so no two sealed values of one secret are equal."""

    descriptor_class = _SealedAttribute
    # The types django-stubs gives the attribute on a model: any str may be assigned (it is
    # sealed on the way in, see _SealedAttribute), a Sealed is always read back. TextField's
    # stubs fix both to str, hence the ignores: the types are narrower at runtime, not wrong.
    _pyi_private_set_type: Sealed | str  # type: ignore[assignment]
    _pyi_private_get_type: Sealed  # type: ignore[assignment]

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Sealed | None:
        return None if value is None else Sealed.from_stored(value)

    def to_python(self, value: Any) -> Sealed | None:
        return as_sealed(value)

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, Sealed):
            return value.for_storage()
        text = str(value)
        return text if is_sealed(text) else seal(text)

    def value_to_string(self, obj: models.Model) -> str:
        # dumpdata and the like get the sealed text, which loads back as it is.
        value = self.value_from_object(obj)
        return value.for_storage() if isinstance(value, Sealed) else ""

    def formfield(self, **kwargs: Any) -> forms.Field | None:
        # Write-only in every form: the stored value is never rendered back.
        return super().formfield(
            **{
                "form_class": forms.CharField,
                "widget": forms.PasswordInput(render_value=False),
                **kwargs,
            }
        )
