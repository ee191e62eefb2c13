"""Categories as the engine sees them: an id, a display name and keywords to spot interest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Category:
    """A product category. ``keywords`` are matched as substrings of texts and menu keys."""

    id: str
    name: str = ""
    keywords: tuple[str, ...] = field(default_factory=tuple)

    def terms(self) -> tuple[str, ...]:
        """Lower-cased terms that signal this category (id, name, keywords)."""
        seen: list[str] = []
        for term in (self.id, self.name, *self.keywords):
            term = term.strip().lower()
            if term and term not in seen:
                seen.append(term)
        return tuple(seen)


def categories_from_scenario(items: list[Any]) -> list[Category]:
    """Accept ``["sofa", ...]`` or ``[{"id", "name", "keywords"}, ...]``."""
    out: list[Category] = []
    for item in items:
        if isinstance(item, str):
            out.append(Category(id=item, name=item))
        elif isinstance(item, dict) and isinstance(item.get("id"), str):
            out.append(
                Category(
                    id=item["id"],
                    name=str(item.get("name") or item["id"]),
                    keywords=tuple(str(k) for k in item.get("keywords") or ()),
                )
            )
        else:
            raise ValueError(f"a category is a string or an object with an 'id': {item!r}")
    ids = [c.id for c in out]
    if len(set(ids)) != len(ids):
        raise ValueError("category ids must be unique")
    return out


def match_categories(text: str, categories: list[Category]) -> list[int]:
    """Indices of the categories whose terms occur in ``text`` (case-insensitive substring)."""
    lowered = text.lower()
    return [i for i, c in enumerate(categories) if any(t in lowered for t in c.terms())]
