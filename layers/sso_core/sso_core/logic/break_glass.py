"""The break-glass rule: password login may be off for a domain only while an owner still signs in with a password.

A break-glass owner of domain D is an active owner *membership* of the tenant whose email's domain is neither
D nor another domain of the tenant whose password login is off: whatever happens to SSO, that owner signs in
with a password and can switch the connection off (which switches password login back on).

Only memberships count, never the caller's token alone: a token proves who holds the owner role at this
moment, not that they will still be there when SSO breaks, and a membership is what the users routes can
protect (removing or demoting the last break-glass owner is refused, ``users.py``) and what a transaction
can check (``still_owner_check``). An owner who is not yet a membership invites themselves (or another
owner) and accepts.

Used by the kill switch (switching password login off) and by the users routes (removing or demoting an
owner); kept free of SAML imports, as the users function must not load pysaml2.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sso_core.dal.table import key, serialize_values
from sso_core.dal.users import tenant_pk, user_sk
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


def still_owner_check(table_name: str, member: Membership) -> dict[str, Any]:
    """Transaction op: ``member`` is still an active owner when the transaction commits."""
    return {
        "ConditionCheck": {
            "TableName": table_name,
            "Key": key(tenant_pk(member.tenant_id), user_sk(member.user_id)),
            "ConditionExpression": "#role = :owner AND #status = :active",
            "ExpressionAttributeNames": {"#role": "role", "#status": "status"},
            "ExpressionAttributeValues": serialize_values({":owner": "owner", ":active": "active"}),
        }
    }


def password_still_on_check(table_name: str, domain: str, tenant_id: str) -> dict[str, Any]:
    """Transaction op: password login is still on for the tenant's claim of ``domain`` when it commits."""
    return {
        "ConditionCheck": {
            "TableName": table_name,
            "Key": key(f"DOMAIN#{domain}", f"CLAIM#{tenant_id}"),  # the claim's key (dal.domains)
            "ConditionExpression": "password_login = :on",
            "ExpressionAttributeValues": serialize_values({":on": True}),
        }
    }
