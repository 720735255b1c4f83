"""Memberships (a user of one tenant): what is stored, what the API takes and returns, and its errors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sso_core.models.errors import Conflict, Forbidden, InvalidRequest, NotFound
from sso_core.models.pagination import CursorPage

Role = Literal["member", "admin", "owner"]
AccountId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
MAX_ACCOUNTS = 100


class Membership(BaseModel):
    """What lets an email sign in to a tenant by SSO: made by an accepted invitation or by SCIM provisioning.

    Removal deletes the item (and its email pointer). "suspended" is a SCIM soft delete (``active: false``): the
    membership is kept, so the provisioning client can reactivate it, but it signs in nowhere. "removed" is
    accepted when reading so that a later soft-delete of invitation-made members needs no migration.
    """

    user_id: str
    tenant_id: str
    email: str  # normalised: lower-case local part, IDNA A-label domain
    role: Role
    accounts: list[str] = Field(default_factory=list)
    status: Literal["active", "removed", "suspended"] = "active"
    created_at: datetime
    last_login_at: datetime | None = None
    invited_by: str = ""
    invitation_id: str = ""
    version: int = 0
    # SCIM provisioning (logic/provisioning.py): set once a provisioning client created or wrote this member.
    provisioned: bool = False
    scim: str = ""  # JSON: the SCIM attributes the client last wrote (userName, name, emails, externalId, ...)
    groups: list[str] = Field(default_factory=list)  # ids of the SCIM groups holding this member
    updated_at: datetime | None = None


# ---- API models -------------------------------------------------------------------------


class UpdateUserRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Free text here so that an unknown role is refused as invalid_role, not as a schema error.
    role: str | None = Field(default=None, max_length=64)
    accounts: list[AccountId] | None = Field(default=None, max_length=MAX_ACCOUNTS)


class UserOut(BaseModel):
    id: str
    email: str
    role: Role
    accounts: list[str]
    status: str
    created_at: datetime
    last_login_at: datetime | None = None
    invited_by: str = ""


class UserList(CursorPage):
    users: list[UserOut]


# ---- errors -----------------------------------------------------------------------------


class InvalidEmail(InvalidRequest):
    code = "invalid_email"
    default_message = "That is not a valid email address."


class InvalidRole(InvalidRequest):
    code = "invalid_role"
    default_message = "The role must be one of member, admin or owner."


class InvalidAccounts(InvalidRequest):
    code = "invalid_accounts"
    default_message = "Some of these accounts are not yours to grant."


class RoleEscalation(Forbidden):
    code = "role_escalation"
    default_message = "You cannot grant or manage a role above your own."


class AlreadyMember(Conflict):
    code = "already_member"
    default_message = "This email is already a member of your organisation."


class UserNotFound(NotFound):
    code = "user_not_found"
    default_message = "No such user in your organisation."
