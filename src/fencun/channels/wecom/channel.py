"""WeCom customer contact as a channel (``channels/interface.py``): mass messages to
external contacts, planned and delivered like any campaign, and posts to customer
Moments, posted and capped like any broadcast post.

WeCom takes no idempotency key for ``add_msg_template``, so a task whose answer was lost
could be created twice. The batch's memo closes that gap: before calling, it is marked
``started:<epoch>``; the msgid replaces the mark the moment WeCom answers. A later
attempt that finds the mark without a msgid looks the task up (``get_groupmsg_list_v2``
since the mark, same text, and every customer of the task in this batch -- batches of a
campaign never share a customer) and adopts it; only when there is none is it created.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from fencun import clock
from fencun.channels.interface import Batch, Capability, Content, Limit, Memo, Receipt, Sent
from fencun.channels.models import WecomCorp
from fencun.channels.wecom import people
from fencun.channels.wecom.client import WeComClient, platform_day
from fencun.channels.wecom.errors import NotAContact
from fencun.channels.wecom.tasks import MASS_RESULT, MOMENT_RESULT
from fencun.engine.limits import wecom_limits_table

STARTED = "started:"
# How far before the attempt's mark a task may carry a create_time (clock skew).
LOOKUP_SLACK_S = 120


def message_text(content: Content) -> str:
    """A WeCom text has no title field: a news campaign's title leads its body."""
    if content.message_type == "text":
        return content.body or content.title
    return "\n\n".join(p for p in (content.title, content.body) if p)


def attachments(content: Content) -> list[dict[str, Any]]:
    """A news campaign with a page to read (its first product's, tracked) carries it as a
    link card, WeCom's nearest thing to an article."""
    if content.message_type != "news" or not content.link:
        return []
    desc = " ".join(content.body.split())[:60]
    return [{"msgtype": "link", "link": {"title": content.title[:64], "url": content.link, "desc": desc}}]


# Why a person of a batch is refused before calling: no member has them as a contact.
GONE = "NotAContact 84061: no longer a contact of any member"


class CustomerContact:
    name = "wecom"
    capabilities = frozenset({Capability.MASS_TO_SET, Capability.MOMENTS})
    callback_path = "/wecom/callback"
    row_failures: tuple[type[Exception], ...] = (NotAContact,)

    def __init__(self, corp: WecomCorp, client: WeComClient) -> None:
        self.corp = corp
        self.client = client

    @staticmethod
    def limits() -> list[Limit]:
        return [
            Limit(k, v["value"], v["source"], v.get("note", ""))
            for k, v in wecom_limits_table()["limits"].items()
        ]

    def send(self, batch: Batch, memo: Memo) -> Sent:
        if not batch.recipients:
            return self._post_moment(batch, memo)
        recorded = memo.get("task")
        if recorded and not recorded.startswith(STARTED):
            return Sent(recorded)
        by_key = people.external_userids(self.corp, batch.recipients)
        ids = list(by_key.values())
        gone = tuple(k for k in batch.recipients if k not in by_key)
        if not ids:
            raise NotAContact(84061, "no one in this batch is a contact any more", "(before calling)")
        text = message_text(batch.content)
        if recorded:
            found = self._find(int(recorded[len(STARTED) :]), set(ids), text)
            if found:
                memo.put("task", found)
                self.client.ledger.record("mass", found, ids, platform_day())
                return Sent(found, refused=gone, refused_reasons=dict.fromkeys(gone, GONE))
        memo.put("task", f"{STARTED}{int(clock.time())}")
        task = self.client.add_msg_template(ids, text, attachments=attachments(batch.content))
        memo.put("task", task.msgid)
        return Sent(task.msgid, refused=gone + tuple(task.fail_list), refused_reasons=dict.fromkeys(gone, GONE))

    def _post_moment(self, batch: Batch, memo: Memo) -> Sent:
        """A batch without recipients is a post to customers' Moments: one task the
        members confirm, visible to all their customers. Posting claims the post once
        (``channels/broadcast/services.py``), so a lost answer is never posted again."""
        posted = memo.get("post")
        if posted:
            return Sent(posted)
        return Sent(memo.put("post", self.client.add_moment_task(batch.content.body)))

    def _find(self, since: int, ids: set[str], text: str) -> str:
        """The msgid of a task created since ``since`` with ``text``, all of whose
        customers are in ``ids``; "" if there is none."""
        start, end = since - LOOKUP_SLACK_S, int(max(clock.time(), time.time())) + LOOKUP_SLACK_S
        cursor = ""
        while True:
            tasks, cursor = self.client.groupmsg_list(start, end, cursor=cursor, limit=100)
            for task in tasks:
                if (task.get("text") or {}).get("content") != text:
                    continue
                customers = self._customers(str(task["msgid"]))
                if customers and customers <= ids:
                    return str(task["msgid"])
            if not cursor:
                return ""

    def _customers(self, msgid: str) -> set[str]:
        found: set[str] = set()
        cursor = ""
        while True:
            members, cursor = self.client.groupmsg_tasks(msgid, cursor)
            for member in members:
                page = ""
                while True:
                    rows, page = self.client.groupmsg_send_result(msgid, str(member["userid"]), page)
                    found.update(str(r.get("external_userid") or "") for r in rows)
                    if not page:
                        break
            if not cursor:
                return found

    @staticmethod
    def parse_receipt(kind: str, payload: Mapping[str, Any]) -> Receipt | None:
        return parse_receipt(kind, payload)


_MASS_STATUS = {
    "sent": "delivered",
    "pending": "pending",
    "not_a_contact": "failed",
    "over_daily_cap": "failed",
}


def parse_receipt(kind: str, payload: Mapping[str, Any]) -> Receipt | None:
    """A mass task's result for one customer, or a Moments job's result, as
    ``channels/wecom/tasks.py`` stores them; None for any other kind."""
    if kind == MASS_RESULT:
        status = _MASS_STATUS.get(str(payload.get("status")), "failed")
        return Receipt(
            CustomerContact.name,
            str(payload.get("msgid") or ""),
            status,
            delivered=int(status == "delivered"),
            failed=int(status == "failed"),
            recipient=str(payload.get("external_userid") or ""),
        )
    if kind == MOMENT_RESULT:
        ok = int(payload.get("status") or 0) == 2 and not int(payload.get("errcode") or 0)
        return Receipt(CustomerContact.name, str(payload.get("jobid") or ""), "posted" if ok else "failed")
    return None
