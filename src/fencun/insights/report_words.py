"""A campaign's report in a merchant's words: what the push earned beyond its holdout
(with its interval, or "not sure yet"), the followers it cost, and what holding back was
predicted to spare. The console, the API and the command line say the same sentences."""

from __future__ import annotations

from django.utils.translation import gettext as _

from fencun.figures import count, yuan
from fencun.insights.services import CampaignReport


def report_words(r: CampaignReport) -> dict[str, str]:
    """Sentences by key, in the active language: ``headline`` (per follower), ``earned``
    (in all), ``cost`` (followers) without a holdout only ``no_holdout``; ``restraint``
    once a plan is approved that left followers out."""
    words: dict[str, str] = {}
    lift = r.lift
    if lift is None:
        words["no_holdout"] = _("No holdout: lift cannot be measured.")
    else:
        low, high = lift.revenue_per_follower_ci
        each = yuan(lift.revenue_per_follower)
        if low > 0:
            words["headline"] = _(
                "Each follower sent this push bought %(each)s more than the holdout, who were not sent it."
            ) % {"each": each}
        elif high < 0:
            words["headline"] = _(
                "Each follower sent this push bought %(each)s less than the holdout: the push cost sales."
            ) % {"each": each}
        else:
            words["headline"] = _(
                "Not sure yet: the followers sent this push and the holdout bought about the same so far."
            )
        total = yuan(lift.incremental_revenue, 0)
        low_yuan, high_yuan = (yuan(x, 0) for x in lift.incremental_revenue_ci)
        if lift.incremental_revenue_ci[0] > 0:
            words["earned"] = _(
                "In all the push earned %(total)s beyond the holdout (between %(low)s and %(high)s)."
            ) % {"total": total, "low": low_yuan, "high": high_yuan}
        elif lift.incremental_revenue_ci[1] < 0:
            words["earned"] = _(
                "In all the push changed sales by %(total)s against the holdout (between %(low)s and "
                "%(high)s): it cost sales."
            ) % {"total": total, "low": low_yuan, "high": high_yuan}
        elif lift.incremental_revenue_ci[0] == lift.incremental_revenue_ci[1]:
            words["earned"] = _("Nobody in either group has bought yet: nothing to compare so far.")
        else:
            words["earned"] = _(
                "What the push earned in all lies between %(low)s and %(high)s: not sure yet."
            ) % {"low": low_yuan, "high": high_yuan}
        lost_low, lost_high = lift.unfollows_caused_ci
        if lost_low > 0:
            words["cost"] = _(
                "It cost about %(n)s followers: they unfollowed beyond the holdout's rate (between "
                "%(low)s and %(high)s)."
            ) % {"n": count(lift.unfollows_caused), "low": count(lost_low), "high": count(lost_high)}
        elif lost_high < 0:
            words["cost"] = _("It cost no followers: fewer unfollowed than in the holdout.")
        else:
            words["cost"] = _(
                "No follower lost to it can be told apart from chance so far (at most about %(high)s)."
            ) % {"high": count(lost_high)}
    spared = r.restraint
    if spared is not None and spared.left_out:
        if spared.revenue_given_up > 0:
            words["restraint"] = _(
                "Not sending to %(n)s followers of the audience spared about %(u)s unfollows and gave up "
                "about %(given)s of sales, by the estimates of the plan it was approved on."
            ) % {"n": count(spared.left_out), "u": count(spared.unfollows_spared),
                 "given": yuan(spared.revenue_given_up, 0)}
        else:
            words["restraint"] = _(
                "Not sending to %(n)s followers of the audience spared about %(u)s unfollows and gave up "
                "no sales: sending to them was predicted to cost sales, by the estimates of the plan it "
                "was approved on."
            ) % {"n": count(spared.left_out), "u": count(spared.unfollows_spared)}
    return words
