"""Previewing a campaign: its message, as the first variant's batch would go out, sent to
one follower for review with ``message/mass/preview`` (no quota, nobody else). The
console's preview button and ``POST /api/campaigns/{id}/preview`` both call
:func:`preview`."""

from __future__ import annotations

import contextlib

from django.utils.translation import gettext as _

from fencun.audience.models import Follower
from fencun.campaigns import delivery, variants
from fencun.campaigns.models import Campaign, OutboxItem
from fencun.campaigns.services import CampaignError
from fencun.channels.wechat import errors as E
from fencun.channels.wechat.channel import OfficialAccount


class PreviewMemo:
    """The channel's memo for a preview: the campaign's cover material (shared with its
    sends) and a draft of the preview's own, kept on the campaign until the next one."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self.row = delivery.RowMemo(OutboxItem(campaign=campaign), campaign, "A")
        self.article = ""

    def get(self, name: str) -> str:
        if name == "thumb":
            return self.row.get("thumb")
        if name == "article":
            return self.article
        return ""  # no attempt, tag or task: a preview is one request

    def put(self, name: str, value: str) -> str:
        if name == "thumb":
            return self.row.put("thumb", value)
        if name == "article":
            self.article = value
        return value


def preview(campaign: Campaign, openid: str, client_factory=None) -> int | None:
    """Send ``campaign``'s message to the follower ``openid`` for review; returns the
    platform's msg_id. :class:`CampaignError` says why when it cannot: not a mass send,
    not a follower of the account, or the platform's refusal."""
    if campaign.channel not in (Campaign.Channel.MASS, Campaign.Channel.PUBLISH):
        raise CampaignError(_("Only a mass send or a publication has a preview."))
    openid = (openid or "").strip()
    if not Follower.objects.filter(account=campaign.account, openid=openid, subscribed=True).exists():
        raise CampaignError(_("%(openid)s does not follow this account.") % {"openid": openid or "—"})
    letter = variants.letters_of(campaign)[0]
    content = delivery.content_of(campaign, OutboxItem(campaign=campaign, openids=[openid], variant=letter))
    channel = delivery.channel_for(campaign, client_factory or delivery.default_clients)
    assert isinstance(channel, OfficialAccount)  # a mass send's channel
    memo = PreviewMemo(campaign)
    earlier = campaign.preview_media_id
    try:
        msg_id = channel.preview(openid, content, memo)
    except E.ChannelError as exc:
        raise CampaignError(_("WeChat refused the preview: %(why)s") % {"why": delivery.reason_of(exc)}) from None
    if memo.article and memo.article != earlier:
        Campaign.objects.filter(pk=campaign.pk).update(preview_media_id=memo.article)
        campaign.preview_media_id = memo.article
        if earlier:
            # The earlier preview's draft, replaced: out of the box, so none is left unlisted.
            with contextlib.suppress(E.ChannelError):
                channel.client.delete_draft(earlier)
    return msg_id
