"""WeCom's callback protocol for one corp: verify, decrypt, store.

The same scheme as the Official Account's safe mode (WXBizMsgCrypt: AES-256-CBC,
PKCS#7 to 32 bytes, key = base64(EncodingAESKey + "=")), with two differences: the
receive id inside every plaintext is the CorpID, and every request -- the URL check
included -- is signed with ``msg_signature`` = sha1(sorted token, timestamp, nonce,
ciphertext); there is no plaintext mode. The GET check decrypts ``echostr`` and answers
its plaintext. Nothing is stored unless every check passed.

A new customer added through one of the corp's "contact me" codes is welcomed and tagged
while the callback is handled (:func:`fencun.operations.contact_ways.on_contact_added`):
the WelcomeCode lives 20 seconds, too short to wait in a queue.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction

from fencun import clock
from fencun.audience.services import NewEvent, Recorded, record_events
from fencun.channels.models import WecomCorp
from fencun.channels.wecom import contacts
from fencun.channels.wecom.events import ADD_EXTERNAL_CONTACT, WecomEvent, normalize
from fencun.operations import contact_ways
from fencun.protocol import xmlmsg
from fencun.protocol.crypto import MessageCrypto
from fencun.protocol.errors import BadCiphertext, MalformedXml, ProtocolError
from fencun.protocol.signatures import check_signature, check_timestamp


def _crypto(corp: WecomCorp) -> MessageCrypto:
    key = corp.aes_key.reveal()  # outside the try: unreadable is not a bad key
    try:
        return MessageCrypto(key, corp.corp_id)
    except ValueError:
        raise BadCiphertext("this corp's EncodingAESKey is not usable") from None


def _checked(corp: WecomCorp, query: Mapping[str, str], encrypt: str, now: float | None) -> None:
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    check_timestamp(timestamp, clock.time() if now is None else now)
    check_signature((corp.token.reveal(), timestamp, nonce, encrypt), query.get("msg_signature", ""))


def verify_url(corp: WecomCorp, query: Mapping[str, str], now: float | None = None) -> str:
    """WeCom's URL check: the plaintext of ``echostr`` if it is signed and ours."""
    echostr = query.get("echostr", "")
    if not echostr:
        raise ProtocolError("echostr missing")
    _checked(corp, query, echostr, now)
    try:
        return _crypto(corp).decrypt(echostr).decode("utf-8")
    except UnicodeDecodeError:
        raise BadCiphertext("echostr plaintext is not UTF-8") from None


def decode(
    corp: WecomCorp, query: Mapping[str, str], body: bytes, now: float | None = None
) -> WecomEvent:
    """Check and decrypt one pushed callback; raise a :class:`ProtocolError` subclass if refused."""
    # The cheap checks first: a stale timestamp is refused before any parsing.
    check_timestamp(query.get("timestamp", ""), clock.time() if now is None else now)
    envelope = xmlmsg.parse(body)
    encrypt = envelope.get("Encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise MalformedXml("Encrypt missing")
    _checked(corp, query, encrypt, now)
    message = xmlmsg.parse(_crypto(corp).decrypt(encrypt))
    return normalize(corp.corp_id, message)


def store(corp: WecomCorp, event: WecomEvent) -> Recorded:
    """Append the event (once per de-duplication key) and, if new, apply it to the contact,
    in one transaction."""
    with transaction.atomic():
        recorded = record_events(
            corp.account,
            [NewEvent(event.kind, "", event.occurred_at, event.payload, "wecom", event.dedup_key)],
        )[0]
        if recorded.created:
            contacts.apply_event(corp, event)
    return recorded


def handle_event(
    corp: WecomCorp, query: Mapping[str, str], body: bytes, now: float | None = None
) -> Recorded:
    """Verify, decrypt and store one callback, then welcome a new customer. Retries of a
    stored event come back with ``created=False`` and change nothing."""
    event = decode(corp, query, body, now)
    recorded = store(corp, event)
    if recorded.created and event.kind == ADD_EXTERNAL_CONTACT:
        welcome(corp, event)
    return recorded


def welcome(corp: WecomCorp, event: WecomEvent) -> None:
    """The add's contact code, if any, welcomes and tags the customer (never raises)."""
    payload = event.payload
    contact_ways.on_contact_added(
        corp,
        payload.get("userid", ""),
        payload.get("external_userid", ""),
        payload.get("state", ""),
        payload.get("welcome_code", ""),
    )
