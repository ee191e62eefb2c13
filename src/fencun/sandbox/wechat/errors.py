"""The platform's error answers: ``ApiError`` raised by a family, ``{"errcode", "errmsg"}`` out.

Messages are the platform's own (global return codes page,
/doc/offiaccount/Getting_Started/Global_Return_Code.html), each followed by a request id
as WeChat adds one.
"""

from __future__ import annotations

import secrets
from typing import Any

ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40004: "invalid media type",
    40005: "invalid file type",
    40006: "invalid media size",
    40007: "invalid media_id",
    40008: "invalid message type",
    40009: "invalid image size",
    40010: "invalid voice size",
    40011: "invalid video size",
    40012: "invalid thumb size",
    40013: "invalid appid",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40026: "invalid sub button key size",
    40027: "invalid sub button url size",
    40032: "invalid openid list size",
    40037: "invalid template_id",
    40114: "invalid index value",
    40125: "invalid appsecret",
    41001: "access_token missing",
    41005: "media data missing",
    41039: "invalid content_source_url",
    42001: "access_token expired",
    43004: "require subscribe",
    44002: "empty post data",
    45002: "content size out of limit",
    45003: "title size out of limit",
    45004: "description size out of limit",
    45008: "article size out of limit",
    46003: "menu no exist",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach-limit mustslower retry next minute",
    45015: "response out of time limit or subscription is canceled",
    45028: "has no masssend quota",
    45047: "out of response count limit",
    45056: "too many tags",
    45057: "can't delete the tag that has too many fans",
    45058: "can't modify sys tag",
    45059: "too many tag now, no need to add new",
    45065: "clientmsgid exist",
    45066: "same clientmsgid retry too fast",
    45067: "clientmsgid size out of limit",
    45106: "This API has been unsupported. For more details, please view https://mp.weixin.qq.com/cgi-bin/announce?action=getannouncement&announce_id=11644831863qFQSh",
    45110: "author size out of limit",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    47001: "data format error",
    48001: "api unauthorized",
    48006: "forbid to clear quota because of reaching the limit",
    53503: "该草稿未通过发布检查",
    53600: "Article ID 无效",
    61500: "date format error",
    61501: "date range error",
    65301: "this menu is not conditionalmenu",
    65303: "there is no selfmenu, please create selfmenu first",
    65304: "match rule empty",
    # The page gives the code, not the text: the sandbox's own wording.
    65320: "match rule contains private info (sex, region, language), no longer supported",
    87014: "risky content",
    88000: "without comment privilege",
}


class ApiError(Exception):
    """A refused call: the family raises it, the dispatcher answers it."""

    def __init__(self, errcode: int, **extra: Any) -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.extra = extra


def error_answer(exc: ApiError) -> dict[str, Any]:
    """The JSON WeChat answers for a refused call."""
    rid = secrets.token_hex(4)
    extra = dict(exc.extra)
    # A page may word a shared code its own way (freepublish/get's 40002 "invalid argument").
    message = extra.pop("errmsg", None) or ERRMSG.get(exc.errcode, "invalid request")
    return {"errcode": exc.errcode, "errmsg": f"{message} rid: {rid}", **extra}
