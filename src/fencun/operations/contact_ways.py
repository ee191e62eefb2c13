"""WeCom channel codes: "contact me" codes (联系我) per store, poster or event, each with a
welcome and corp tags. The WeCom twin of the Official Account's channel QR codes
(:mod:`fencun.operations.qrchannels`).

A code is made on WeCom first (``add_contact_way`` with the channel's ``state``) and
recorded only if WeCom accepted it. A customer who adds a member through it comes back
as an ``add_external_contact`` callback with that State and a WelcomeCode; the gateway
calls :func:`on_contact_added` while handling the callback, because the code lives 20
seconds and serves once: the welcome goes out at once, then the tags. Nothing there
raises into the callback, which must still answer WeCom.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fencun import inputs
from fencun.channels.models import WecomCorp, WecomTag
from fencun.channels.wecom.client import WeComClient
from fencun.channels.wecom.contact_limits import limit
from fencun.channels.wecom.errors import ChannelError, LimitRefused, WeComError
from fencun.channels.wecom.ledger import wecom_client
from fencun.operations.channel_fields import check_common
from fencun.operations.models import WecomContactWay

log = logging.getLogger(__name__)

#: States fencun makes and accepts: letters, digits, ``_`` and ``-`` (State comes back
#: inside the callback's XML, and a merchant reads it in reports).
STATE_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
EDITABLE = ("name", "kind", "welcome", "tag_ids")
#: The welcome is sent inside the callback, which WeCom wants answered within 5 s: short
#: timeouts, no retry (the WelcomeCode serves once anyway).
CALLBACK_TIMEOUT_S = 2.0
CALLBACK_CONNECT_TIMEOUT_S = 1.0

#: WeCom refusals in the merchant's words (codes: the global return codes and
#: ``channels/wecom/data/contact_way_limits.json``); others show WeCom's own message.
CODES = {
    40058: gettext_lazy("WeCom refused a field of the code (state, members or remark)."),
    40068: gettext_lazy("A chosen tag no longer exists in WeCom."),
    41037: gettext_lazy("WeCom could not tell whether the code is for one member or several."),
    48002: gettext_lazy("The secret's app may not configure contact codes; add it to the customer contact apps."),
    60111: gettext_lazy("A member is not in the corp or has no customer contact."),
}


class ContactWayInputError(inputs.FieldErrors):
    """A refused contact code: ``errors`` maps each bad field to why; nothing was saved."""


@dataclass
class Added:
    """What :func:`on_contact_added` did for one add."""

    way: WecomContactWay | None = None
    welcomed: bool = False
    tagged: bool = False
    errors: list[str] | None = None


def platform_words(exc: WeComError) -> str:
    """A WeCom refusal in the merchant's words, with WeCom's code."""
    words = CODES.get(exc.errcode)
    text = str(words) if words is not None else exc.errmsg
    return _("%(text)s (WeCom error %(code)s)") % {"text": text, "code": exc.errcode}


# -- checking ---------------------------------------------------------------------------


def _check_fields(fields: dict[str, Any]) -> dict[str, list[str]]:
    errors = check_common(fields, WecomContactWay.Kind.values)
    if inputs.has_nul(fields):  # nothing else of such input is worth reading
        return errors

    def bad(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if "welcome" in fields:
        most = int(limit("welcome", "text_max_bytes"))
        welcome = fields["welcome"]
        if not isinstance(welcome, str) or len(welcome.encode("utf-8")) > most:
            bad("welcome", _("A WeCom welcome has at most %(limit)s bytes (about %(chars)s Chinese characters).")
                % {"limit": most, "chars": most // 3})
    if "tag_ids" in fields:
        tag_ids = fields["tag_ids"]
        if not isinstance(tag_ids, list | tuple) or any(not isinstance(t, str) or not t for t in tag_ids):
            bad("tag_ids", _("Choose tags of the corp."))
    return errors


def _check_members(members: Any) -> list[str]:
    most = int(limit("contact_way", "multi_users_max"))
    if (
        not isinstance(members, list | tuple)
        or not 1 <= len(members) <= most
        or any(not isinstance(m, str) or not m.strip() for m in members)
        or len(set(members)) != len(members)
    ):
        return [_("Choose 1 to %(limit)s different members.") % {"limit": most}]
    return []


def _check_state(corp: WecomCorp, state: Any) -> list[str]:
    most = int(limit("contact_way", "state_max_chars"))
    if not isinstance(state, str) or not 1 <= len(state) <= most or not STATE_PATTERN.fullmatch(state):
        return [_("A state has 1 to %(limit)s letters, digits, “_” or “-”.") % {"limit": most}]
    if WecomContactWay.objects.filter(corp=corp, state=state).exists():
        return [_("Another contact code of the corp has this state.")]
    return []


def _tag_names(corp: WecomCorp, tag_ids: list[str], client: WeComClient | None) -> list[str] | None:
    """Names of the corp's tags (synced ones first, WeCom for the rest); None if any is unknown."""
    known = dict(WecomTag.objects.filter(corp=corp, tag_id__in=tag_ids).values_list("tag_id", "name"))
    missing = [t for t in tag_ids if t not in known]
    if missing and client is not None:
        for group in client.corp_tags(tag_ids=missing):
            known.update({str(t["id"]): str(t.get("name") or "") for t in group.get("tag") or []})
    if any(t not in known for t in tag_ids):
        return None
    return [known[t] for t in tag_ids]


