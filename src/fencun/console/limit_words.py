"""The platforms' limits in a merchant's words: a label per limit of the data files
(``engine/data/platform_limits.json``, ``wecom_limits.json``, the Weibo limits), whether it
is technical (shown folded away), and values as people read them."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from fencun.channels.interface import Limit

LABELS: dict[str, Promise] = {
    "mass_sends_per_day_account": _("Mass sends a day (account)"),
    "mass_sends_per_month_per_follower": _("Mass messages a follower can receive a month"),
    "openid_list_send": _("Can mass-send to a list of followers"),
    "tag_send": _("Can mass-send to a tag"),
    "template_messages": _("Can send template messages"),
    "customer_service_messages": _("Can send customer-service messages"),
    "freepublish_requires_verification": _("Publishing without a push needs a verified account"),
    "mass_history_to_all_only": _("Only a send to all followers enters the history list"),
    "openid_list_min": _("Fewest followers in a list send"),
    "openid_list_max": _("Most followers in one list send"),
    "mass_api_requests_per_minute": _("Mass-send requests a minute"),
    "clientmsgid_dedup_hours": _("Hours a repeated send is recognised"),
    "clientmsgid_max_bytes": _("Length of a send's de-duplication key (bytes)"),
    "mass_send_protection_confirm_minutes": _("Minutes an administrator has to confirm a protected mass send"),
    "customer_service_window_hours": _("Hours after a follower's message that customer-service messages may be sent"),
    "customer_service_per_message": _("Customer-service messages per follower message"),
    "customer_service_event_window_minutes": _("Minutes a click, follow or scan opens for customer-service messages"),
    "customer_service_per_event": _("Customer-service messages per click, follow or scan"),
    "customer_service_idempotency_key": _("Customer-service messages can be de-duplicated by the platform"),
    "error_answer_means_not_sent": _("An error answer means nothing was sent"),
    "template_marketing_allowed": _("Marketing allowed in template messages"),
    "templates_per_account": _("Templates an account can hold"),
    "tags_per_account": _("Tags an account can have"),
    "tags_per_follower": _("Tags a follower can carry"),
    "tag_batch_openids_max": _("Followers tagged per request"),
    "user_list_page_size": _("Followers per page of the follower list"),
    "user_batchget_max": _("Followers per profile request"),
    "access_token_seconds": _("Seconds an access token lasts"),
    "access_token_fetches_per_day": _("Access tokens fetched a day"),
    "callback_reply_seconds": _("Seconds to answer a message"),
    "stable_token_calls_per_minute": _("Stable-token requests a minute"),
    "stable_token_calls_per_day": _("Stable-token requests a day"),
    "stable_token_force_refresh_per_day": _("Forced token refreshes a day"),
    "stable_token_force_refresh_interval_seconds": _("Seconds between forced token refreshes"),
    "stable_token_renew_early_seconds": _("Seconds before expiry a new token is handed out"),
    "mass_per_customer_per_day": _("Mass messages a customer can receive a day"),
    "mass_per_customer_per_day_by_member": _("Mass messages a customer can receive a day from one member"),
    "mass_external_userids_max": _("Customers in one mass message"),
    "mass_attachments_max": _("Attachments in one mass message"),
    "moments_per_customer_per_day": _("Moments a customer sees a day"),
    "moment_text_max_chars": _("Characters in a moment"),
    "moment_attachments_max": _("Attachments in a moment"),
    "moment_list_max_days": _("Days of moments that can be listed"),
    "moment_list_page_max": _("Moments per page"),
    "groupmsg_list_max_days": _("Days of mass messages that can be listed"),
    "groupmsg_list_page_max": _("Mass messages per page"),
    "groupmsg_result_page_max": _("Send results per page"),
    "batch_get_by_user_users_max": _("Members per customer-list request"),
    "batch_get_by_user_page_max": _("Customers per page"),
    "api_calls_per_minute_per_corp": _("API requests a minute (corp)"),
    "api_calls_per_hour_per_corp": _("API requests an hour (corp)"),
    "status_max_chars": _("Characters in a post"),
    "status_needs_safe_domain_url": _("A post must link to the app's safe domain"),
    "status_no_topic_words": _("Topic words (#…#) forbidden in a post"),
    "posts_per_user_per_hour": _("Posts an hour"),
    "requests_per_user_per_hour": _("API requests an hour"),
    "fee_per_post_yuan": _("Fee per post (yuan)"),
    "posts_per_day": _("Posts a day (your own cap)"),
    "posts_per_week": _("Posts a week (your own cap)"),
}
WECHAT_DOCS = "https://developers.weixin.qq.com"
#: Limits that matter to whoever runs the server, not to the merchant's decisions.
TECHNICAL = frozenset({
    "mass_api_requests_per_minute",
    "clientmsgid_dedup_hours",
    "clientmsgid_max_bytes",
    "customer_service_event_window_minutes",
    "customer_service_per_event",
    "customer_service_idempotency_key",
    "error_answer_means_not_sent",
    "templates_per_account",
    "tag_batch_openids_max",
    "user_list_page_size",
    "user_batchget_max",
    "access_token_seconds",
    "access_token_fetches_per_day",
    "callback_reply_seconds",
    "stable_token_calls_per_minute",
    "stable_token_calls_per_day",
    "stable_token_force_refresh_per_day",
    "stable_token_force_refresh_interval_seconds",
    "stable_token_renew_early_seconds",
    "moment_list_max_days",
    "moment_list_page_max",
    "groupmsg_list_max_days",
    "groupmsg_list_page_max",
    "groupmsg_result_page_max",
    "batch_get_by_user_users_max",
    "batch_get_by_user_page_max",
    "api_calls_per_minute_per_corp",
    "api_calls_per_hour_per_corp",
    "requests_per_user_per_hour",
})


def value_words(value: object) -> str:
    """A limit's value as people read it: yes or no, no limit, or a number with separators."""
    if value is True:
        return gettext("Yes")
    if value is False:
        return gettext("No")
    if value is None:
        return gettext("No limit")
    if isinstance(value, int | float):
        return f"{value:,}"
    return str(value)


def source_link(source: str) -> str:
    """A limit's page as a link: the WeChat table gives paths on its developer site; a
    source that is not a page (the merchant's own cap) gives none."""
    if source.startswith("https://"):
        return source
    if source.startswith("/doc/"):
        return WECHAT_DOCS + source
    return ""


def merchant_rows(limits: list[Limit]) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The limits as rows (label, value words, note, source), the merchant's first and the
    technical ones apart."""
    rows: tuple[list[dict[str, object]], list[dict[str, object]]] = ([], [])
    for limit in limits:
        row: dict[str, object] = {"label": LABELS.get(limit.name, limit.name), "value": value_words(limit.value),
               "note": limit.note, "source": source_link(limit.source)}
        rows[limit.name in TECHNICAL].append(row)
    return rows
