"""Who may sign in to a tenant, and the rules every grant of a role or accounts obeys.

The ACS calls ``member_for_sso_login`` after a valid assertion and ``record_sso_login`` once the login
succeeds. Emails are compared in one normal form everywhere (``normalise_email``): the local part
lower-cased, the domain as a lower-case IDNA (UTS 46) A-label. Lower-casing the local part is a choice:
RFC 5321 lets a mail server treat it case-sensitively, but no mainstream IdP or mailbox provider does, and
an IdP that asserts "Jane.Doe@" for a user invited as "jane.doe@" must still match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

import idna

from sso_core.clock import utcnow
from sso_core.dal.invitations import InvitationRepository
from sso_core.dal.table import Table
from sso_core.dal.users import MembershipRepository
from sso_core.models.identity import ROLE_RANK, Caller
from sso_core.models.users import InvalidAccounts, InvalidEmail, InvalidRole, Membership, RoleEscalation

# RFC 5322 dot-atom of printable ASCII ("atext"); quoted local parts and SMTPUTF8 are refused.
_LOCAL_PART = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LDH_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


class MembershipRefused(Exception):
    """An SSO login refused for want of an active membership; ``reason`` goes to the login trace."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalise_email(raw: object) -> str:
    """``raw`` as ``local@domain`` with a lower-case local part and an IDNA A-label domain, or InvalidEmail."""
    if not isinstance(raw, str):
        raise InvalidEmail()
    text = raw.strip()
    if not text or len(text) > 320 or any(c.isspace() or ord(c) < 32 for c in text):
        raise InvalidEmail()
    local, sep, domain = text.rpartition("@")
    if not sep or not local or not domain:
        raise InvalidEmail()
    local = local.lower()
    if len(local) > 64 or not _LOCAL_PART.fullmatch(local):
        raise InvalidEmail("The part before @ may hold letters, digits and . ! # $ % & ' * + / = ? ^ _ ` { | } ~ -.")
    domain = domain.removesuffix(".")
    if domain.startswith("[") or any(len(label) > 63 for label in domain.split(".")):
        raise InvalidEmail()
    try:
        ascii_domain = idna.encode(domain, uts46=True, std3_rules=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError):
        raise InvalidEmail() from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LDH_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise InvalidEmail()
    email = f"{local}@{ascii_domain}"
    if len(email) > 254:
        raise InvalidEmail()
    return email


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
    MembershipRefused with reason "invitation_not_accepted" (an unexpired invitation is pending for that
    email) or "user_not_invited" (everything else: never invited, removed, revoked, expired, bad email).
    """
    try:
        normalised = normalise_email(email)
    except InvalidEmail:
        raise MembershipRefused("user_not_invited") from None
    member = MembershipRepository(table).by_email(tenant_id, normalised)
    if member is not None and member.status == "active" and member.email == normalised:
        return member
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
