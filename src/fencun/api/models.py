from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from fencun.accounts.models import Account


def _digest(token: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough (no password stretching).
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the JSON API; only its hash is stored. It reaches only its
    accounts, and changes nothing unless its scope is ``write``."""

    class Scope(models.TextChoices):
        READ = "read", _("只读")
        WRITE = "write", _("读写")

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)
    accounts = models.ManyToManyField(Account, related_name="api_tokens")
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.WRITE)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(
        cls, name: str, accounts: Iterable[Account], scope: str = Scope.WRITE
    ) -> tuple[ApiToken, str]:
        """Create a token for ``accounts`` (at least one) with ``scope`` (``read`` or
        ``write``); return the row and the plaintext, which is shown once only."""
        if not name.strip():
            raise ValueError("a token needs a name")
        if scope not in cls.Scope.values:
            raise ValueError(f"the scope is read or write, not {scope!r}")
        accounts = list(accounts)
        if not accounts:
            raise ValueError("a token needs at least one account")
        prefix = secrets.token_hex(4)
        plaintext = f"fc_{prefix}_{secrets.token_urlsafe(32)}"
        with transaction.atomic():
            row = cls.objects.create(
                name=name.strip(), prefix=prefix, digest=_digest(plaintext), scope=scope
            )
            row.accounts.set(accounts)
        return row, plaintext

    def withdraw(self, account: Account) -> None:
        """Take ``account`` from this token; a token left with no account is revoked."""
        with transaction.atomic():
            self.accounts.remove(account)
            if not self.accounts.exists():
                self.revoked = True
                self.save(update_fields=["revoked"])

    @classmethod
    def revoke(cls, prefix: str) -> bool:
        """Revoke the token whose prefix is ``prefix``; False when there is none."""
        return bool(cls.objects.filter(prefix=prefix).update(revoked=True))

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.WRITE

    @classmethod
    def authenticate(cls, plaintext: str) -> ApiToken | None:
        if not plaintext.startswith("fc_"):
            return None
        return cls.objects.filter(digest=_digest(plaintext), revoked=False).first()
