"""A plan in words: why followers were held back (the engine's reason codes) and what each
predicted figure means, in the active language. The console's plan and the API's show these."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Why followers were held back (the engine's reason codes), and the predicted figures.
HOLD_BACK_LABELS: dict[str, Promise] = {
    "unsubscribed": _("Unfollowed"),
    "not_a_contact": _("Not a WeCom customer"),
    "already_sent": _("Already received this campaign"),
    "segment": _("Outside the audience"),
    "platform_limit": _("Over the platform's mass-send limit"),
    "outside_window": _("Outside the 48-hour customer-service window"),
    "quiet_hours": _("Quiet hours"),
    "weekly_cap": _("Weekly cap reached"),
    "min_gap": _("Too soon after the last push"),
    "category_cooldown": _("Same category pushed recently"),
    "holdout": _("Holdout (to measure the lift)"),
    "control_group": _("Control group (never sent marketing, to measure the long-run lift)"),
    "low_relevance": _("No interest shown in this category"),
    "no_lift": _("A push adds no orders (they buy anyway, or less)"),
    "harm_exceeds_value": _("Expected harm exceeds the value"),
    "lost_to_other_campaign": _("A better campaign for them"),
}
# Predictions are uplift estimates: what sending adds against not sending.
PREDICTED_LABELS: dict[str, Promise] = {
    "reach": _("Reach"),
    "orders": _("Extra orders (beyond not sending)"),
    "revenue": _("Extra revenue beyond not sending (yuan)"),
    "unfollows": _("Unfollows caused by the push"),
}
