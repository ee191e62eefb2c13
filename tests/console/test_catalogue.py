"""Every string a merchant may see is in the other language's catalogue: the console's
templates (``translate`` and ``blocktranslate``) and every ``_()``/``gettext()`` of the
product's code (``ngettext``'s too). English msgids need Chinese; the Chinese ones (model
labels, the catalog's messages) need English. A string added without its translation fails
here. The command line reads the same catalogues without Django (its help is built before
Django is set up): its strings must be found that way too."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext, ngettext

from fencun import language

SRC = Path(__file__).resolve().parents[2] / "src" / "fencun"
CJK = re.compile(r"[\u4e00-\u9fff]")
# Names that read the same in both languages.
SAME = {"SKU", "CorpID", "Secret", "Token", "EncodingAESKey", "AppID", "AppSecret"}
TEMPLATE_STRING = re.compile(r"""{%\s*translate\s+("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")
BLOCK = re.compile(r"{%\s*blocktranslate([^%]*)%}(.*?){%\s*(?:plural|endblocktranslate)\s*%}", re.S)
CALLS = {"_", "gettext", "gettext_lazy", "pgettext"}


def _chinese(msgid: str) -> bool:
    bare = re.sub(r"%\(\w+\)[sd]", "", msgid)
    first = re.search(r"[A-Za-z\u4e00-\u9fff]", bare)
    return bool(first and CJK.match(first.group())) or len(CJK.findall(bare)) > len(
        re.findall(r"[A-Za-z]", bare)
    )


def _translated(msgid: str) -> bool:
    if msgid.strip() in SAME or not msgid.strip():
        return True
    with translation.override("en" if _chinese(msgid) else "zh-hans"):
        # The catalogue holds a template's literal % doubled, as makemessages writes it.
        return any(gettext(m) != m for m in (msgid, msgid.replace("%", "%%")))


def template_strings() -> list[tuple[str, str]]:
    found = []
    for path in sorted(SRC.rglob("templates/**/*.html")):
        text = path.read_text(encoding="utf-8")
        for m in TEMPLATE_STRING.finditer(text):
            found.append((str(path.relative_to(SRC)), ast.literal_eval(m.group(1))))
        for m in BLOCK.finditer(text):
            if "count" in m.group(1):
                continue  # plural forms: checked by rendering (the pages' tests)
            # blocktranslate's msgid: variables as %(name)s, a literal % doubled.
            body = m.group(2).replace("%", "%%")
            found.append((str(path.relative_to(SRC)), re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", body)))
    return found


def _calls(names: set[str], arguments: int) -> list[tuple[str, tuple[str, ...]]]:
    """(file, the first ``arguments`` literal arguments) of every call of ``names``."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in names
                and len(node.args) >= arguments
                and all(
                    isinstance(a, ast.Constant) and isinstance(a.value, str)
                    for a in node.args[:arguments]
                )
            ):
                found.append(
                    (str(path.relative_to(SRC)), tuple(a.value for a in node.args[:arguments]))
                )
    return found


def code_strings() -> list[tuple[str, str]]:
    return [(where, msgid) for where, (msgid,) in _calls(CALLS, 1)]


def plural_strings() -> list[tuple[str, str, str]]:
    """ngettext's (file, singular, plural)."""
    return [(where, singular, plural) for where, (singular, plural) in _calls({"ngettext"}, 2)]


def _command_line(where: str) -> bool:
    return where.startswith(("cli/", "bench/")) or where == "language.py"


def test_the_scan_finds_what_it_checks():
    assert len(template_strings()) > 300 and len(code_strings()) > 300
    assert _translated("Pause") and _translated("封面")
    assert not _translated("A sentence nobody has translated.") and not _translated(
        "一句没人翻译的话"
    )


@pytest.mark.parametrize("kind", ["templates", "code"])
def test_every_string_has_its_translation(kind):
    strings = template_strings() if kind == "templates" else code_strings()
    missing = sorted({(where, msgid) for where, msgid in strings if not _translated(msgid)})
    assert missing == [], "\n".join(f"{where}: {msgid!r}" for where, msgid in missing)


def test_every_plural_has_its_translation():
    def translated(singular: str, plural: str) -> bool:
        with translation.override("en" if _chinese(singular) else "zh-hans"):
            return (
                ngettext(singular, plural, 1) != singular or ngettext(singular, plural, 2) != plural
            )

    strings = plural_strings()
    assert any(_command_line(where) for where, _s, _p in strings)
    missing = sorted({(where, s) for where, s, p in strings if not translated(s, p)})
    assert missing == [], "\n".join(f"{where}: {msgid!r}" for where, msgid in missing)


def test_the_command_line_finds_its_strings_without_django():
    strings = [(where, msgid) for where, msgid in code_strings() if _command_line(where)]
    assert len(strings) > 250

    def found(msgid: str) -> bool:
        other = language.catalogue("en" if _chinese(msgid) else "zh-hans")
        return msgid.strip() in SAME or other.gettext(msgid) != msgid

    missing = sorted({(where, msgid) for where, msgid in strings if not found(msgid)})
    assert missing == [], "\n".join(f"{where}: {msgid!r}" for where, msgid in missing)
