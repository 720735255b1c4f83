"""SSO connections (owner): create for verified domains, show the SP details, import the IdP, settings.

Enabling and disabling (the kill switch) live in ``kill_switch.py``.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from sso_core.clock import Clock, utcnow
from sso_core.config import Settings
from sso_core.dal.audit import AuditLog
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.domains import DomainRepository
from sso_core.dal.sp_keys import SpKeyRecords
from sso_core.dal.table import Table
from sso_core.gateways.sp_keys import ensure_sp_keys
from sso_core.logic.certificate_expiry import certificate_out, index_ops, merged_warnings
from sso_core.logic.sso_gate import require_sso_access
from sso_core.logic.tenant_scope import tenant_connection, verified_domains
from sso_core.models.connections import (
    Connection,
    ConnectionList,
    ConnectionOut,
    IdpConfig,
    IdpFieldsRequest,
    IdpOut,
    SpDetails,
    UpdateConnectionRequest,
)
from sso_core.models.errors import InvalidRequest
from sso_core.models.identity import Caller
from sso_core.models.sp_keys import NextCertificate
from sso_core.observability import logger
from sso_core.saml.parties import IdpSettings


def sp_details(settings: Settings, connection_id: str) -> SpDetails:
    base = f"{settings.public_url}/saml/{connection_id}"
    return SpDetails(
        entity_id=f"{base}/metadata",
        acs_url=f"{base}/acs",
        metadata_url=f"{base}/metadata",
        sign_in_url=f"{base}/login",
        certificate_url=f"{base}/certificate",
    )


def idp_settings(conn: Connection) -> IdpSettings | None:
    """The engine's view of the connection's IdP (the SSO URL for the chosen binding)."""
    if conn.idp is None:
        return None
    url = conn.idp.sso_urls.get(conn.binding) or conn.idp.sso_url
    return IdpSettings(
        entity_id=conn.idp.entity_id,
        sso_url=url,
        certificates=tuple(conn.idp.certificates),
        binding=conn.binding,
        signed_requests=conn.signed_requests,
    )


def idp_summary(idp: IdpConfig | None) -> dict[str, object] | None:
    """What the audit log keeps of an IdP: never the certificates themselves."""
    if idp is None:
        return None
    return {"entity_id": idp.entity_id, "sso_url": idp.sso_url, "certificates": len(idp.certificates)}


class ConnectionService:
    def __init__(self, settings: Settings, table: Table, clock: Clock = utcnow) -> None:
        self.settings = settings
        self.table = table
        self.repo = ConnectionRepository(table)
        self.domains = DomainRepository(table)
        self.clock = clock
        self.audit = AuditLog(table)

    def to_out(
        self, conn: Connection, warnings: list[str] | None = None, staged: NextCertificate | bool | None = True
    ) -> ConnectionOut:
        """The connection as the API shows it. ``staged``: the SP's next certificate when the caller read it
        already (a list reads it once), True to read it here (one GetItem, never the secret)."""
        if staged is True:
            staged = SpKeyRecords(self.table).staged()
        sp = sp_details(self.settings, conn.id)
        if isinstance(staged, NextCertificate):
            sp = sp.model_copy(update={"next_certificate": staged})
        idp = None
        now = self.clock()
        if conn.idp is not None:
            idp = IdpOut(
                entity_id=conn.idp.entity_id,
                sso_url=conn.idp.sso_urls.get(conn.binding) or conn.idp.sso_url,
                certificates=[certificate_out(c, now) for c in conn.idp.certificates],
                imported_at=conn.idp.imported_at,
            )
        warnings = merged_warnings(warnings or [], conn.idp, now)
        return ConnectionOut(
            id=conn.id,
            status=conn.status,
            domains=conn.domains,
            sp=sp,
            idp=idp,
            signed_requests=conn.signed_requests,
            binding=conn.binding,
            created_at=conn.created_at,
            updated_at=conn.updated_at,
            first_success_at=conn.first_success_at,
            test_success_at=conn.test_success_at,
            warnings=warnings,
        )

    def get_connection(self, caller: Caller, connection_id: str) -> Connection:
        """The caller's connection; every route of a connection (get, IdP, settings, login trace) reads it here."""
        require_sso_access(self.table, caller.tenant_id)
        return tenant_connection(self.repo, caller, connection_id)

    def verified_domains(self, tenant_id: str, raw_domains: list[str]) -> list[str]:
        return verified_domains(self.domains, tenant_id, raw_domains)

    def create(self, caller: Caller, raw_domains: list[str]) -> ConnectionOut:
        require_sso_access(self.table, caller.tenant_id)
        domains = self.verified_domains(caller.tenant_id, raw_domains)
        if self.settings.sp_key_secret_id:
            # The SP signing key's one writer: before any connection exists nothing needs it, and every reader
            # (metadata, login, ACS) may only read it.
            ensure_sp_keys(self.settings.sp_key_secret_id, urlsplit(self.settings.public_url).hostname or "sso")
        now = self.clock()
        conn = Connection(
            id="conn_" + secrets.token_hex(10),
            tenant_id=caller.tenant_id,
            domains=domains,
            created_at=now,
            updated_at=now,
        )
        created = self.audit.put_op(
            caller.tenant_id, caller, "connection.created", conn.id, None, {"domains": domains}, now
        )
        self.repo.create(conn, [created])
        logger.info("connection created", extra={"tenant_id": caller.tenant_id, "connection_id": conn.id})
        return self.to_out(conn)

    def list(self, caller: Caller) -> ConnectionList:
        require_sso_access(self.table, caller.tenant_id)
        staged = SpKeyRecords(self.table).staged()
        return ConnectionList(
            connections=[self.to_out(c, staged=staged) for c in self.repo.list_for_tenant(caller.tenant_id)]
        )

    def get(self, caller: Caller, connection_id: str) -> ConnectionOut:
        return self.to_out(self.get_connection(caller, connection_id))

    def set_idp(
        self, caller: Caller, connection_id: str, request: IdpFieldsRequest
    ) -> tuple[Connection, Connection, ConnectionOut]:
        """Import the IdP from metadata or fields. Returns (before, after, response)."""
        from sso_core.saml import idp_import  # lxml and the metadata reader: this route only

        conn = self.get_connection(caller, connection_id)
        now = self.clock()
        loopback = self.settings.allow_http_loopback_idp
        fields_given = any(v is not None for v in (request.entity_id, request.sso_url, request.certificates))
        if request.metadata_xml is not None:
            if fields_given:
                raise InvalidRequest("Give either metadata_xml or entity_id, sso_url and certificates, not both.")
            imported = idp_import.parse_idp_metadata(request.metadata_xml, now, allow_http_loopback=loopback)
            sso_urls = dict(imported.sso_urls)
            if not any(sso_urls.values()):
                raise InvalidRequest("The metadata names no SSO URL for the HTTP-POST or HTTP-Redirect binding.")
            idp = IdpConfig(
                entity_id=imported.entity_id,
                sso_url=str(sso_urls.get("post") or sso_urls.get("redirect")),
                sso_urls=sso_urls,
                certificates=list(imported.certificates),
                imported_at=now,
                source="metadata",
            )
            warnings = list(imported.warnings)
        else:
            if not (request.entity_id and request.sso_url and request.certificates):
                raise InvalidRequest("Give metadata_xml, or all of entity_id, sso_url and certificates.")
            sso_url = idp_import.validate_sso_url(request.sso_url.strip(), allow_http_loopback=loopback)
            checked = [idp_import.validate_certificate(c, now) for c in request.certificates]
            idp = IdpConfig(
                entity_id=request.entity_id.strip(),
                sso_url=sso_url,
                sso_urls={"post": sso_url, "redirect": sso_url},
                certificates=list(dict.fromkeys(c.pem for c in checked)),
                imported_at=now,
                source="fields",
            )
            warnings = [w for c in checked for w in c.warnings]
        updated = conn.model_copy(update={"idp": idp, "updated_at": now})
        # No claim on the IdP entity ID: several connections may name one IdP (see dal/connections.py).
        ops = [
            self.audit.put_op(
                caller.tenant_id,
                caller,
                "connection.idp_changed",
                conn.id,
                idp_summary(conn.idp),
                idp_summary(idp),
                now,
            ),
            *index_ops(conn, updated),  # the expiry index follows the certificates in the same transaction
        ]
        saved = self.repo.save(updated, conn.version, ops)
        logger.info("connection IdP imported", extra={"tenant_id": caller.tenant_id, "connection_id": conn.id})
        return conn, saved, self.to_out(saved, warnings)

    def update(self, caller: Caller, connection_id: str, request: UpdateConnectionRequest) -> Connection:
        conn = self.get_connection(caller, connection_id)
        changes: dict[str, object] = {k: v for k, v in request.model_dump().items() if v is not None}
        if not changes:
            raise InvalidRequest("Give signed_requests and/or binding.")
        now = self.clock()
        updated = conn.model_copy(update={**changes, "updated_at": now})
        audit = self.audit.put_op(
            caller.tenant_id,
            caller,
            "connection.settings_changed",
            conn.id,
            {"signed_requests": conn.signed_requests, "binding": conn.binding},
            {"signed_requests": updated.signed_requests, "binding": updated.binding},
            now,
        )
        return self.repo.save(updated, conn.version, [audit])
