"""The daily certificate watch: mail a tenant's owners 30, 7 and 1 days before an IdP certificate expires.

It reads the keyed expiry index (``dal.certificate_expiries``) for the days due, never the whole table. Each
threshold of each certificate is mailed once, even when runs repeat or overlap: the notice is claimed with a
conditional write before any mail goes out, and released only if it reached no owner at all (the next run tries
again). A certificate first seen past a threshold gets the most urgent notice due, not the ones it missed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

from sso_core.clock import Clock, utcnow
from sso_core.config import Settings
from sso_core.dal.certificate_expiries import CertificateExpiry, CertificateExpiryRepository
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.table import Table
from sso_core.dal.users import MembershipRepository
from sso_core.gateways.mail import Mailer, certificate_expiry_mail, mailer_for
from sso_core.logic.certificate_expiry import NOTICE_THRESHOLDS, expires_in_days, facts, fingerprint_hex
from sso_core.models.connections import Connection
from sso_core.observability import logger


class WatchSummary(BaseModel):
    due: int = 0  # certificates with a notice due that had not been sent
    notices: int = 0  # notices claimed and mailed to at least one owner
    mails: int = 0
    stale: int = 0  # index items whose certificate the connection no longer holds (removed)


class CertificateWatch:
    def __init__(self, settings: Settings, table: Table, clock: Clock = utcnow, mailer: Mailer | None = None) -> None:
        self.settings = settings
        self.table = table
        self.clock = clock
        self.mailer = mailer
        self.index = CertificateExpiryRepository(table)
        self.connections = ConnectionRepository(table)
        self.members = MembershipRepository(table)

    def run(self) -> WatchSummary:
        now = self.clock()
        summary = WatchSummary()
        # One Query per day from today to the farthest threshold: the expiries that can have a notice due.
        for offset in range(max(NOTICE_THRESHOLDS) + 1):
            for entry in self.index.expiring_on((now + timedelta(days=offset)).date()):
                self._consider(entry, now, summary)
        logger.info("certificate watch done", extra=summary.model_dump())
        return summary

    def _consider(self, entry: CertificateExpiry, now: datetime, summary: WatchSummary) -> None:
        left = entry.not_after - now
        if left <= timedelta(0):
            return  # expired: the API and every login it signs warn; no more mail
        due = sorted(t for t in NOTICE_THRESHOLDS if left <= timedelta(days=t))
        if not due or due[0] in entry.notices:
            return
        threshold, passed = due[0], tuple(t for t in due[1:] if t not in entry.notices)
        conn = self.connections.get(entry.connection_id)
        if conn is None or not _holds(conn, entry.fingerprint):
            self.index.forget(entry)
            summary.stale += 1
            return
        summary.due += 1
        if not self.index.claim_notice(entry, threshold, passed, now):
            return  # another run has it
        sent = self._mail_owners(conn, entry, now)
        if sent == 0:
            self.index.release_notice(entry, threshold)  # reached nobody: the next run tries again
            return
        summary.notices += 1
        summary.mails += sent

    def _mail_owners(self, conn: Connection, entry: CertificateExpiry, now: datetime) -> int:
        owners = [m for m in self.members.list_for_tenant(conn.tenant_id) if m.role == "owner" and m.status == "active"]
        mailer = self.mailer or mailer_for(self.settings)
        sent = 0
        for owner in owners:
            mail = certificate_expiry_mail(
                to=owner.email,
                tenant_name=conn.tenant_id,
                connection_id=conn.id,
                connection_link=f"{self.settings.public_url}/console/connections/{conn.id}",
                domains=conn.domains,
                subject=entry.subject,
                fingerprint=_colons(entry.fingerprint),
                expires_at=entry.not_after,
                days_left=expires_in_days(entry.not_after, now),
            )
            try:
                mailer.send(mail)
                sent += 1
            except Exception as exc:  # noqa: BLE001 - one owner's failed mail must not stop the others
                logger.error(
                    "certificate notice not sent",
                    extra={"tenant_id": conn.tenant_id, "connection_id": conn.id, "error_type": type(exc).__name__},
                )
        if not owners:
            logger.warning("certificate notice has no owner to go to", extra={"tenant_id": conn.tenant_id})
        return sent


def _holds(conn: Connection, fingerprint: str) -> bool:
    return conn.idp is not None and any(fingerprint_hex(facts(p)) == fingerprint for p in conn.idp.certificates)


def _colons(fingerprint: str) -> str:
    upper = fingerprint.upper()
    return ":".join(upper[i : i + 2] for i in range(0, len(upper), 2))
