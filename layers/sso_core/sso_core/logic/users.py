"""Users (admin): list a tenant's members, change their role or accounts, remove them.

Nobody manages a member whose role is above their own or grants more than they hold; removing a member
deletes the membership, so that user's next SSO login is refused (``memberships.member_for_sso_login``).

Removing or demoting an owner is refused (``break_glass_owner_required``) when they are the last
break-glass owner of a domain whose password login is off (``break_glass.py``): nobody could then sign in
to switch SSO off if the IdP broke. The transaction checks that the other break-glass owner is still an
owner and that password login is still on where this owner would become needed, so two such changes at
once cannot both pass. Every change is audited in its own transaction (``user.changed``, ``user.removed``:
email, role and accounts before and after).
"""

from __future__ import annotations

import re
from typing import Any

from sso_core.dal.audit import AuditLog
from sso_core.dal.domains import DomainRepository
from sso_core.dal.table import InvalidCursor, Table, TxItem
from sso_core.dal.users import MembershipRepository, still_owner_check
from sso_core.logic.break_glass import break_glass_owners, member_domain
from sso_core.logic.memberships import check_accounts, check_role
from sso_core.models.errors import Conflict, InvalidRequest
from sso_core.models.identity import Caller
from sso_core.models.users import Membership, RoleEscalation, UpdateUserRequest, UserList, UserNotFound, UserOut
from sso_core.observability import logger

USER_ID = re.compile(r"usr_[0-9a-f]{32}")


def plausible_user_id(user_id: str) -> bool:
    return USER_ID.fullmatch(user_id) is not None  # a full match: "^...$" with match() allows a trailing newline


TransactOps = list[TxItem]  # (a module-level name: UserService.list shadows the builtin in the class)


class BreakGlassOwnerRequired(Conflict):
    code = "break_glass_owner_required"
    default_message = (
        "Password login is off for a domain and this is the last owner who signs in with a password; "
        "make another owner with an email outside that domain first, or switch password login back on."
    )


def to_out(m: Membership) -> UserOut:
    return UserOut(
        id=m.user_id,
        email=m.email,
        role=m.role,
        accounts=m.accounts,
        status=m.status,
        created_at=m.created_at,
        last_login_at=m.last_login_at,
        invited_by=m.invited_by,
    )


def _audited(m: Membership) -> dict[str, Any]:
    return {"email": m.email, "role": m.role, "accounts": list(m.accounts)}


class UserService:
    def __init__(self, table: Table) -> None:
        self.table = table
        self.repo = MembershipRepository(table)
        self.audit = AuditLog(table)

    def list(self, caller: Caller, limit: int = 50, cursor: str | None = None) -> UserList:
        """One page of the caller's tenant's members, in email order."""
        try:
            members, next_cursor = self.repo.page(caller.tenant_id, limit, cursor)
        except InvalidCursor:
            raise InvalidRequest("The cursor is not valid.") from None
        return UserList(users=[to_out(m) for m in members], next_cursor=next_cursor)

    def get(self, caller: Caller, user_id: str) -> UserOut:
        """One member of the caller's tenant (the console's edit page), or UserNotFound."""
        return to_out(self._get(caller, user_id))

    def _get(self, caller: Caller, user_id: str) -> Membership:
        if not plausible_user_id(user_id):
            raise UserNotFound()
        member = self.repo.get(caller.tenant_id, user_id)
        if member is None:
            raise UserNotFound()
        return member

    def _manageable(self, caller: Caller, user_id: str) -> Membership:
        member = self._get(caller, user_id)
        if not caller.at_least(member.role):
            raise RoleEscalation()
        return member

    def update(self, caller: Caller, user_id: str, request: UpdateUserRequest) -> UserOut:
        if request.role is None and request.accounts is None:
            raise InvalidRequest("Give a role, accounts or both.")
        role = check_role(request.role) if request.role is not None else None
        member = self._manageable(caller, user_id)
        if role is not None and not caller.at_least(role):
            raise RoleEscalation()
        accounts = check_accounts(caller, request.accounts) if request.accounts is not None else member.accounts
        new_role = role or member.role
        if new_role == member.role and accounts == member.accounts:
            return to_out(member)  # nothing changes, nothing to audit
        ops = self._keep_break_glass(member) if new_role != "owner" else []
        after = member.model_copy(update={"role": new_role, "accounts": accounts})
        ops.append(
            self.audit.put_op(
                caller.tenant_id, caller, "user.changed", member.user_id, _audited(member), _audited(after)
            )
        )
        saved = self.repo.update(member, new_role, accounts, ops)
        logger.info("user updated", extra={"tenant_id": caller.tenant_id, "user_id": user_id})
        return to_out(saved)

    def remove(self, caller: Caller, user_id: str) -> None:
        member = self._manageable(caller, user_id)
        ops = self._keep_break_glass(member)
        ops.append(self.audit.put_op(caller.tenant_id, caller, "user.removed", member.user_id, _audited(member), None))
        self.repo.delete(member, ops)
        logger.info("user removed", extra={"tenant_id": caller.tenant_id, "user_id": user_id})

    def _keep_break_glass(self, member: Membership) -> TransactOps:
        """Condition checks that keep a break-glass owner for every domain with password login off once
        ``member`` stops being an owner; BreakGlassOwnerRequired if there would be none."""
        if member.role != "owner" or member.status != "active":
            return []
        claims = DomainRepository(self.table).list_claims(member.tenant_id)
        password_off = {c.domain for c in claims if not c.password_login}
        if member_domain(member) in password_off:
            return []  # signs in by SSO only: never a break-glass owner
        ops: TransactOps = []
        if password_off:
            members = self.repo.list_for_tenant(member.tenant_id)
            for domain in sorted(password_off):
                others = break_glass_owners(members, password_off, domain, excluding=member.user_id)
                if not others:
                    raise BreakGlassOwnerRequired()
                ops.append(still_owner_check(others[0]))
        # A domain switched off meanwhile would need this owner: the change then fails and is retried.
        for claim in claims:
            if claim.password_login and claim.domain != member_domain(member):
                ops.append(DomainRepository.password_still_on_check(claim.domain, member.tenant_id))
        return _unique_checks(ops)


def _unique_checks(ops: list[TxItem]) -> list[TxItem]:
    """One op per item: a transaction may not touch an item twice."""
    seen: set[str] = set()
    unique = []
    for item in ops:
        k = str(item[1]["ConditionCheck"]["Key"])
        if k not in seen:
            seen.add(k)
            unique.append(item)
    return unique
