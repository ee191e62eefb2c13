"""A plan in words: why followers were held back (the engine's reason codes) and what each
predicted figure means, in the active language. The console's plan and the API's show these."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from fencun.engine.limits import load_platform_limits, load_wecom_limits

# Why followers were held back (the engine's reason codes), and the predicted figures.
HOLD_BACK_LABELS: dict[str, Promise] = {
    "unsubscribed": _("Unfollowed"),
    "not_a_contact": _("Not a WeCom customer"),
    "opted_out": _("Opted out of marketing (replied 退订 or TD)"),
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


def delivery_words(method: str, account_type: str, reach: int) -> str:
    """How a plan reaching ``reach`` followers goes out and what that costs on the
    platform, in the active language, with the limits of ``engine/data/platform_limits.json``
    and ``wecom_limits.json``."""
    limits = load_platform_limits(account_type)
    per_call = load_wecom_limits().mass_external_userids_max if method == "wecom_mass" else limits.openid_list_max
    batches = -(-reach // per_call)
    calls = ngettext("%(n)d call", "%(n)d calls", batches) % {"n": batches}
    if method == "openid_list":
        words = gettext("A mass send to the planned followers' OpenIDs (%(calls)s of up to %(most)s): it does not "
                        "enter the account's history list.") % {"calls": calls, "most": f"{limits.openid_list_max:,}"}
    elif method == "tag":
        words = gettext("A mass send to a tag holding the planned followers: it does not enter the account's "
                        "history list (only a send to all followers does).")
    elif method == "customer_service":
        words = gettext("Customer-service messages, one to each follower who wrote in the last %(hours)d hours: "
                        "no mass send is used.") % {"hours": limits.customer_service_window_hours}
    elif method == "publish":
        words = gettext("Published on the account's page and in search, pushed to nobody: no mass send is used "
                        "and no follower's attention is spent.")
        if limits.freepublish_requires_verification:
            words += " " + gettext("This account type may publish only once verified.")
        return words
    elif method == "wecom_mass":
        per_day = load_wecom_limits().mass_per_customer_per_day
        return gettext("A WeCom mass message (%(calls)s): each member confirms it in WeCom, and a customer "
                       "receives at most %(n)d a day.") % {"calls": calls, "n": per_day}
    else:
        return gettext("Nobody: nothing goes out.")
    if limits.mass_sends_per_day_account is not None:
        words += " " + gettext("This account type makes %(n)d mass send a day.") % {"n": limits.mass_sends_per_day_account}
    if limits.mass_sends_per_month_per_follower is not None:
        words += " " + gettext("A follower receives at most %(n)d mass messages a month.") % {
            "n": limits.mass_sends_per_month_per_follower}
    return words


#: A sentence per reason a send time holds followers back, for ``n`` of them.
TIME_WARNINGS: dict[str, Callable[[int], str]] = {
    "weekly_cap": lambda n: ngettext("%(n)s follower has had this week's pushes (weekly cap).",
                                     "%(n)s followers have had this week's pushes (weekly cap).", n),
    "min_gap": lambda n: ngettext("%(n)s follower was pushed too recently (minimum gap).",
                                  "%(n)s followers were pushed too recently (minimum gap).", n),
    "platform_limit": lambda n: ngettext("%(n)s follower is over the platform's mass-send limit.",
                                         "%(n)s followers are over the platform's mass-send limit.", n),
    "outside_window": lambda n: ngettext(
        "%(n)s follower has not written in the last 48 hours: a customer-service message cannot reach them.",
        "%(n)s followers have not written in the last 48 hours: a customer-service message cannot reach them.",
        n),
}


def time_warnings(held_back: dict[str, int], quiet_words: str = "") -> list[str]:
    """What the send time a plan was made for costs, in sentences: ``quiet_words`` (the
    sentence for a time in the quiet hours, empty otherwise), then the followers the caps
    and windows hold back at that time (``held_back``: reason -> followers)."""
    out = [quiet_words] if quiet_words else []
    for code, sentence in TIME_WARNINGS.items():
        n = int(held_back.get(code, 0))
        if n:
            out.append(sentence(n) % {"n": f"{n:,}"})
    return out
