"""The one language the command line speaks in a run, and its messages.

Chosen once per run: ``fencun --lang``, else ``FENCUN_LANG``, else the locale (the first
of ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` that is set: ``en…`` English, ``zh…``
Chinese), else Simplified Chinese. The messages come from the product's own gettext
catalogues (``fencun/locale``), the ones Django reads, read here directly: ``fencun
--help`` builds its help texts before (and without) setting Django up.
"""

from __future__ import annotations

import functools
import gettext as stdlib_gettext
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

LANGUAGES = ("zh-hans", "en")
DEFAULT = "zh-hans"
ENV = "FENCUN_LANG"
OPTION = "--lang"
LOCALE = Path(__file__).resolve().parent / "locale"
# What ``--lang`` and FENCUN_LANG accept (compared lower-case, "_" read as "-").
ACCEPTED = {"zh-hans": "zh-hans", "zh": "zh-hans", "zh-cn": "zh-hans", "en": "en"}

_active: str | None = None


class UnknownLanguage(ValueError):
    """A language fencun does not speak, named where it came from (``--lang``, FENCUN_LANG).

    Its message is in both languages: which one the user reads is what is in question."""

    def __init__(self, value: str, source: str) -> None:
        super().__init__(
            f"不支持的语言 {value!r}（{source}）：请用 zh-hans 或 en / "
            f"unknown language {value!r} ({source}): use zh-hans or en"
        )


def parse(value: str, source: str) -> str:
    """The language code (``zh-hans`` or ``en``) ``value`` names; ``UnknownLanguage`` if none."""
    code = ACCEPTED.get(value.strip().lower().replace("_", "-"))
    if code is None:
        raise UnknownLanguage(value, source)
    return code


def from_locale(environ: Mapping[str, str]) -> str | None:
    """The language of the POSIX locale, if English or Chinese: the first of LC_ALL,
    LC_MESSAGES and LANG that is set decides, as it does for any program."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "").strip().lower()
        if value:
            if value.startswith("en"):
                return "en"
            return "zh-hans" if value.startswith("zh") else None
    return None


def option_in(args: Sequence[str]) -> str | None:
    """The value of the root ``--lang`` among ``args`` (the words after ``fencun``), or None.

    Only the words before the command's name are the root's: ``fencun campaign work
    --lang en`` is that command's own option."""
    words = iter(args)
    for word in words:
        if word == OPTION:
            return next(words, "")
        if word.startswith(OPTION + "="):
            return word.split("=", 1)[1]
        if not word.startswith("-"):
            return None
    return None


def for_run(option: str | None, environ: Mapping[str, str]) -> str:
    """The run's language: ``option`` (the root ``--lang``), else FENCUN_LANG, else the
    locale, else the default. Raises ``UnknownLanguage`` for a value fencun does not speak."""
    if option is not None:
        return parse(option, OPTION)
    if environ.get(ENV, "").strip():
        return parse(environ[ENV], ENV)
    return from_locale(environ) or DEFAULT


def activate(language: str) -> None:
    """Speak ``language`` from now on in this process (Django follows once set up:
    ``fencun.datadir.setup_django`` activates it)."""
    global _active
    _active = language


def active() -> str:
    """The language activated, else the one the environment chooses (an unknown
    FENCUN_LANG reads as the default here: the command line refuses it before it runs)."""
    if _active is not None:
        return _active
    try:
        return for_run(None, os.environ)
    except UnknownLanguage:
        return DEFAULT


@functools.cache
def catalogue(language: str) -> stdlib_gettext.NullTranslations:
    """The product's catalogue for ``language``, then its apps' (``fencun/<app>/locale``), as
    Django merges them: the product's own entries first."""
    folder = "zh_Hans" if language == "zh-hans" else language
    found = stdlib_gettext.translation("django", LOCALE, languages=[folder], fallback=True)
    for app_locale in sorted(LOCALE.parent.glob("*/locale")):
        found.add_fallback(
            stdlib_gettext.translation("django", app_locale, languages=[folder], fallback=True)
        )
    return found


def gettext(message: str) -> str:
    """``message`` in the active language, from the product's catalogue."""
    return catalogue(active()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural ``n`` needs, in the active language."""
    return catalogue(active()).ngettext(singular, plural, n)
