"""SES bounces and complaints (the configuration set's EventBridge destination): their addresses are not mailed
again. Permanent bounces and complaints only; a transient bounce (full mailbox, greylisting) may be retried."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sso_core.clock import Clock, utcnow
from sso_core.dal.mail_limits import MailLimitRepository
from sso_core.dal.table import Table
from sso_core.logic.memberships import normalise_email
from sso_core.models.errors import DomainError
from sso_core.observability import logger


def _recipients(detail: Mapping[str, Any], section: str, field: str) -> list[str]:
    part = detail.get(section)
    listed = part.get(field) if isinstance(part, Mapping) else None
    if not isinstance(listed, list):
        return []
    found = []
    for entry in listed:
        raw = entry.get("emailAddress") if isinstance(entry, Mapping) else None
        try:
            found.append(normalise_email(raw))
        except DomainError:
            continue  # not an address we could ever have invited
    return found


def handle_ses_event(table: Table, event: Mapping[str, Any], clock: Clock = utcnow) -> int:
    """Mark the addresses of one SES event; returns how many were marked. Anything else is ignored."""
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        return 0
    kind = detail.get("eventType")
    if kind == "Bounce":
        bounce = detail.get("bounce")
        if not isinstance(bounce, Mapping) or bounce.get("bounceType") != "Permanent":
            return 0
        addresses, reason = _recipients(detail, "bounce", "bouncedRecipients"), "bounce"
    elif kind == "Complaint":
        addresses, reason = _recipients(detail, "complaint", "complainedRecipients"), "complaint"
    else:
        return 0
    repo = MailLimitRepository(table)
    now = clock()
    for address in addresses:
        repo.suppress(address, reason, now)
    if addresses:
        logger.info("mail addresses suppressed", extra={"reason": reason, "count": len(addresses)})
    return len(addresses)
