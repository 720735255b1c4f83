"""Test connection (owner or admin): a real SP-initiated login through a connection, whatever its status, that
shows the administrator what the IdP sent instead of signing anyone in.

1. ``POST /connections/{id}/test`` (``start_connection_test``) stores a single-use link for five minutes, naming
   the administrator who asked (tenant, email, role), audited as ``connection.test_started``, and answers its URL.
2. The browser that opens the link (``GET /saml/{id}/test?token=``, ``open_connection_test``) uses it up and
   starts the login: the AuthnRequest is stored with ``test_by`` and bound to that browser by the usual binding
   cookie (plus the test mark cookie, ``login_start.TEST_MARK_COOKIE``).
3. The ACS validates the response completely, the same way as any login (``assertion_consumer``), but for a test
   issues no code, signs nobody in, and needs no membership; it records ``test_success_at`` on the connection
   and shows what the IdP sent (``ConnectionTestReport``), or the refusal's reason. The trace marks the entry as a test.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from pydantic import BaseModel

from sso_core.clock import Clock, utcnow
from sso_core.config import Settings
from sso_core.dal.audit import AuditLog
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.logins import ConnectionTestStart, LoginStateRepository
from sso_core.dal.table import Table
from sso_core.logic.sso_configuration import idp_settings
from sso_core.logic.sso_gate import has_sso_access, require_sso_access
from sso_core.logic.tenant_scope import tenant_connection
from sso_core.models.errors import Conflict, DomainError
from sso_core.models.identity import Caller
from sso_core.observability import logger

if TYPE_CHECKING:
    from sso_core.logic.login_start import LoginStart

TEST_LINK_LIFETIME = timedelta(minutes=5)
MAX_TOKEN_LENGTH = 100
# What the result page shows of the attributes: bounded, whatever the IdP sends.
MAX_ATTRIBUTES = 40
MAX_VALUES = 5
MAX_TEXT = 256


class IdpNotConfigured(Conflict):
    code = "idp_not_configured"
    default_message = "Import the IdP (metadata, or entity ID, sign-in URL and certificate) before testing."


class ConnectionTestLinkUnusable(DomainError):
    status = 400
    code = "test_link_unusable"
    default_message = (
        "This test link is unknown, already used or expired (it works once, for five minutes). "
        "Start the test again from the connection's page."
    )


class ConnectionTestLink(BaseModel):
    redirect_url: str
    expires_in: int


def start_connection_test(
    settings: Settings, table: Table, caller: Caller, connection_id: str, clock: Clock = utcnow
) -> ConnectionTestLink:
    """A single-use link that starts a test login through the caller's tenant's connection (any status)."""
    require_sso_access(table, caller.tenant_id)
    conn = tenant_connection(ConnectionRepository(table), caller, connection_id)
    if idp_settings(conn) is None:
        raise IdpNotConfigured()
    now = clock()
    token = secrets.token_urlsafe(32)
    start = ConnectionTestStart(conn.id, caller.tenant_id, caller.email, caller.role)
    audit = AuditLog(table).put_op(
        caller.tenant_id, caller, "connection.test_started", conn.id, None, {"status": conn.status.value}, now
    )
    table.transact([LoginStateRepository.test_start_op(token, start, now + TEST_LINK_LIFETIME), audit])
    logger.info("connection test started", extra={"tenant_id": caller.tenant_id, "connection_id": conn.id})
    return ConnectionTestLink(
        redirect_url=f"{settings.public_url}/saml/{conn.id}/test?token={token}",
        expires_in=int(TEST_LINK_LIFETIME.total_seconds()),
    )


def open_connection_test(
    settings: Settings, table: Table, connection_id: str, token: str | None, clock: Clock = utcnow
) -> LoginStart:
    """Use the link once and start the test login in this browser; ``ConnectionTestLinkUnusable`` for any bad link."""
    from sso_core.logic.login_start import begin_login  # the SAML engine: the login function only

    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise ConnectionTestLinkUnusable()
    now = clock()
    start = LoginStateRepository(table).take_test_start(token, connection_id, now)
    if start is None:
        raise ConnectionTestLinkUnusable()
    conn = ConnectionRepository(table).get(connection_id)
    if conn is None or conn.tenant_id != start.tenant_id or not has_sso_access(table, conn.tenant_id):
        raise ConnectionTestLinkUnusable()
    idp = idp_settings(conn)
    if idp is None:  # the IdP was removed since the link was made
        raise IdpNotConfigured()
    test_by = {"tenant_id": start.tenant_id, "email": start.email, "role": start.role}
    return begin_login(settings, table, conn, idp, "/", now, test_by=test_by)


# ---- what the result page shows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateSummary:
    sha256_fingerprint: str
    subject: str
    not_after: str


@dataclass(frozen=True)
class ConnectionTestReport:
    """What the IdP sent in a test login that validated: bounded, for the result page (which escapes it)."""

    issuer: str
    name_id: str
    name_id_format: str | None
    email: str
    attributes: list[tuple[str, list[str]]]
    attributes_left_out: int
    certificate: CertificateSummary | None
    started_by: str


def _text(value: str) -> str:
    return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…"


def certificate_summary(der: bytes) -> CertificateSummary | None:
    if not der:
        return None
    cert = x509.load_der_x509_certificate(der)
    return CertificateSummary(
        sha256_fingerprint=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        subject=cert.subject.rfc4514_string(),
        not_after=cert.not_valid_after_utc.isoformat(),
    )


def build_report(
    issuer: str,
    name_id: str,
    name_id_format: str | None,
    email: str,
    attributes: dict[str, list[str]],
    certificate_der: bytes,
    started_by: str,
) -> ConnectionTestReport:
    names = sorted(attributes)
    shown = [(_text(n), [_text(v) for v in attributes[n][:MAX_VALUES]]) for n in names[:MAX_ATTRIBUTES]]
    return ConnectionTestReport(
        issuer=_text(issuer),
        name_id=_text(name_id),
        name_id_format=name_id_format,
        email=email,
        attributes=shown,
        attributes_left_out=max(0, len(names) - MAX_ATTRIBUTES),
        certificate=certificate_summary(certificate_der),
        started_by=started_by,
    )
