"""Access to the Enterprise SSO feature: a tenant's entitlement, granted and revoked by support only.

SSO is sold on a contract or a subscription bundle, never on the basic plan: ``ELIGIBLE_PLANS`` names the plans
support may grant it under. The entitlement records the plan and who granted (or revoked) it, and when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sso_core.models.errors import Forbidden, InvalidRequest

ELIGIBLE_PLANS = ("contract", "subscription_bundle")
TENANT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


class SsoNotAvailable(Forbidden):
    code = "sso_not_available"
    default_message = (
        "Enterprise SSO is not enabled for your organisation. Contact our support team or your account manager "
        "to get access to it."
    )


class PlanNotEligible(InvalidRequest):
    code = "plan_not_eligible"
    default_message = "Enterprise SSO is only granted under a contract or a subscription bundle plan."


class SsoEntitlement(BaseModel):
    """One per tenant once support has acted; ``status`` says whether SSO may be configured and used."""

    tenant_id: str
    status: Literal["granted", "revoked"]
    plan: str
    granted_by: str
    granted_at: datetime
    revoked_by: str | None = None
    revoked_at: datetime | None = None
    version: int = 0

    @property
    def granted(self) -> bool:
        return self.status == "granted"


class AccessCommand(BaseModel):
    """What an operator sends the support function (a direct Lambda invocation, never an HTTP request)."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["grant", "revoke", "show"]
    tenant_id: str = Field(pattern=TENANT_ID_PATTERN)
    operator: str = Field(min_length=3, max_length=200, description="who at support acts (recorded and audited)")
    plan: str | None = Field(default=None, max_length=64)
    reason: str = Field(default="", max_length=500)


class AccessOut(BaseModel):
    tenant_id: str
    access: Literal["granted", "revoked", "none"]
    plan: str | None = None
    granted_by: str | None = None
    granted_at: datetime | None = None
    revoked_by: str | None = None
    revoked_at: datetime | None = None
    connections_disabled: list[str] = Field(default_factory=list)
    password_login_restored: list[str] = Field(default_factory=list)
    owners_notified: int = 0
    message: str = ""
