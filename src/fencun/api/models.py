from __future__ import annotations

import hashlib
import secrets

from django.db import models


def _digest(token: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough (no password stretching).
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the JSON API; only its hash is stored."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, name: str) -> tuple[ApiToken, str]:
        """Create a token; return the row and the plaintext, which is shown once only."""
        if not name.strip():
            raise ValueError("a token needs a name")
        prefix = secrets.token_hex(4)
        plaintext = f"fc_{prefix}_{secrets.token_urlsafe(32)}"
        row = cls.objects.create(name=name.strip(), prefix=prefix, digest=_digest(plaintext))
        return row, plaintext

    @classmethod
    def authenticate(cls, plaintext: str) -> ApiToken | None:
        if not plaintext.startswith("fc_"):
            return None
        return cls.objects.filter(digest=_digest(plaintext), revoked=False).first()
