"""Why a follower was not sent a campaign: the one place where reason codes are defined.

Every follower who is not sent a campaign gets exactly one reason, the first that
applies in the order below (hard rules first, then the decision). The codes are
stable strings: the console, the API and stored plans use them as they are.
"""

from __future__ import annotations

from typing import Final

SENT: Final = "sent"

# Hard rules: never broken, whatever the decision would have said.
UNSUBSCRIBED: Final = "unsubscribed"  # not (or no longer) following the account: consent
NOT_A_CONTACT: Final = "not_a_contact"  # WeCom campaigns: not (or no longer) an external contact
OPTED_OUT: Final = "opted_out"  # replied 退订 or TD: no marketing push on any channel
ALREADY_SENT: Final = "already_sent"  # received this campaign in an earlier run
SEGMENT: Final = "segment"  # outside the campaign's segment filter
PLATFORM_LIMIT: Final = "platform_limit"  # WeChat's mass-send quota by account type
OUTSIDE_WINDOW: Final = "outside_window"  # customer-service message outside the 48 h window
QUIET_HOURS: Final = "quiet_hours"  # send time falls in the merchant's quiet hours
WEEKLY_CAP: Final = "weekly_cap"  # follower already got the merchant's weekly maximum
MIN_GAP: Final = "min_gap"  # too soon after the follower's previous push
CATEGORY_COOLDOWN: Final = "category_cooldown"  # same category pushed too recently
# The decision.
CONTROL_GROUP: Final = "control_group"  # in the account's long-run control group: no marketing
HOLDOUT: Final = "holdout"  # in the campaign's random holdout, kept to measure lift
LOW_RELEVANCE: Final = "low_relevance"  # expected value below harm, and no sign of interest (why it is low)
NO_LIFT: Final = "no_lift"  # interested, but a push adds no orders (buys anyway, or less)
HARM_EXCEEDS_VALUE: Final = (
    "harm_exceeds_value"  # interested, but the push costs more than it earns
)
LOST_TO_OTHER_CAMPAIGN: Final = "lost_to_other_campaign"  # another campaign won this follower/slot

# Index 0 is "sent"; the planner stores codes as uint8 indices into this tuple.
CODES: Final[tuple[str, ...]] = (
    SENT,
    UNSUBSCRIBED,
    ALREADY_SENT,
    SEGMENT,
    PLATFORM_LIMIT,
    OUTSIDE_WINDOW,
    QUIET_HOURS,
    WEEKLY_CAP,
    MIN_GAP,
    CATEGORY_COOLDOWN,
    HOLDOUT,
    LOW_RELEVANCE,
    HARM_EXCEEDS_VALUE,
    LOST_TO_OTHER_CAMPAIGN,
    NOT_A_CONTACT,
    CONTROL_GROUP,
    NO_LIFT,
    OPTED_OUT,
)
CODE_INDEX: Final[dict[str, int]] = {code: i for i, code in enumerate(CODES)}

HARD_RULES: Final[frozenset[str]] = frozenset(
    {
        UNSUBSCRIBED,
        NOT_A_CONTACT,
        OPTED_OUT,
        ALREADY_SENT,
        SEGMENT,
        PLATFORM_LIMIT,
        OUTSIDE_WINDOW,
        QUIET_HOURS,
        WEEKLY_CAP,
        MIN_GAP,
        CATEGORY_COOLDOWN,
    }
)

#: The decision's own reasons: a push would add less than it costs (whatever a rule says).
NOT_WORTH_A_PUSH: Final[frozenset[str]] = frozenset({LOW_RELEVANCE, NO_LIFT, HARM_EXCEEDS_VALUE})

DESCRIPTIONS_ZH: Final[dict[str, str]] = {
    SENT: "已发送",
    UNSUBSCRIBED: "已取消关注",
    NOT_A_CONTACT: "不是企业微信客户",
    OPTED_OUT: "已回复退订，不接收营销推送",
    ALREADY_SENT: "已收到过本活动",
    SEGMENT: "不在目标人群内",
    PLATFORM_LIMIT: "超出平台群发次数限制",
    OUTSIDE_WINDOW: "不在48小时客服消息窗口内",
    QUIET_HOURS: "免打扰时段",
    WEEKLY_CAP: "已达每周推送上限",
    MIN_GAP: "距上次推送间隔太短",
    CATEGORY_COOLDOWN: "同类目推送冷却中",
    CONTROL_GROUP: "长期对照组（不接收营销推送，用于衡量长期效果）",
    HOLDOUT: "对照组（用于衡量增量效果）",
    LOW_RELEVANCE: "未显示对该类目的兴趣",
    NO_LIFT: "推送不会带来额外购买（不推也会买，或推送反而少买）",
    HARM_EXCEEDS_VALUE: "预计打扰代价高于收益",
    LOST_TO_OTHER_CAMPAIGN: "让位于更合适的活动",
}