def _refused(exc: ChannelError) -> ContactWayInputError:
    if isinstance(exc, WeComError):
        return ContactWayInputError({"__all__": [platform_words(exc)]})
    if isinstance(exc, LimitRefused):
        return ContactWayInputError({"__all__": [str(exc)]})
    return ContactWayInputError(
        {"__all__": [_("WeCom could not be reached; nothing was changed. Try again.")]}
    )


# -- making and changing codes ------------------------------------------------------------


def create_contact_way(
    corp: WecomCorp,
    client: WeComClient,
    *,
    name: str,
    members: list[str] | tuple[str, ...],
    kind: str = WecomContactWay.Kind.OTHER,
    state: str | None = None,
    welcome: str = "",
    tag_ids: list[str] | tuple[str, ...] = (),
) -> WecomContactWay:
    """Make a contact code on WeCom and record it. :class:`ContactWayInputError` for bad
    fields or a refusal of WeCom; nothing is recorded then."""
    tag_ids = list(tag_ids)
    errors = _check_fields({"name": name, "kind": kind, "welcome": welcome, "tag_ids": tag_ids})
    state = state if state else f"cw_{secrets.token_hex(6)}"
    for field, problems in (("members", _check_members(members)), ("state", _check_state(corp, state))):
        if problems:
            errors[field] = problems
    try:
        names = _tag_names(corp, tag_ids, client) if "tag_ids" not in errors else []
    except ChannelError as exc:
        raise _refused(exc) from None
    if names is None:
        errors["tag_ids"] = [_("A chosen tag is not a tag of the corp.")]
    if errors:
        raise ContactWayInputError(errors)
    try:
        made = client.add_contact_way(list(members), state=state, remark=name.strip()[:30])
    except ChannelError as exc:
        raise _refused(exc) from None
    try:
        with transaction.atomic():
            return WecomContactWay.objects.create(
                corp=corp, name=name.strip(), kind=kind, state=state, config_id=made.config_id,
                qr_code=made.qr_code, members=list(members), welcome=welcome, tag_ids=tag_ids,
                tag_names=names or [],
            )
    except IntegrityError:  # the same state saved meanwhile: do not leave our code on WeCom
        _forget(client, made.config_id)
        raise ContactWayInputError({"state": [_("Another contact code of the corp has this state.")]}) from None


def _forget(client: WeComClient, config_id: str) -> None:
    try:
        client.delete_contact_way(config_id)
    except ChannelError as exc:
        log.warning("contact way %s left on WeCom unrecorded: %s", config_id, exc)


