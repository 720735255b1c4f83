"""Domain claims: what is stored, what the API takes and what it returns."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from sso_core.models.pagination import CursorPage


class DomainStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    EXPIRED = "expired"


class LastCheck(BaseModel):
    result: str
    found: list[str] = Field(default_factory=list)
    expected: str
    checked_at: datetime
    detail: str = ""
    # Who answered: "authoritative" (one of the domain's name servers, asked directly) or "resolver" (the configured
    # resolvers, as a fallback or for checks recorded before authoritative lookups); "address:port"; why not the
    # authoritative servers, when the resolvers answered.
    source: str = "resolver"
    server: str = ""
    source_note: str = ""


class DomainClaim(BaseModel):
    """One tenant's claim on one domain. Several tenants may hold pending claims on a domain."""

    domain: str
    tenant_id: str
    token: str
    status: DomainStatus
    created_at: datetime
    expires_at: datetime | None = None
    verified_at: datetime | None = None
    missing_since: datetime | None = None
    next_check_at: datetime | None = None
    attempts: int = 0
    last_check: LastCheck | None = None
    password_login: bool = True
    version: int = 0


# ---- API models -------------------------------------------------------------------------


class AddDomainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: str


class VerificationRecord(BaseModel):
    record_type: str = "TXT"
    record_name: str
    record_value: str


class DomainOut(BaseModel):
    domain: str
    status: DomainStatus
    status_label: str
    verification: VerificationRecord
    created_at: datetime
    expires_at: datetime | None = None
    verified_at: datetime | None = None
    next_check_at: datetime | None = None
    record_missing_since: datetime | None = None
    password_login: bool = True
    last_check: LastCheck | None = None


class DomainList(CursorPage):
    domains: list[DomainOut]


class VerifyOut(BaseModel):
    domain: str
    status: DomainStatus
    status_label: str
    check: LastCheck


class ScheduledRunSummary(BaseModel):
    due: int = 0
    checked: int = 0
    verified: int = 0
    still_pending: int = 0
    expired: int = 0
    reconfirmed: int = 0
    record_missing: int = 0
    lost: int = 0
    indeterminate: int = 0
    taken: int = 0
    skipped: int = 0
    remaining: bool = False
    duration_ms: int = 0
