"""SCIM provisioning: a tenant's provisioning settings, its groups, its activity log, and the admin API's shapes.

The SCIM resources themselves (User, Group, ListResponse, PatchOp, Error) are ``scim2_models``' models; these are
what the service stores about them and what the owner's admin API takes and returns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sso_core.models.errors import InvalidRequest, NotFound
from sso_core.models.users import MAX_ACCOUNTS, AccountId

# Roles a provisioning client may grant. Owners are made in the console only: an owner can switch SSO off and is the
# break-glass account when the IdP breaks, so no directory group grants that role and SCIM never removes an owner.
ProvisionedRole = Literal["member", "admin"]
MAX_GROUP_MAPPINGS = 100


class GroupMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group: str = Field(min_length=1, max_length=256)  # the IdP group's displayName, compared case-insensitively
    role: str = Field(max_length=64)
    accounts: list[AccountId] = Field(default_factory=list, max_length=MAX_ACCOUNTS)


class ProvisioningSettings(BaseModel):
    """What the owner chose: roles and accounts per IdP group, and for members of no mapped group."""

    model_config = ConfigDict(extra="forbid")
    group_mappings: list[GroupMapping] = Field(default_factory=list, max_length=MAX_GROUP_MAPPINGS)
    default_role: str = Field(default="member", max_length=64)
    default_accounts: list[AccountId] = Field(default_factory=list, max_length=MAX_ACCOUNTS)


class ProvisioningConfig(BaseModel):
    """One item per tenant: the current token's hash (never the token) and the settings."""

    tenant_id: str
    token_hash: str | None = None
    token_created_at: datetime | None = None
    token_created_by: str = ""
    settings: ProvisioningSettings = Field(default_factory=ProvisioningSettings)
    version: int = 0

    @property
    def enabled(self) -> bool:
        return self.token_hash is not None


class StoredGroup(BaseModel):
    """A SCIM group of one tenant. ``members`` are membership user ids (a DynamoDB string set)."""

    id: str
    tenant_id: str
    display_name: str
    external_id: str | None = None
    members: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    version: int = 0


# ---- admin API ---------------------------------------------------------------------------------


class ScimTokenOut(BaseModel):
    base_url: str
    token: str  # shown once; only its SHA-256 is stored


class ProvisioningSettingsOut(ProvisioningSettings):
    enabled: bool
    base_url: str
    token_created_at: datetime | None = None


class ActivityEntry(BaseModel):
    id: str
    time: datetime
    outcome: Literal["applied", "refused"]
    operation: str  # e.g. "user.created", "group.members_changed", "POST /Users"
    target: str = ""  # resource id, when there is one
    summary: str = ""  # userName / displayName, or why the request was refused
    status: int = 200
    scim_type: str = ""
    request_id: str = ""


class ActivityPage(BaseModel):
    entries: list[ActivityEntry]
    next_cursor: str | None = None


class ScimTokenNotFound(NotFound):
    code = "scim_token_not_found"
    default_message = "Automatic provisioning is off: there is no SCIM token to revoke."


class InvalidMapping(InvalidRequest):
    code = "invalid_group_mapping"
    default_message = "A group is mapped twice, or a mapping grants a role SCIM may not grant (member or admin only)."
