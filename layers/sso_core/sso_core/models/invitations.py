"""Invitations: what is stored, what the API takes and returns, and their errors."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sso_core.models.errors import Conflict, DomainError, Gone, NotFound
from sso_core.models.pagination import CursorPage
from sso_core.models.users import MAX_ACCOUNTS, AccountId, Role


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"


class Invitation(BaseModel):
    """One invitation of one email to one tenant. The token itself is never stored, only its SHA-256."""

    id: str
    tenant_id: str
    tenant_name: str = ""
    email: str  # normalised: lower-case local part, IDNA A-label domain
    role: Role
    accounts: list[str] = Field(default_factory=list)
    status: InvitationStatus = InvitationStatus.PENDING
    token_hash: str | None = None  # only while pending
    created_at: datetime
    expires_at: datetime
    invited_by: str = ""
    sent_count: int = 1
    last_sent_at: datetime | None = None
    accepted_at: datetime | None = None
    revoked_at: datetime | None = None
    user_id: str | None = None
    version: int = 0

    def usable_at(self, now: datetime) -> bool:
        return self.status is InvitationStatus.PENDING and self.token_hash is not None and now < self.expires_at

    def shown_status(self, now: datetime) -> str:
        if self.status is InvitationStatus.PENDING and now >= self.expires_at:
            return "expired"
        return self.status.value


# ---- API models -------------------------------------------------------------------------

ListFilter = Literal["pending", "accepted", "revoked", "expired"]


class CreateInvitationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Free text: the logic refuses a bad email or role with its own error code.
    email: str = Field(max_length=512)
    role: str = Field(max_length=64)
    accounts: list[AccountId] = Field(default_factory=list, max_length=MAX_ACCOUNTS)


class AcceptInvitationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=1024)


class InvitationOut(BaseModel):
    id: str
    email: str
    role: Role
    accounts: list[str]
    status: str  # pending, accepted, revoked or expired (a pending invitation past its expiry)
    expires_at: datetime
    created_at: datetime
    invited_by: str
    sent_count: int
    last_sent_at: datetime | None = None
    accepted_at: datetime | None = None
    revoked_at: datetime | None = None
    user_id: str | None = None


class InvitationList(CursorPage):
    invitations: list[InvitationOut]


class InvitationCreated(BaseModel):
    """Result of POST /invitations, as stored by the idempotency layer and replayed from it."""

    created: bool
    invitation: InvitationOut


class AcceptOut(BaseModel):
    email: str
    tenant_id: str
    tenant_name: str
    user_id: str
    next: Literal["sso", "password"]


class InvitationPreview(BaseModel):
    """What the GET accept page shows to the holder of a usable token."""

    email: str
    tenant_name: str
    role: Role
    expires_at: datetime


# ---- errors -----------------------------------------------------------------------------


class InvitationNotFound(NotFound):
    code = "invitation_not_found"
    default_message = "No such invitation in your organisation."


class InvitationUnusable(Gone):
    code = "invitation_unusable"
    # One answer for unknown, used, revoked and expired tokens, so that tokens cannot be probed.
    default_message = "This invitation link can no longer be used. Ask your administrator for a new one."


class InvitationNotPending(Conflict):
    code = "invitation_not_pending"
    default_message = "This invitation was already accepted or revoked."


class MailNotSent(DomainError):
    status = 502
    code = "mail_not_sent"
    default_message = "The invitation mail could not be sent; try again."


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used with a different request body."


class RequestInProgress(Conflict):
    code = "request_in_progress"
    default_message = "A request with this Idempotency-Key is still being processed; retry shortly."
