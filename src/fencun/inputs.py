"""Bounds every outside input is held to, shared by the API, the CLI, imports and the callback.

Each bound exists because something below it fails loudly otherwise: PostgreSQL refuses
NUL in text and raises on an over-long ``varchar``; a datetime near year 1 or 9999
overflows when converted between time zones; a database integer holds at most 2**63 - 1;
a file read whole must fit in memory (``/dev/zero`` reports a size of 0).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext

#: Largest file the CLI reads (CSV imports, scenarios, texts to lint), bytes.
MAX_FILE_BYTES = 50 * 2**20
#: Largest paging offset the API accepts (far past any real list, far below 2**63).
MAX_OFFSET = 10_000_000
#: Times outside this span are refused: far from the overflow at years 1 and 9999, and
#: no shop order or event of a WeChat account (born 2012) falls outside it.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _(message: str) -> str:
    # The CLI may refuse a file before Django is set up: then the message stays as written.
    return gettext(message) if settings.configured else message


class InputError(ValueError):
    """An input outside its bounds; the message (localised) says which and why."""


class FileTooLarge(InputError):
    """A file over the size limit; nothing of it was used."""


def clip(value: str, max_length: int) -> str:
    """``value`` cut to ``max_length`` characters (a column's ``max_length``)."""
    return value if len(value) <= max_length else value[:max_length]


class FieldErrors(ValueError):
    """A refused record: ``errors`` maps each bad field to why (``__all__`` for the whole);
    nothing was saved. The domains' refusals of a form's worth of fields derive from it."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in errors.items()))


def has_nul(value: object) -> bool:
    """True if ``value`` is (or holds, in a dict or list) a string with a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


def no_nul(value: str) -> str:
    """``value`` if it has no NUL character; :class:`InputError` otherwise (a validator
    for fields whose name the caller reports)."""
    if "\x00" in value:
        raise InputError(_("must not contain a NUL character"))
    return value


def check_text(value: str, name: str, max_length: int | None = None) -> str:
    """``value`` if it has no NUL and fits ``max_length``; :class:`InputError` otherwise."""
    if "\x00" in value:
        raise InputError(_("%(name)s contains a NUL character") % {"name": name})
    if max_length is not None and len(value) > max_length:
        raise InputError(
            _("%(name)s is longer than %(limit)d characters") % {"name": name, "limit": max_length}
        )
    return value


def check_time(value: datetime, name: str) -> datetime:
    """``value`` if it lies between :data:`EARLIEST` and :data:`LATEST`; naive times are
    taken as UTC for the check only. :class:`InputError` otherwise."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        inside = EARLIEST <= aware <= LATEST
    except OverflowError:  # an offset that pushes the time past year 1 or 9999
        inside = False
    if not inside:
        raise InputError(
            _("%(name)s must be between %(earliest)d and %(latest)d")
            % {"name": name, "earliest": EARLIEST.year, "latest": LATEST.year}
        )
    return value


def read_file(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path``, reading at most ``limit`` + 1 of them whatever the file
    claims its size is; :class:`FileTooLarge` above ``limit``, ``OSError`` if unreadable."""
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(
            _("%(file)s is larger than the %(mb)d MB limit") % {"file": path, "mb": limit // 2**20}
        )
    return data