def update_contact_way(
    way: WecomContactWay, *, client: WeComClient | None = None, **fields: Any
) -> WecomContactWay:
    """Change what a code does (its QR code stays): the fields of :data:`EDITABLE`. Tags
    not synced yet are looked up on WeCom when ``client`` is given."""
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise ContactWayInputError({name: [_("cannot be changed")] for name in unknown})
    errors = _check_fields(fields)
    if "tag_ids" in fields and "tag_ids" not in errors:
        try:
            names = _tag_names(way.corp, list(fields["tag_ids"]), client)
        except ChannelError as exc:
            raise _refused(exc) from None
        if names is None:
            errors["tag_ids"] = [_("A chosen tag is not a tag of the corp.")]
        else:
            way.tag_names = names
    if errors:
        raise ContactWayInputError(errors)
    for name, value in fields.items():
        setattr(way, name, list(value) if name == "tag_ids" else value)
    way.save()
    return way


def archive_contact_way(way: WecomContactWay, client: WeComClient) -> WecomContactWay:
    """Delete the code on WeCom (its QR code adds no more) and mark it archived."""
    if way.archived:
        return way
    try:
        client.delete_contact_way(way.config_id)
    except ChannelError as exc:
        raise _refused(exc) from None
    way.archived = True
    way.save(update_fields=["archived", "updated_at"])
    return way


# -- a customer added a member through a code ------------------------------------------------


def _callback_client(corp: WecomCorp) -> WeComClient:
    return wecom_client(
        corp,
        timeout=CALLBACK_TIMEOUT_S,
        connect_timeout=CALLBACK_CONNECT_TIMEOUT_S,
        max_retries=0,
    )


def on_contact_added(
    corp: WecomCorp,
    userid: str,
    external_userid: str,
    state: str,
    welcome_code: str,
    *,
    client: WeComClient | None = None,
) -> Added:
    """Welcome a customer who added ``userid`` through the code of ``state``, then give
    them its tags. Called inside the callback: failures are logged, never raised."""
    done = Added()
    try:
        way = _way_of(corp, state)
        if way is None:
            return done
        done.way = way
        own = client is None
        client = client or _callback_client(corp)
        try:
            _welcome(client, way, welcome_code, external_userid, done)  # first: 20 s
            _tag(client, way, userid, external_userid, done)
        finally:
            if own:
                client.close()
    except Exception:  # noqa: BLE001 - the callback must answer WeCom whatever happens here
        log.exception("wecom contact way %r: handling the add of %s failed", state, external_userid)
        done.errors = [*(done.errors or []), "unexpected"]
    return done


def _way_of(corp: WecomCorp, state: str) -> WecomContactWay | None:
    if not state:
        return None
    way = WecomContactWay.objects.filter(corp=corp, state=state, archived=False).first()
    if way is None:
        log.info("wecom add through unknown state %r of corp %s: nothing to do", state, corp.corp_id)
    return way


def _welcome(
    client: WeComClient, way: WecomContactWay, welcome_code: str, external_userid: str, done: Added
) -> None:
    if not way.welcome.strip():
        return
    if not welcome_code:  # the member has a welcome set in WeCom's console: it wins
        log.info("wecom contact way %s: no WelcomeCode for %s", way.state, external_userid)
        return
    try:
        client.send_welcome_msg(welcome_code, way.welcome)
    except ChannelError as exc:
        log.warning("wecom contact way %s: welcome to %s refused: %s", way.state, external_userid, exc)
        done.errors = [*(done.errors or []), f"welcome: {exc}"]
        return
    done.welcomed = True


def _tag(client: WeComClient, way: WecomContactWay, userid: str, external_userid: str, done: Added) -> None:
    if not way.tag_ids:
        return
    try:
        client.mark_tag(userid, external_userid, add=list(way.tag_ids))
    except ChannelError as exc:
        log.warning("wecom contact way %s: tagging %s failed: %s", way.state, external_userid, exc)
        done.errors = [*(done.errors or []), f"tags: {exc}"]
        return
    done.tagged = True
