"""Console pages for saved segments: the list with live counts, save, delete, count-as-you-type."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from fencun.audience.models import Segment
from fencun.campaigns import segments as service
from fencun.console.views import _account


@login_required
def segments(request):
    account = _account(request)
    rows = []
    error = ""
    form = {"name": "", "text": ""}
    if account is not None and request.method == "POST":
        form = {"name": request.POST.get("name", ""), "text": request.POST.get("text", "")}
        try:
            service.save(account, form["name"], form["text"])
        except service.SegmentInputError as exc:
            error = str(exc)
        else:
            return redirect("console-segments")
    if account is not None:
        for segment in service.segments_of(account):
            try:
                rows.append({"segment": segment, "count": service.count(account, segment.text)})
            except service.SegmentInputError as exc:  # e.g. a category since deleted
                rows.append({"segment": segment, "error": str(exc)})
    return render(request, "console/segments.html", {
        "rows": rows, "form": form, "error": error, "account": account, "nav": "segments",
    }, status=400 if error else 200)


@login_required
@require_POST
def segment_delete(request, pk: int):
    service.delete(get_object_or_404(Segment, pk=pk, account=_account(request)))
    return redirect("console-segments")


@login_required
@require_GET
def segment_count(request):
    """``?text=…`` → ``{"matched": n, "subscribed": m}`` or ``{"error": "…"}`` (400)."""
    account = _account(request)
    if account is None:
        return JsonResponse({"error": "no account"}, status=404)
    try:
        result = service.count(account, request.GET.get("text", ""))
    except service.SegmentInputError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"matched": result.matched, "subscribed": result.subscribed})
