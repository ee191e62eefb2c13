"""The callback protocol for one account: verify, decrypt, store, reply.

Order matters for cost: the cheap checks (size, timestamp, plaintext signature) run
before any parsing, and nothing is stored unless every check passed.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from fencun import clock
from fencun.accounts.models import Account
from fencun.gateway import replies
from fencun.gateway.ingest import committer
from fencun.gateway.normalize import Incoming, normalize
from fencun.protocol import xmlmsg
from fencun.protocol.crypto import MessageCrypto
from fencun.protocol.errors import BadCiphertext, DowngradeRefused, MalformedXml, ProtocolError
from fencun.protocol.signatures import check_signature, check_timestamp, sign

SUCCESS = "success"
# Well inside WeChat's 5 s: past it, WeChat retries and the retry is de-duplicated.
STORE_TIMEOUT_SECONDS = 4.0


@dataclass(frozen=True)
class Reply:
    body: str
    content_type: str = "text/plain; charset=utf-8"


def verify_url(account: Account, query: Mapping[str, str], now: float | None = None) -> str:
    """WeChat's server-URL check: return ``echostr`` if the signature is right."""
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    check_timestamp(timestamp, clock.time() if now is None else now)
    check_signature((account.token.reveal(), timestamp, nonce), query.get("signature", ""))
    echostr = query.get("echostr", "")
    if not echostr:
        raise ProtocolError("echostr missing")
    return echostr


def _decode(
    account: Account, query: Mapping[str, str], body: bytes, now: float
) -> tuple[dict, MessageCrypto | None]:
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    check_timestamp(timestamp, now)
    encrypt_type = query.get("encrypt_type", "raw") or "raw"
    if encrypt_type == "aes":
        if not account.aes_key:
            raise BadCiphertext("this account has no EncodingAESKey")
        envelope = xmlmsg.parse(body)
        encrypt = envelope.get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise MalformedXml("Encrypt missing")
        check_signature(
            (account.token.reveal(), timestamp, nonce, encrypt), query.get("msg_signature", "")
        )
        crypto = MessageCrypto(account.aes_key.reveal(), account.app_id)
        return xmlmsg.parse(crypto.decrypt(encrypt)), crypto
    if encrypt_type != "raw":
        raise ProtocolError("unknown encrypt_type")
    if account.mode == Account.Mode.SAFE:
        # A safe-mode account never receives plaintext from WeChat: this is a downgrade.
        raise DowngradeRefused("plaintext refused: the account is in safe mode")
    check_signature((account.token.reveal(), timestamp, nonce), query.get("signature", ""))
    return xmlmsg.parse(body), None


def _reply_xml(account: Account, incoming: Incoming) -> str | None:
    rule = replies.choose(account.pk, incoming)
    if rule is None:
        return None
    now = int(clock.time())
    if rule.reply_type == "news" and rule.articles:
        return xmlmsg.news_reply(incoming.openid, incoming.to_user, list(rule.articles), now)
    if rule.content:
        return xmlmsg.text_reply(incoming.openid, incoming.to_user, rule.content, now)
    return None


@dataclass(frozen=True)
class Received:
    """A verified, decrypted and parsed message, to store and then answer."""

    account: Account
    incoming: Incoming
    crypto: MessageCrypto | None


def receive_message(
    account: Account, query: Mapping[str, str], body: bytes, now: float | None = None
) -> Received:
    """Verify, decrypt and parse one pushed message (nothing is stored).

    Raises a :class:`ProtocolError` subclass for anything refused.
    """
    message, crypto = _decode(account, query, body, clock.time() if now is None else now)
    return Received(account, normalize(message), crypto)


def reply_to(received: Received) -> Reply:
    """The passive reply to a stored message (or ``success``): call it only once the
    message is stored, so that WeChat is only told "received" once it is."""
    account, crypto = received.account, received.crypto
    reply = _reply_xml(account, received.incoming)
    if reply is None:
        return Reply(SUCCESS)
    if crypto is None:
        return Reply(reply, "application/xml; charset=utf-8")
    encrypted = crypto.encrypt(reply)
    timestamp, nonce = str(int(clock.time())), secrets.token_hex(5)
    envelope = xmlmsg.encrypted_envelope(
        encrypted, sign(account.token.reveal(), timestamp, nonce, encrypted), timestamp, nonce
    )
    return Reply(envelope, "application/xml; charset=utf-8")


def handle_message(
    account: Account, query: Mapping[str, str], body: bytes, now: float | None = None
) -> Reply:
    """Verify and store one pushed message; return the passive reply (or ``success``).

    Raises a :class:`ProtocolError` subclass for anything refused; nothing is stored then.
    """
    received = receive_message(account, query, body, now)
    committer.store(account, received.incoming, STORE_TIMEOUT_SECONDS)
    return reply_to(received)
