"""The Official Account as a channel (``channels/interface.py``).

Subscription accounts send one mass message a day: a tag of the chosen followers and a
``sendall`` to it (the tag's id is memoised before tagging, so a re-claimed batch reuses
it; tagging again is harmless). Service accounts send to openid lists. Customer-service
messages go to one follower inside the 48-hour window. Every mass send carries the
batch's ``clientmsgid``, so WeChat refuses a repeat (45065, which the client reports as
sent).

An openid list with one openid the platform will not send to (one who unfollowed since
the plan, or not this account's) is refused whole, with 40003 and without saying which
(the global return codes: "不合法的 OpenID，请开发者确认 OpenID（该用户）是否已关注公众号，
或是否是其他公众号的 OpenID"). Rather than fail up to 10,000 followers for one, the batch's
followers are looked up (``user/info/batchget``, 100 a call; a page the platform refuses
whole is halved until the refused openids are alone), the refused ones are reported in
:class:`Sent`, and the rest is sent under the same ``clientmsgid``: the refused call was
not accepted, so nothing goes twice.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from fencun import clock
from fencun.channels.interface import Batch, Capability, Content, Limit, Memo, Receipt, Sent
from fencun.channels.wechat import covers, messages
from fencun.channels.wechat import errors as E
from fencun.channels.wechat.articles import DraftArticle
from fencun.channels.wechat.client import WeChatClient
from fencun.engine.limits import platform_limits_table

TAG_BATCH = 50  # WeChat tags at most 50 openids per call
CUSTOM_PATHS = frozenset({"/cgi-bin/message/custom/send"})
MASS_PATHS = frozenset({"/cgi-bin/message/mass/sendall", "/cgi-bin/message/mass/send"})
PUBLISH_PATHS = frozenset({"/cgi-bin/freepublish/submit"})


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


class OfficialAccount:
    name = "wechat"
    capabilities = frozenset({Capability.MASS_TO_SET, Capability.PER_USER})
    callback_path = "/wechat/callback"
    row_failures: tuple[type[Exception], ...] = (E.OutOfWindow, E.InvalidRecipient)

    def __init__(
        self, client: WeChatClient, account_type: str, *, customer_service: bool = False, publish: bool = False
    ) -> None:
        self.client = client
        self.account_type = account_type
        self.customer_service = customer_service
        self.publish = publish

    def limits(self) -> list[Limit]:
        return self.limits_for(self.account_type)

    @staticmethod
    def limits_for(account_type: str) -> list[Limit]:
        """The limits of a ``subscription`` or ``service`` account, each with its source."""
        table = platform_limits_table()
        rows = {**table["account_types"][account_type], **table["common"]}
        return [Limit(k, v["value"], v["source"], v.get("note", "")) for k, v in rows.items()]

    def send(self, batch: Batch, memo: Memo) -> Sent:
        if self.publish:
            return self._publish(batch.content, memo)
        message = self._message(batch.content, memo)
        client = self.client
        limits = client.limits
        if self.customer_service:
            # No key and nothing to ask: an attempt left without an answer is never repeated.
            remembers = 0.0 if not limits.customer_service_idempotency_key else float("inf")
            with self._attempt(memo, remembers, CUSTOM_PATHS):
                client.send_custom(
                    batch.recipients[0],
                    message,
                    last_interaction_at=batch.context.get("last_interaction_at"),
                )
            return Sent()
        remembers = limits.clientmsgid_dedup_hours * 3600.0
        if self.account_type == "service":
            with self._attempt(memo, remembers, MASS_PATHS):
                return self._send_to_openids(batch, message)
        tag_id = int(memo.get("tag") or 0) or None
        if tag_id is None:
            tag_id = client.create_tag(f"fc{uuid.uuid4().hex[:10]}").id
            memo.put("tag", str(tag_id))
        for start in range(0, len(batch.recipients), TAG_BATCH):
            client.tag_followers(tag_id, list(batch.recipients[start : start + TAG_BATCH]))
        with self._attempt(memo, remembers, MASS_PATHS):
            result = client.sendall(message, clientmsgid=batch.clientmsgid, tag_id=tag_id)
        return Sent(str(result.msg_id or ""), result.msg_id)

    @contextmanager
    def _attempt(self, memo: Memo, remembers_s: float, paths: frozenset[str]) -> Iterator[None]:
        """Around the request that sends a batch: it is marked on the batch before it
        leaves, and the mark is cleared when an answer says nothing was sent. A batch
        found marked had an attempt whose outcome is open; repeating it is safe only while
        the platform remembers its idempotency key (``remembers_s`` seconds: 0 for an API
        without one), else :class:`OutcomeUnknown` ends it unsent rather than risk a
        second delivery. Raises :class:`OutcomeUnknown` too when this attempt's own
        request may have reached the platform and no key makes a repeat safe."""
        started = memo.get("attempt")
        now = clock.time()
        if started and now - float(started) >= remembers_s:
            raise E.OutcomeUnknown(
                f"an attempt at {_when(float(started))} got no answer, and the platform cannot "
                "be asked whether it sent it"
            )
        if not started:
            memo.put("attempt", repr(now))
        try:
            yield
        except E.ChannelError as exc:
            if not self._may_have_acted(exc, paths):
                if not started:
                    memo.put("attempt", "")  # only this attempt's request was open: closed now
                raise
            if remembers_s <= 0:
                raise E.OutcomeUnknown(
                    f"{type(exc).__name__} after the request left ({exc}); it may have been delivered"
                ) from exc
            raise

    def _may_have_acted(self, exc: E.ChannelError, paths: frozenset[str]) -> bool:
        """Whether the platform may have sent on the request that raised ``exc``."""
        if isinstance(exc, E.WeChatError):
            return not self.client.limits.error_answer_means_not_sent
        # A failure of another request (a token fetch before the send) sent nothing.
        return exc.may_have_acted and exc.path in paths

    def _send_to_openids(self, batch: Batch, message: dict[str, Any]) -> Sent:
        recipients = list(batch.recipients)
        try:
            result = self.client.send_to_openids(recipients, message, clientmsgid=batch.clientmsgid)
            return Sent(str(result.msg_id or ""), result.msg_id)
        except E.InvalidRecipient:
            refused = self._refused(recipients)
            if not refused:
                raise  # no one in the batch is refused now: nothing to take out
        rest = [o for o in recipients if o not in refused]
        if len(rest) < self.client.limits.openid_list_min:
            # An openid list goes to two followers at least (40130): one left is not sent.
            reason = "InvalidRecipient 40130: the only one left of a batch; an openid list needs two"
            refused.update({o: reason for o in rest})
            return Sent(refused=tuple(refused), refused_reasons=refused)
        result = self.client.send_to_openids(rest, message, clientmsgid=batch.clientmsgid)
        return Sent(str(result.msg_id or ""), result.msg_id, tuple(refused), refused)

    def _refused(self, openids: list[str]) -> dict[str, str]:
        """The openids of ``openids`` the platform will not mass send to, with why: not
        following the account any more, or not a follower of it at all."""
        refused: dict[str, str] = {}
        step = self.client.limits.user_batchget_max
        pending = [openids[i : i + step] for i in range(0, len(openids), step)]
        while pending:
            page = pending.pop()
            try:
                profiles = self.client.get_profiles(page)
            except E.InvalidRecipient:
                # The page holds an openid that is not this account's: halve it until
                # that openid is alone (at most log2(100) calls more per such openid).
                if len(page) == 1:
                    refused[page[0]] = "InvalidRecipient 40003: not a follower of this account"
                else:
                    pending += [page[: len(page) // 2], page[len(page) // 2 :]]
                continue
            found = {p.openid: p for p in profiles}
            for openid in page:
                profile = found.get(openid)
                if profile is None or not profile.subscribed:
                    refused[openid] = "InvalidRecipient 40003: no longer follows the account"
        return refused

    def _publish(self, content: Content, memo: Memo) -> Sent:
        """Publish the article without a push (``freepublish/submit``): on the account's
        page and in search, notifying nobody. The platform takes no idempotency key, so an
        attempt left without an answer is never repeated (it ends unknown): an article is
        published once or not at all."""
        media_id = content.media_id or self._article(content, memo)
        with self._attempt(memo, 0.0, PUBLISH_PATHS):
            publish_id = self.client.publish(media_id)
        memo.put("task", publish_id)  # what PUBLISHJOBFINISH and freepublish/get name it by
        return Sent(publish_id)

    def preview(self, openid: str, content: Content, memo: Memo) -> int | None:
        """Send ``content`` as its mass send would go out to one follower for review
        (``message/mass/preview``): no quota is used and nobody else receives it. A news
        article is a draft of its own, which the preview leaves in the box."""
        return self.client.preview(openid, self._message(content, memo))

    def _message(self, content: Content, memo: Memo) -> dict[str, Any]:
        if content.message_type == "news":
            return messages.news(content.media_id or self._article(content, memo))
        if content.message_type == "image" and content.media_id:
            if self.customer_service:
                return messages.custom_image(content.media_id)
            return messages.images([content.media_id])
        return messages.text(content.body or content.title)

    def _article(self, content: Content, memo: Memo) -> str:
        """The media_id of this batch's draft (``draft/add``). The cover is added once as
        permanent material and shared by every draft of the campaign; each batch gets a
        draft of its own, since a mass send takes its draft out of the box. Both are
        memoised before use, so a retried batch sends the draft it made, never a second."""
        found = memo.get("article")
        if found:
            return found
        thumb = memo.get("thumb") or memo.put(
            "thumb", self.client.add_material("thumb", "cover.jpg", content.cover or covers.plain_cover()).media_id
        )
        body = content.body or content.title
        article = DraftArticle(
            title=content.title,
            content="".join(f"<p>{html.escape(p)}</p>" for p in body.splitlines() if p.strip()),
            thumb_media_id=thumb,
            digest=" ".join(body.split())[:54],
            content_source_url=content.link,
        )
        return memo.put("article", self.client.add_draft([article]))

    @staticmethod
    def parse_receipt(kind: str, payload: Mapping[str, Any]) -> Receipt | None:
        return parse_receipt(kind, payload)


def _count(raw: Mapping[str, Any], name: str) -> int:
    try:
        return int(raw.get(name) or 0)
    except (TypeError, ValueError):
        return 0


#: publish_status of a publish (/doc/subscription/api/public/api_freepublish_get.html).
PUBLISH_STATUS = {
    0: "published",
    1: "publishing",
    2: "originality check failed",
    3: "failed",
    4: "platform review failed",
    5: "deleted by the account after publishing",
    6: "blocked by the platform after publishing",
}


def _publish_receipt(payload: Mapping[str, Any]) -> Receipt:
    """A PUBLISHJOBFINISH event as the gateway stores it: nobody is notified, so nothing
    counts as delivered; ``posted`` with the article's id and URLs, or ``failed`` with the
    articles that failed and why."""
    raw_status = payload.get("publish_status")
    status = int(raw_status) if isinstance(raw_status, int) else 3  # unreadable: a failure
    return Receipt(
        OfficialAccount.name,
        str(payload.get("publish_id") or ""),
        "posted" if status == 0 else ("pending" if status == 1 else "failed"),
        article_id=str(payload.get("article_id") or ""),
        article_urls=tuple(str(u) for u in payload.get("article_urls") or ()),
        failed_items=tuple(int(i) for i in payload.get("fail_idx") or ()),
        reason=PUBLISH_STATUS.get(status, f"publish_status {status}") if status else "",
    )


def parse_receipt(kind: str, payload: Mapping[str, Any]) -> Receipt | None:
    """A MASSSENDJOBFINISH event as the gateway stores it (``msg_id`` and WeChat's raw
    fields: Status, TotalCount, SentCount, ErrorCount), or a PUBLISHJOBFINISH one; None
    for any other kind."""
    if kind == "publishjobfinish":
        return _publish_receipt(payload)
    if kind != "masssendjobfinish":
        return None
    raw = payload.get("raw") or {}
    sent, errors = _count(raw, "SentCount"), _count(raw, "ErrorCount")
    status = "delivered" if raw.get("Status") == "send success" else ("partial" if sent else "failed")
    return Receipt(
        OfficialAccount.name,
        str(payload.get("msg_id") or raw.get("MsgID") or ""),
        status,
        delivered=sent,
        failed=errors,
    )
