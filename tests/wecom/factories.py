"""Building WeCom callbacks exactly as WeCom sends them."""

from __future__ import annotations

import secrets
import time

from fencun.protocol import xmlmsg
from fencun.protocol.crypto import MessageCrypto
from fencun.protocol.signatures import sign

CORP_ID = "ww0000000000000001"
TOKEN = "wecomtesttoken"  # noqa: S105 - test value
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


class WeComSigner:
    """Builds callback requests exactly as WeCom sends them (always encrypted)."""

    def __init__(self, token: str = TOKEN, aes_key: str = AES_KEY, corp_id: str = CORP_ID) -> None:
        self.token = token
        self.corp_id = corp_id
        self.crypto = MessageCrypto(aes_key, corp_id)

    def query(self, encrypt: str, timestamp: int | None = None) -> dict[str, str]:
        ts, nonce = str(timestamp or int(time.time())), str(secrets.randbelow(10**9))
        return {
            "msg_signature": sign(self.token, ts, nonce, encrypt),
            "timestamp": ts,
            "nonce": nonce,
        }

    def verify(
        self, echo: str = "1288432023552776189", timestamp: int | None = None
    ) -> dict[str, str]:
        echostr = self.crypto.encrypt(echo)
        return {**self.query(echostr, timestamp), "echostr": echostr}

    def event(self, fields: dict, timestamp: int | None = None) -> tuple[dict[str, str], bytes]:
        encrypt = self.crypto.encrypt(xmlmsg.build(fields))
        body = xmlmsg.build({"ToUserName": self.corp_id, "Encrypt": encrypt, "AgentID": "1000002"})
        return self.query(encrypt, timestamp), body.encode("utf-8")


def contact_event(change_type: str = "add_external_contact", **fields) -> dict:
    """A ``change_external_contact`` callback; CreateTime now unless given."""
    base = {
        "ToUserName": CORP_ID,
        "FromUserName": "sys",
        "CreateTime": int(time.time()),
        "MsgType": "event",
        "Event": "change_external_contact",
        "ChangeType": change_type,
        "UserID": "zhangsan",
        "ExternalUserID": "wmAJ2GCAAAXtWyujaWJHDDGi0mACAAAA",
    }
    base.update(fields)
    return base
