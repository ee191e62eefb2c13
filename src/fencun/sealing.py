"""Secrets at rest: sealed under a key derived from ``FENCUN_SECRET_KEY``, opened only
where they are used (a token fetch, message crypto, a signature check).

A sealed value is ``enc1:`` followed by a Fernet token (AES-128-CBC with HMAC-SHA256)
under a key derived by HKDF-SHA256 from ``settings.SECRET_KEY``. Values sealed under an
earlier key still open while that key is in ``settings.SECRET_KEY_FALLBACKS``
(``FENCUN_SECRET_KEY_FALLBACKS``), so the key can be changed first and the values
re-sealed afterwards (``fencun secrets rotate``).

A stored value without the prefix is plain text written before sealing existed: it opens
as itself and is sealed on its next save, by the channels migration 0008, or by a rotate.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Iterable, Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fencun import logredact

PREFIX = "enc1:"
# Binds the derived key to this one purpose: the same FENCUN_SECRET_KEY also signs
# sessions and the orders webhook, and none of those may be usable as another.
_HKDF_INFO = b"fencun secrets at rest v1"
MASK = "••••"


class SecretUnreadable(ValueError):
    """A sealed secret does not open under the configured keys."""

    def __init__(self, message: str | None = None) -> None:
        if message is None:
            from django.utils.translation import gettext as _

            message = _(
                "a stored secret cannot be decrypted with FENCUN_SECRET_KEY: set the key it was "
                "sealed with in FENCUN_SECRET_KEY_FALLBACKS (every machine needs the same keys), "
                "then run `fencun secrets rotate`"
            )
        super().__init__(message)


@lru_cache(maxsize=16)
def _fernet(root: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        root.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def keyring(current: str | None = None, older: Iterable[str] | None = None) -> MultiFernet:
    """The keys that seal (the first) and open (any): ``current`` and ``older`` secret
    keys, by default ``settings.SECRET_KEY`` and ``settings.SECRET_KEY_FALLBACKS``."""
    from django.conf import settings

    first = settings.SECRET_KEY if current is None else current
    rest = list(getattr(settings, "SECRET_KEY_FALLBACKS", ()) if older is None else older)
    roots = list(dict.fromkeys([first, *rest]))  # same order, each key once
    return MultiFernet([_fernet(root) for root in roots if root])


def is_sealed(stored: str) -> bool:
    """Whether a stored value is sealed (as opposed to empty or legacy plain text)."""
    return stored.startswith(PREFIX)


def seal(plain: str, keys: MultiFernet | None = None) -> str:
    """The stored form of ``plain``: sealed under the current key ("" stays "")."""
    if not plain:
        return ""
    token = (keys or keyring()).encrypt(plain.encode("utf-8"))
    return PREFIX + token.decode("ascii")


def unseal(stored: str, keys: MultiFernet | None = None) -> str:
    """The plain text of a stored value; legacy plain text is returned as it is.

    Raises :class:`SecretUnreadable` when no configured key opens it.
    """
    if not is_sealed(stored):
        return stored
    try:
        plain = (keys or keyring()).decrypt(stored[len(PREFIX) :].encode("ascii"))
        return plain.decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise SecretUnreadable() from None


def reseal(stored: str, keys: MultiFernet) -> str:
    """``stored`` sealed under the first of ``keys`` (legacy plain text sealed for the
    first time); raises :class:`SecretUnreadable` when none of ``keys`` opens it."""
    if not stored:
        return ""
    return seal(unseal(stored, keys), keys)


def opens_with_first(stored: str, keys: Sequence[str]) -> bool:
    """Whether ``stored`` is sealed and opens under the first of the secret keys ``keys``."""
    if not is_sealed(stored) or not keys:
        return False
    try:
        unseal(stored, MultiFernet([_fernet(keys[0])]))
    except SecretUnreadable:
        return False
    return True


def mask(plain: str) -> str:
    """What may be shown of a secret: its last 4 characters when it is long enough that
    they give little away (16 or more), else only that it is set; "" when empty."""
    if not plain:
        return ""
    return MASK + plain[-4:] if len(plain) >= 16 else MASK


class Sealed:
    """A secret as a model holds it: the stored (sealed) text, opened on :meth:`reveal`.

    ``str()``, ``repr()`` and f-strings show only that it is set, so a secret that slips
    into a template, a log line or an exception message shows nothing.
    """

    __slots__ = ("_plain", "_stored")

    def __init__(self, *, stored: str | None = None, plain: str | None = None) -> None:
        self._stored = stored
        self._plain = plain

    @classmethod
    def from_plain(cls, plain: str) -> Sealed:
        return cls(plain=plain)

    @classmethod
    def from_stored(cls, stored: str) -> Sealed:
        return cls(stored=stored)

    @property
    def stored(self) -> str | None:
        """The text as read from the database; None for a value not read from it."""
        return self._stored

    @property
    def is_legacy(self) -> bool:
        """Stored as plain text, from before sealing existed."""
        return bool(self._stored) and not is_sealed(self._stored or "")

    def reveal(self) -> str:
        """The plain secret, for the one place that uses it. Raises SecretUnreadable."""
        if self._plain is None:
            # Kept once opened: the gateway reuses a cached account for every callback.
            self._plain = unseal(self._stored or "")
        logredact.remember(self._plain)
        return self._plain

    def for_storage(self) -> str:
        """The text to store: sealed under the current key, or "" when empty."""
        if self._stored is not None and (not self._stored or is_sealed(self._stored)):
            return self._stored
        return seal(self.reveal())

    def masked(self) -> str:
        """See :func:`mask`; only that it is set when it cannot be opened."""
        try:
            return mask(self.reveal())
        except SecretUnreadable:
            return MASK

    def __bool__(self) -> bool:
        return bool(self._plain) if self._plain is not None else bool(self._stored)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sealed):
            other = other.reveal()
        if not isinstance(other, str):
            return NotImplemented
        if not other:
            return not self
        return hmac.compare_digest(self.reveal().encode("utf-8"), other.encode("utf-8"))

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return MASK if self else ""

    def __repr__(self) -> str:
        return f"Sealed({MASK if self else ''!r})"

    def __copy__(self) -> Sealed:
        return self

    def __deepcopy__(self, memo: dict) -> Sealed:
        return self

    def __reduce__(self) -> tuple:
        # A pickle (a cache, a task argument) holds the sealed text, never the plain one.
        return (Sealed.from_stored, (self.for_storage(),))


def same(current: Sealed | str | None, wanted: str) -> bool:
    """Whether a held secret equals ``wanted``; False when it cannot be opened (so the
    configured value replaces one sealed under a lost key)."""
    if current is None:
        return not wanted
    try:
        return current == wanted
    except SecretUnreadable:
        return False
