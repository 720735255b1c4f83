"""The public login API's bodies: discovery by email, and code redemption (``POST /sso/token``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DiscoverRequest(BaseModel):
    """Any string of address length is answered (one that is no address gets "password"); anything else is 400."""

    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=320)


class DiscoverOut(BaseModel):
    method: str = Field(json_schema_extra={"enum": ["sso", "password"]})
    redirect_url: str | None = None
    password_allowed: bool
    notice: str | None = None


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=256)


class ProfileUser(BaseModel):
    user_id: str
    email: str
    tenant_id: str
    role: str
    accounts: list[str]


class Profile(BaseModel):
    """What ``POST /sso/token`` answers (the redeemed code's payload): the member and the login's attributes."""

    user: ProfileUser
    connection_id: str
    return_to: str | None = None
    attributes: dict[str, Any]
