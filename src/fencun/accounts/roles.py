"""Who may see and do what in which account: the roles of ``Membership``.

- **owner** — everything, including the account's members, secrets and API tokens;
- **operator** — runs campaigns and content (campaigns, segments, products, stores,
  auto-replies, posts, rules), but manages no members, secrets or tokens;
- **analyst** — reads everything of the account and changes nothing.

A superuser (the installation's administrator, created by ``fencun serve`` or
``fencun demo``) is the owner of every account. Everyone else sees only the accounts
they are a member of.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from fencun.accounts.models import Account, Membership

Role = Membership.Role

# What each role may do, from most to least.
# Keyed by str: a role read from the database or a form is a plain str equal to its member.
_RANK: dict[str, int] = {Role.OWNER: 3, Role.OPERATOR: 2, Role.ANALYST: 1}


def at_least(role: str | None, needed: str) -> bool:
    """Whether ``role`` (None: no role at all) allows what ``needed`` allows."""
    return role is not None and _RANK.get(role, 0) >= _RANK[Role(needed)]


def can_write(role: str | None) -> bool:
    """Campaigns, content and rules: owners and operators."""
    return at_least(role, Role.OPERATOR)


def can_manage(role: str | None) -> bool:
    """Members, secrets and API tokens: owners only."""
    return at_least(role, Role.OWNER)


def accounts_for(user: Any) -> QuerySet[Account]:
    """The accounts ``user`` may see (none for an anonymous or inactive user)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Account.objects.none()
    if user.is_superuser:
        return Account.objects.all()
    return Account.objects.filter(memberships__user=user)


def role_in(user: Any, account: Account | None) -> str | None:
    """``user``'s role in ``account``, or None when they have none there."""
    if account is None or user is None or not getattr(user, "is_authenticated", False):
        return None
    if not user.is_active:
        return None
    if user.is_superuser:
        return Role.OWNER
    return (
        Membership.objects.filter(user=user, account=account).values_list("role", flat=True).first()
    )


def grant(user: Any, account: Account, role: str) -> Membership:
    """Give ``user`` ``role`` in ``account`` (replacing the role they had there)."""
    row, _ = Membership.objects.update_or_create(
        user=user, account=account, defaults={"role": Role(role)}
    )
    return row


def remove(membership: Membership) -> None:
    """Take the role away: the user no longer sees the account (their login stays)."""
    membership.delete()
