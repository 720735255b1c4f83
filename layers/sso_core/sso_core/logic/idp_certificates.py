"""IdP certificate rollover (owner): add the IdP's next signing certificate, remove one it no longer uses.

A connection holds up to ``MAX_CERTIFICATES`` and any of them verifies, so an IdP's key change is: add the new
certificate, let the IdP switch, remove the old one; logins never stop. Each change is one transaction of the
connection (optimistic, on its version), its audit entry and the expiry index (``certificate_expiry``).
"""

from __future__ import annotations

from sso_core.logic.certificate_expiry import facts, fingerprint_hex, index_ops
from sso_core.logic.sso_configuration import ConnectionService
from sso_core.models.connections import AddCertificateRequest, ConnectionOut
from sso_core.models.errors import Conflict, InvalidRequest, NotFound
from sso_core.models.identity import Caller
from sso_core.observability import logger
from sso_core.saml.certificates import CertificateFacts, fingerprint_key

MAX_CERTIFICATES = 5


class CertificateExists(Conflict):
    code = "certificate_exists"
    default_message = "The connection already holds this certificate."


class TooManyCertificates(Conflict):
    code = "too_many_certificates"
    default_message = f"A connection holds at most {MAX_CERTIFICATES} IdP certificates; remove one first."


class IdpNotConfigured(Conflict):
    code = "idp_not_configured"
    default_message = "Import the IdP first (PUT /connections/{id}/idp); then add certificates to it."


class CertificateNotFound(NotFound):
    code = "certificate_not_found"
    default_message = "The connection holds no certificate with this SHA-256 fingerprint."


class LastCertificate(Conflict):
    code = "last_certificate"
    default_message = (
        "This is the IdP's only certificate: without it every login would be refused. Add the new one first."
    )


def audit_view(f: CertificateFacts) -> dict[str, str]:
    """What the audit log keeps of a certificate: never the certificate itself."""
    return {"sha256_fingerprint": f.sha256_fingerprint, "subject": f.subject, "not_after": f.not_after.isoformat()}


class IdpCertificates:
    def __init__(self, connections: ConnectionService) -> None:
        self.connections = connections

    def add(self, caller: Caller, connection_id: str, request: AddCertificateRequest) -> ConnectionOut:
        from sso_core.saml.idp_import import validate_certificate  # its checks; lxml for this route only

        service = self.connections
        conn = service.get_connection(caller, connection_id)
        now = service.clock()
        checked = validate_certificate(request.certificate, now)  # InvalidCertificate: 400
        if conn.idp is None:
            raise IdpNotConfigured()
        added = facts(checked.pem)
        held = {fingerprint_hex(facts(p)) for p in conn.idp.certificates}
        if fingerprint_hex(added) in held:
            raise CertificateExists()
        if len(conn.idp.certificates) >= MAX_CERTIFICATES:
            raise TooManyCertificates()
        idp = conn.idp.model_copy(update={"certificates": [*conn.idp.certificates, checked.pem]})
        updated = conn.model_copy(update={"idp": idp, "updated_at": now})
        audit = service.audit.put_op(
            caller.tenant_id, caller, "connection.certificate_added", conn.id, None, audit_view(added), now
        )
        saved = service.repo.save(updated, conn.version, [audit, *index_ops(conn, updated)])
        logger.info(
            "IdP certificate added",
            extra={"tenant_id": caller.tenant_id, "connection_id": conn.id, "fingerprint": added.sha256_fingerprint},
        )
        return service.to_out(saved, list(checked.warnings))

    def remove(self, caller: Caller, connection_id: str, fingerprint: str) -> ConnectionOut:
        service = self.connections
        wanted = fingerprint_key(fingerprint)
        if wanted is None:
            raise InvalidRequest("The fingerprint must be a SHA-256 fingerprint: 64 hex digits, colons optional.")
        conn = service.get_connection(caller, connection_id)
        if conn.idp is None:
            raise CertificateNotFound()
        now = service.clock()
        kept, removed = [], None
        for pem in conn.idp.certificates:
            f = facts(pem)
            if fingerprint_hex(f) == wanted:
                removed = f
            else:
                kept.append(pem)
        if removed is None:
            raise CertificateNotFound()
        if not kept:
            raise LastCertificate()
        idp = conn.idp.model_copy(update={"certificates": kept})
        updated = conn.model_copy(update={"idp": idp, "updated_at": now})
        audit = service.audit.put_op(
            caller.tenant_id, caller, "connection.certificate_removed", conn.id, audit_view(removed), None, now
        )
        saved = service.repo.save(updated, conn.version, [audit, *index_ops(conn, updated)])
        logger.info(
            "IdP certificate removed",
            extra={"tenant_id": caller.tenant_id, "connection_id": conn.id, "fingerprint": removed.sha256_fingerprint},
        )
        return service.to_out(saved)
