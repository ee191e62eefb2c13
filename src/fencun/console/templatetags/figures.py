"""The console's template filters for figures: :mod:`fencun.figures`, the one formatting layer."""

from __future__ import annotations

from django import template

from fencun import figures

register = template.Library()

for _name in ("count", "yuan", "signed_yuan", "percent", "points", "signed"):
    register.filter(_name, getattr(figures, _name))
