"""Mass and Moments tasks after creation: their results read back from WeCom into the
event log, so reports see who got what.

A mass task's results change as members confirm it, so they are read again until every
member has sent; each (task, member, customer, status) is stored once, so reading again
records only what changed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fencun import clock
from fencun.audience.services import NewEvent, record_events
from fencun.channels.models import WecomCorp
from fencun.channels.wecom.client import MomentTaskResult, WeComClient

MASS_RESULT = "wecom_mass_result"
MOMENT_RESULT = "wecom_moment_result"
#: Every member has sent the mass task: its results are final.
MASS_FINISHED = "wecom_mass_finished"
#: ``get_groupmsg_send_result`` statuses.
MASS_STATUS = {0: "pending", 1: "sent", 2: "not_a_contact", 3: "over_daily_cap"}


@dataclass
class MassResults:
    """A mass task as WeCom reports it: members who sent, customers by status."""

    members: int = 0
    members_sent: int = 0
    customers: Counter[str] = field(default_factory=Counter)
    recorded: int = 0

    @property
    def finished(self) -> bool:
        return self.members > 0 and self.members_sent == self.members


def record_mass_results(corp: WecomCorp, client: WeComClient, msgid: str) -> MassResults:
    """Read a mass task's results (every member, every customer) and store the new ones."""
    results = MassResults()
    events: list[NewEvent] = []
    cursor = ""
    while True:
        members, cursor = client.groupmsg_tasks(msgid, cursor)
        for member in members:
            results.members += 1
            if member.get("status") != 2:
                continue  # not confirmed yet: its customers are all pending
            results.members_sent += 1
            userid = str(member["userid"])
            page = ""
            while True:
                rows, page = client.groupmsg_send_result(msgid, userid, page)
                for row in rows:
                    status = MASS_STATUS.get(int(row.get("status") or 0), "unknown")
                    results.customers[status] += 1
                    sent_at = int(row.get("send_time") or 0)
                    at = datetime.fromtimestamp(sent_at, tz=UTC) if sent_at else clock.now()
                    external_userid = str(row.get("external_userid") or "")
                    events.append(
                        NewEvent(
                            MASS_RESULT,
                            "",
                            at,
                            {
                                "msgid": msgid,
                                "userid": userid,
                                "external_userid": external_userid,
                                "status": status,
                            },
                            "wecom",
                            f"wecom:mass:{corp.corp_id}:{msgid}:{userid}:{external_userid}:{status}"[
                                :200
                            ],
                        )
                    )
                if not page:
                    break
        if not cursor:
            break
    if events:
        results.recorded = sum(1 for r in record_events(corp.account, events) if r.created)
    return results


def record_moment_result(corp: WecomCorp, client: WeComClient, jobid: str) -> MomentTaskResult:
    """Read a Moments job; once it is done, store its result (once)."""
    result = client.moment_task_result(jobid)
    if result.done:
        payload = {
            "jobid": jobid,
            "status": result.status,
            "moment_id": result.moment_id,
            "errcode": result.errcode,
            "invalid_users": result.invalid_users,
            "invalid_tags": result.invalid_tags,
        }
        record_events(
            corp.account,
            [
                NewEvent(
                    MOMENT_RESULT,
                    "",
                    clock.now(),
                    payload,
                    "wecom",
                    f"wecom:moment:{corp.corp_id}:{jobid}",
                )
            ],
        )
    return result
