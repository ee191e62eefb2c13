"""One person, whatever channel reaches them: WeCom customers as person keys.

A WeCom customer who also follows the Official Account (the same ``unionid``) is keyed by
the follower's openid, so the engine keeps one attention budget for both channels; a
customer who does not follow is keyed ``wecom:<external_userid>`` (never a valid openid,
so Official Account campaigns cannot reach them).
"""

from __future__ import annotations

from collections.abc import Iterable

from fencun.accounts.models import Account
from fencun.audience.models import Follower
from fencun.channels.models import ExternalContact, WecomCorp

PREFIX = "wecom:"
CHUNK = 1000


def campaign_corp(account: Account) -> WecomCorp | None:
    """The corp WeCom campaigns of ``account`` are sent through (its first)."""
    return account.wecom_corps.order_by("pk").first()


def _openid_by_unionid(account: Account) -> dict[str, str]:
    return dict(
        Follower.objects.filter(account=account).exclude(unionid="").values_list("unionid", "openid")
    )


def customers(corp: WecomCorp) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The corp's active customers in one pass: external_userid -> person key, and corp
    tag name -> person keys of the customers with it (tags by name, as merchants write
    them in a segment; tag ids the corp no longer has are left out)."""
    from fencun.channels.models import WecomTag

    openid_of = _openid_by_unionid(corp.account)
    names = dict(WecomTag.objects.filter(corp=corp).values_list("tag_id", "name"))
    keys: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    for ext, unionid, tags in (
        ExternalContact.objects.filter(corp=corp, active=True)
        .values_list("external_userid", "unionid", "tags")
        .iterator()
    ):
        key = keys[ext] = openid_of.get(unionid) or PREFIX + ext
        for tag_id in tags or ():
            name = names.get(str(tag_id))
            if name:
                members.setdefault(name, []).append(key)
    return keys, members


def person_keys(corp: WecomCorp) -> dict[str, str]:
    """external_userid -> person key, for the corp's active customers."""
    return customers(corp)[0]


def external_userids(corp: WecomCorp, keys: Iterable[str]) -> dict[str, str]:
    """person key -> external_userid, for the keys that are active contacts of ``corp``
    (bounded IN lists: a batch holds up to 10,000 keys)."""

    keys = list(dict.fromkeys(keys))
    contacts = ExternalContact.objects.filter(corp=corp, active=True)
    out: dict[str, str] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        direct = {k[len(PREFIX) :]: k for k in chunk if k.startswith(PREFIX)}
        for ext in contacts.filter(external_userid__in=list(direct)).values_list("external_userid", flat=True):
            out[direct[ext]] = ext
        unionid_to_openid = dict(
            Follower.objects.filter(account=corp.account, openid__in=[k for k in chunk if not k.startswith(PREFIX)])
            .exclude(unionid="")
            .values_list("unionid", "openid")
        )
        for ext, unionid in contacts.filter(unionid__in=list(unionid_to_openid)).values_list(
            "external_userid", "unionid"
        ):
            out[unionid_to_openid[unionid]] = ext
    return out
