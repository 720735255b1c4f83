"""Rotating the SP's own signing key: the operator's commands, what they answer, and why they refuse.

The key is the deployment's, not a tenant's: an operator rotates it in three steps (stage, switch, retire; cancel
undoes a stage) through the ``sp_key_rotation`` function, which has no API route.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sso_core.models.errors import Conflict, NotFound

DEFAULT_SWITCH_DAYS = 30
MAX_SWITCH_DAYS = 365
REQUEST_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,99}$"


class NextKeyAlreadyStaged(Conflict):
    code = "sp_key_next_already_staged"
    default_message = "A next SP signing key is already staged: switch to it or cancel it before staging another."


class NoNextKey(Conflict):
    code = "sp_key_nothing_staged"
    default_message = "No next SP signing key is staged: stage one first."


class SwitchTooEarly(Conflict):
    code = "sp_key_switch_too_early"
    default_message = "The switch date of the staged SP signing key has not come yet (use force to switch anyway)."


class PreviousKeyNotRetired(Conflict):
    code = "sp_key_previous_not_retired"
    default_message = "The previous SP signing key is still published: retire it before staging a new one."


class NoPreviousKey(Conflict):
    code = "sp_key_nothing_to_retire"
    default_message = "There is no previous SP signing key to retire."


class NextCertificateNotStaged(NotFound):
    code = "next_certificate_not_staged"
    default_message = "No next SP signing certificate is staged."


class NextCertificate(BaseModel):
    """What owners see of a staged key: enough to find it in their IdP and the date it starts signing."""

    fingerprint: str = Field(description="SHA-256 of the certificate (DER), colon-separated hex")
    not_after: datetime
    switch_at: datetime


class KeySummary(BaseModel):
    fingerprint: str
    not_after: datetime


class SpKeyCommand(BaseModel):
    """What an operator sends the rotation function (a direct Lambda invocation, never an HTTP request)."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["stage", "switch", "retire", "cancel", "notify", "show"]
    operator: str = Field(min_length=3, max_length=200, description="who acts (recorded and audited)")
    request_id: str | None = Field(
        default=None,
        pattern=REQUEST_ID_PATTERN,
        description="the same for retries of one command (defaults to the Lambda request id, which retries keep)",
    )
    switch_at: datetime | None = Field(default=None, description="stage: when the next key may be switched to")
    days: int | None = Field(default=None, ge=0, le=MAX_SWITCH_DAYS, description="stage: switch_at = now + days")
    force: bool = Field(default=False, description="switch: before switch_at")


class SpKeyStatus(BaseModel):
    current: KeySummary
    next: NextCertificate | None = None
    previous: KeySummary | None = None
    message: str = ""
    owners_notified: int = 0
    owners_already_notified: int = 0
