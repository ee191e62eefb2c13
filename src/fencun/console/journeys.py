"""Console pages for journeys: the list with who entered, a new journey, and one
journey's page (who is at each step, sent, held back; its definition to change; start,
pause, resume). The definition is edited as JSON, in the engine's shape."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from fencun.campaigns import journeys as service
from fencun.campaigns.models import Journey
from fencun.console.views import _account

#: What the new-journey form starts from: a welcome through a store's code.
EXAMPLE = {
    "trigger": {"kind": "subscribe", "scene": "store42"},
    "steps": [
        {"send": {"title": "欢迎光临", "body": "新款沙发到店，欢迎来看看。", "category": "sofa", "products": []}},
        {"wait_days": 3},
        {"send": {"title": "本周优惠", "body": "沙发本周九折。", "category": "sofa", "products": []}},
    ],
    "exit": {"on_order": True},
}
ACTIONS = {"start": service.start, "pause": service.pause, "resume": service.resume}


def _pretty(definition: Any) -> str:
    return json.dumps(definition, ensure_ascii=False, indent=2)


def _parsed(text: str) -> Any:
    """The form's JSON; a :class:`service.JourneyRefused` saying where it is broken."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise service.JourneyRefused(
            _("The definition is not valid JSON (line %(line)s, column %(col)s).")
            % {"line": exc.lineno, "col": exc.colno}
        ) from None
    except RecursionError:  # nested beyond any journey's shape
        raise service.JourneyRefused(_("The definition is nested too deeply.")) from None


@login_required
def journeys(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    error = ""
    form = {"name": "", "definition": _pretty(EXAMPLE)}
    if account is not None and request.method == "POST":
        form = {"name": request.POST.get("name", ""), "definition": request.POST.get("definition", "")}
        try:
            made = service.create_journey(account, name=form["name"], definition=_parsed(form["definition"]))
        except service.JourneyRefused as exc:
            error = str(exc)
        else:
            return redirect("console-journey", pk=made.pk)
    rows = [
        {"journey": j, "counts": service.counts(j)}
        for j in (Journey.objects.filter(account=account).order_by("-created_at", "-pk") if account else [])
    ]
    return render(request, "console/journeys.html", {
        "rows": rows, "form": form, "error": error, "account": account, "nav": "journeys",
    }, status=400 if error else 200)


@login_required
def journey(request: HttpRequest, pk: int) -> HttpResponse:
    current = get_object_or_404(Journey, pk=pk, account=_account(request))
    error = ""
    form = {"name": current.name, "definition": _pretty(current.definition)}
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            if action in ACTIONS:
                ACTIONS[action](current)
            else:
                form = {"name": request.POST.get("name", ""), "definition": request.POST.get("definition", "")}
                service.update_journey(current, name=form["name"], definition=_parsed(form["definition"]))
        except service.JourneyRefused as exc:
            error = str(exc)
        else:
            return redirect("console-journey", pk=current.pk)
    return render(request, "console/journey.html", {
        "journey": current, "counts": service.counts(current), "steps": service.step_counts(current),
        "form": form, "error": error, "account": current.account, "nav": "journeys",
    }, status=400 if error else 200)
