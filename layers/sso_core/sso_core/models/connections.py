"""SSO connections: one tenant's IdP wired to some of its verified domains."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sso_core.models.sp_keys import NextCertificate


class ConnectionStatus(enum.StrEnum):
    DRAFT = "draft"
    ENABLED = "enabled"
    DISABLED = "disabled"


class IdpConfig(BaseModel):
    entity_id: str
    sso_url: str
    sso_urls: dict[str, str | None] = Field(default_factory=dict)
    certificates: list[str]  # PEM
    imported_at: datetime
    source: Literal["metadata", "fields", "metadata_url"] = "fields"
    # Imported by URL: refreshed daily (logic/metadata_refresh.py).
    metadata_url: str | None = None
    refreshed_at: datetime | None = None
    refresh_error: str | None = None
    refresh_failed_at: datetime | None = None
    # SHA-256 fingerprint (hex) of a stored certificate -> when a refresh first found it missing from the metadata.
    missing_since: dict[str, datetime] = Field(default_factory=dict)


class Connection(BaseModel):
    id: str
    tenant_id: str
    domains: list[str]
    status: ConnectionStatus = ConnectionStatus.DRAFT
    idp: IdpConfig | None = None
    signed_requests: bool = True
    binding: Literal["post", "redirect"] = "post"
    created_at: datetime
    updated_at: datetime
    # How many times Enterprise SSO was switched on: a login started in an earlier period is refused.
    enable_count: int = 0
    first_success_at: datetime | None = None
    last_success_at: datetime | None = None
    # The first successful connection test (POST /connections/{id}/test): proves SSO like a real sign-in.
    test_success_at: datetime | None = None
    version: int = 0


# ---- API models -------------------------------------------------------------------------


class CreateConnectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domains: list[str] = Field(min_length=1, max_length=50)


class IdpFieldsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metadata_xml: str | None = Field(default=None, max_length=512 * 1024)
    metadata_url: str | None = Field(default=None, min_length=1, max_length=2048)
    entity_id: str | None = Field(default=None, min_length=1, max_length=1024)
    sso_url: str | None = Field(default=None, min_length=1, max_length=2048)
    certificates: list[str] | None = Field(default=None, min_length=1, max_length=5)


class AddCertificateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    certificate: str = Field(min_length=1, max_length=16 * 1024)  # PEM or base64 DER


class UpdateConnectionRequest(BaseModel):
    # Strict, like the kill switch's toggle: "no" or 0 is not a boolean for a security setting.
    model_config = ConfigDict(extra="forbid", strict=True)
    signed_requests: bool | None = None
    binding: Literal["post", "redirect"] | None = None


class SpDetails(BaseModel):
    entity_id: str
    acs_url: str
    metadata_url: str
    sign_in_url: str
    certificate_url: str
    # The SP's next signing certificate while a rotation is staged (docs/sp-key-rotation.md), else null.
    next_certificate: NextCertificate | None = None


class CertificateOut(BaseModel):
    subject: str
    sha256_fingerprint: str
    not_before: str
    not_after: str
    expires_in_days: int  # whole days left; negative once expired
    state: Literal["valid", "expiring", "expired"]


class IdpOut(BaseModel):
    entity_id: str
    sso_url: str
    certificates: list[CertificateOut]
    imported_at: datetime
    source: str = "fields"
    metadata_url: str | None = None
    refreshed_at: datetime | None = None
    refresh_error: str | None = None
    refresh_failed_at: datetime | None = None


class ConnectionOut(BaseModel):
    id: str
    status: ConnectionStatus
    domains: list[str]
    sp: SpDetails
    idp: IdpOut | None
    signed_requests: bool
    binding: str
    created_at: datetime
    updated_at: datetime
    first_success_at: datetime | None = None
    test_success_at: datetime | None = None
    warnings: list[str] = Field(default_factory=list)


class ConnectionList(BaseModel):
    connections: list[ConnectionOut]
