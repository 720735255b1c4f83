"""Who may sign in to a tenant, and the rules every grant of a role or accounts obeys.

The ACS calls ``member_for_sso_login`` after a valid assertion and ``record_sso_login`` once the login
succeeds. Emails are compared in one normal form everywhere (``models.emails.normalise_email``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sso_core.clock import utcnow
from sso_core.dal.invitations import InvitationRepository
from sso_core.dal.table import Table
from sso_core.dal.users import MembershipRepository
from sso_core.models.emails import normalise_email
from sso_core.models.identity import ROLE_RANK, Caller
from sso_core.models.login_outcomes import Refusal
from sso_core.models.users import InvalidAccounts, InvalidEmail, InvalidRole, Membership, RoleEscalation


class MembershipRefused(Exception):
    """An SSO login refused for want of an active membership; ``reason`` goes to the login trace."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = Refusal(reason)  # one vocabulary: an unnamed code fails here


def check_role(role: object) -> str:
    if not isinstance(role, str) or role not in ROLE_RANK:
        raise InvalidRole()
    return role


def check_grant(caller: Caller, role: object, accounts: Iterable[str]) -> tuple[str, list[str]]:
    """The role and accounts ``caller`` may grant: no role above their own, only accounts they hold.

    The identity service that issues admin tokens is authoritative over accounts: the token's ``accounts``
    claim is the set a caller may hand out, which is how accounts of another tenant are refused.
    """
    granted_role = check_role(role)
    if not caller.at_least(granted_role):
        raise RoleEscalation()
    return granted_role, check_accounts(caller, accounts)


def check_accounts(caller: Caller, accounts: Iterable[str]) -> list[str]:
    """``accounts`` without duplicates, or InvalidAccounts unless each is one of the caller's."""
    granted = list(dict.fromkeys(accounts))
    if not set(granted) <= set(caller.accounts):
        raise InvalidAccounts()
    return granted


def member_for_sso_login(table: Table, tenant_id: str, email: str) -> Membership:
    """The active membership of ``tenant_id`` whose email equals ``email`` (both normalised), else
    MembershipRefused with reason "user_deactivated" (suspended by SCIM provisioning), "invitation_not_accepted"
    (an unexpired invitation is pending for that email) or "user_not_invited" (everything else: never invited,
    removed, revoked, expired, bad email). A member made by SCIM provisioning needs no invitation.
    """
    try:
        normalised = normalise_email(email)
    except InvalidEmail:
        raise MembershipRefused("user_not_invited") from None
    member = MembershipRepository(table).by_email(tenant_id, normalised)
    if member is not None and member.status == "active" and member.email == normalised:
        return member
    if member is not None and member.status == "suspended":
        raise MembershipRefused("user_deactivated")  # soft-deleted by the provisioning client (SCIM active: false)
    pending = InvitationRepository(table).pending_for_email(tenant_id, normalised)
    if pending is not None and pending.usable_at(utcnow()):
        raise MembershipRefused("invitation_not_accepted")
    raise MembershipRefused("user_not_invited")


def record_sso_login(table: Table, membership: Membership, when: datetime) -> None:
    """Record the last sign-in. Raises MembershipRefused("user_not_invited") if the membership was removed
    after ``member_for_sso_login`` read it, so a removal racing a login still refuses that login.
    """
    if not MembershipRepository(table).record_login(membership, when):
        raise MembershipRefused("user_not_invited")
