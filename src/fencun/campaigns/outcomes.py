"""Why an outbox row was refused, failed, ended unknown or waits: one code per reason.

Delivery stores the code on the row (``OutboxItem.reason_code``) beside the detail (the
platform's own words, kept as they came); the console, the API and the command line show
the code's label in the reader's language (简体中文 by default, English), from the
project's message catalogues.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from fencun.channels.wechat import errors as E
from fencun.channels.wecom.errors import NotAContact

CANCELLED = "cancelled"
OUTSIDE_WINDOW = "outside_window"
NOT_A_FOLLOWER = "not_a_follower"
NOT_A_CONTACT = "not_a_contact"
REFUSED = "refused"
OUTCOME_UNKNOWN = "outcome_unknown"
RETRY = "retry"
RATE = "rate"
PAUSED = "paused"
ATTEMPTS_EXHAUSTED = "attempts_exhausted"
FAILED = "failed"

LABELS = {
    CANCELLED: _("Cancelled before it was sent"),
    OUTSIDE_WINDOW: _("Outside the follower's customer-service window, or its message count used up"),
    NOT_A_FOLLOWER: _("Not (or no longer) a follower of the account"),
    NOT_A_CONTACT: _("No longer a WeCom contact of any member"),
    REFUSED: _("Refused by the platform"),
    OUTCOME_UNKNOWN: _(
        "Outcome unknown: the platform got the request but no answer came back, and it cannot "
        "be asked; not sent again, so that nobody receives it twice"
    ),
    RETRY: _("Waiting to be tried again after a temporary error"),
    RATE: _("Waiting for the platform's per-minute limit"),
    PAUSED: _("Waiting: the campaign is paused"),
    ATTEMPTS_EXHAUSTED: _("Temporary errors on every attempt"),
    FAILED: _("Failed"),
}


def code_for(exc: Exception) -> str:
    """The reason code of a channel error that ends or holds a row."""
    if isinstance(exc, E.OutcomeUnknown):
        return OUTCOME_UNKNOWN
    if isinstance(exc, E.OutOfWindow):
        return OUTSIDE_WINDOW
    if isinstance(exc, E.InvalidRecipient):
        return NOT_A_FOLLOWER
    if isinstance(exc, NotAContact):
        return NOT_A_CONTACT
    return FAILED


def code_for_refusal(reason: str) -> str:
    """The reason code of one recipient a channel refused (``Sent.refused_reasons``),
    whose reason starts with the error's name and code."""
    if reason.startswith("InvalidRecipient"):
        return NOT_A_FOLLOWER
    if reason.startswith("NotAContact"):
        return NOT_A_CONTACT
    return REFUSED


def label(code: str) -> str:
    """The code's label in the active language ("" for no code; an unknown code as is)."""
    if not code:
        return ""
    return str(LABELS.get(code, code))
