"""Users (admin): list a tenant's members, change their role or accounts, remove them.

Nobody manages a member whose role is above their own or grants more than they hold; removing a member
deletes the membership, so that user's next SSO login is refused (``memberships.member_for_sso_login``).
"""

from __future__ import annotations

import re

from .api import Caller
from .dal.table import Table
from .dal.users import MembershipRepository
from .errors import InvalidRequest
from .memberships import check_accounts, check_role
from .models.users import Membership, RoleEscalation, UpdateUserRequest, UserList, UserNotFound, UserOut
from .observability import logger

USER_ID = re.compile(r"^usr_[0-9a-f]{32}$")


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


class UserService:
    def __init__(self, table: Table) -> None:
        self.repo = MembershipRepository(table)

    def list(self, caller: Caller) -> UserList:
        return UserList(users=[to_out(m) for m in self.repo.list_for_tenant(caller.tenant_id)])

    def _get(self, caller: Caller, user_id: str) -> Membership:
        if not USER_ID.match(user_id):
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
        saved = self.repo.update(member, role or member.role, accounts)
        logger.info("user updated", extra={"tenant_id": caller.tenant_id, "user_id": user_id})
        return to_out(saved)

    def remove(self, caller: Caller, user_id: str) -> None:
        member = self._manageable(caller, user_id)
        self.repo.delete(member)
        logger.info("user removed", extra={"tenant_id": caller.tenant_id, "user_id": user_id})
