"""The break-glass rule: password login may be off for a domain only while an owner still signs in with a password.

A break-glass owner of domain D is an active owner *membership* of the tenant whose email's domain is neither
D nor another domain of the tenant whose password login is off: whatever happens to SSO, that owner signs in
with a password and can switch the connection off (which switches password login back on).

Only memberships count, never the caller's token alone: a token proves who holds the owner role at this
moment, not that they will still be there when SSO breaks, and a membership is what the users routes can
protect (removing or demoting the last break-glass owner is refused, ``users.py``) and what a transaction
can check (``dal.users.still_owner_check``). An owner who is not yet a membership invites themselves (or another
owner) and accepts.

Used by the kill switch (switching password login off) and by the users routes (removing or demoting an
owner); kept free of SAML imports, as the users function must not load pysaml2.
"""

from __future__ import annotations

from collections.abc import Iterable

from sso_core.models.users import Membership


def member_domain(member: Membership) -> str:
    """The domain of a membership's (normalised) email: a lower-case IDNA A-label, like a claim's domain."""
    return member.email.rpartition("@")[2]


def break_glass_owners(
    members: Iterable[Membership], password_off: Iterable[str], domain: str, excluding: str | None = None
) -> list[Membership]:
    """Owners who keep signing in with a password if password login is (or stays) off for ``domain``.

    ``password_off``: the tenant's domains whose password login is off; ``excluding``: a user id to leave
    out (the owner about to be removed or demoted).
    """
    unavailable = {*password_off, domain}
    return [
        m
        for m in members
        if m.role == "owner" and m.status == "active" and m.user_id != excluding and member_domain(m) not in unavailable
    ]
