"""SSO connections (owner): create for verified domains, show the SP details, import the IdP, settings.

Enabling and disabling (the kill switch) live in ``kill_switch.py``.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from sso_core.clock import Clock, utcnow
from sso_core.config import Settings
from sso_core.dal.audit import AuditLog
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.domains import DomainRepository
from sso_core.dal.sp_keys import SpKeyRecords
from sso_core.dal.table import Table, TransactionCancelled
from sso_core.gateways.metadata_fetch import FetchPolicy, fetch_metadata
from sso_core.gateways.sp_keys import ensure_sp_keys
from sso_core.logic.certificate_expiry import certificate_out, index_ops, merged_warnings
from sso_core.logic.sso_gate import require_sso_access
from sso_core.logic.tenant_scope import ConnectionNotFound, tenant_connection, verified_domains
from sso_core.models.connections import (
    Connection,
    ConnectionList,
    ConnectionOut,
    ConnectionStatus,
    IdpConfig,
    IdpFieldsRequest,
    IdpOut,
    SpDetails,
    UpdateConnectionRequest,
)
from sso_core.models.errors import ConcurrentChange, Conflict, InvalidRequest
from sso_core.models.identity import Caller
from sso_core.models.sp_keys import NextCertificate
from sso_core.observability import logger
from sso_core.saml.parties import IdpSettings

MAX_IDP_CERTIFICATES = 5


class ConnectionEnabled(Conflict):
    code = "connection_enabled"
    default_message = "The connection is switched on: disable Enterprise SSO first, then delete it."


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
    summary: dict[str, object] = {
        "entity_id": idp.entity_id,
        "sso_url": idp.sso_url,
        "certificates": len(idp.certificates),
    }
    if idp.metadata_url:
        summary["metadata_url"] = idp.metadata_url
    return summary


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(allow_origins=frozenset(settings.metadata_url_allow), ca_bundle=settings.metadata_url_ca_bundle)


def idp_from_metadata(
    xml: str, now: datetime, allow_http_loopback: bool, source: Literal["metadata", "metadata_url"]
) -> tuple[IdpConfig, list[str]]:
    """An IdP configuration from a metadata document (pasted or fetched), and the import's warnings."""
    from sso_core.saml import idp_import  # lxml and the metadata reader: the routes that import only

    imported = idp_import.parse_idp_metadata(xml, now, allow_http_loopback=allow_http_loopback)
    sso_urls = dict(imported.sso_urls)
    if not any(sso_urls.values()):
        raise InvalidRequest("The metadata names no SSO URL for the HTTP-POST or HTTP-Redirect binding.")
    certificates = list(imported.certificates)
    warnings = list(imported.warnings)
    if source == "metadata_url" and len(certificates) > MAX_IDP_CERTIFICATES:
        # The daily refresh keeps at most five (logic/metadata_refresh.py): the import keeps the same ones.
        warnings.append(
            f"The metadata publishes {len(certificates)} signing certificates; "
            f"the first {MAX_IDP_CERTIFICATES} are used."
        )
        certificates = certificates[:MAX_IDP_CERTIFICATES]
    idp = IdpConfig(
        entity_id=imported.entity_id,
        sso_url=str(sso_urls.get("post") or sso_urls.get("redirect")),
        sso_urls=sso_urls,
        certificates=certificates,
        imported_at=now,
        source=source,
    )
    return idp, warnings


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
                source=conn.idp.source,
                metadata_url=conn.idp.metadata_url,
                refreshed_at=conn.idp.refreshed_at,
                refresh_error=conn.idp.refresh_error,
                refresh_failed_at=conn.idp.refresh_failed_at,
            )
            if conn.idp.refresh_error:
                warnings = [
                    *(warnings or []),
                    f"The daily refresh of the IdP metadata failed: {conn.idp.refresh_error} "
                    "The configuration in use is the one last read successfully.",
                ]
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
        if request.metadata_url is not None:
            if fields_given or request.metadata_xml is not None:
                raise InvalidRequest("Give one of metadata_url, metadata_xml, or entity_id, sso_url and certificates.")
            url = request.metadata_url.strip()
            xml = fetch_metadata(url, fetch_policy(self.settings))
            idp, warnings = idp_from_metadata(xml, now, loopback, source="metadata_url")
            idp = idp.model_copy(update={"metadata_url": url, "refreshed_at": now})
        elif request.metadata_xml is not None:
            if fields_given:
                raise InvalidRequest("Give either metadata_xml or entity_id, sso_url and certificates, not both.")
            idp, warnings = idp_from_metadata(request.metadata_xml, now, loopback, source="metadata")
        else:
            if not (request.entity_id and request.sso_url and request.certificates):
                raise InvalidRequest("Give metadata_url, metadata_xml, or all of entity_id, sso_url and certificates.")
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

    def delete(self, caller: Caller, connection_id: str) -> None:
        """Remove a connection that is not switched on, with the routing of its domains, in one transaction.

        Not behind the SSO-access gate: removing only releases what the tenant holds. Its domains then log in with
        the password again (discovery finds no routing) and may get a new connection.
        """
        for _attempt in range(3):
            conn = tenant_connection(self.repo, caller, connection_id)
            if conn.status is ConnectionStatus.ENABLED:
                raise ConnectionEnabled()
            now = self.clock()
            before = {"domains": conn.domains, "status": conn.status.value, "idp": idp_summary(conn.idp)}
            audit = self.audit.put_op(caller.tenant_id, caller, "connection.deleted", conn.id, before, None, now)
            try:
                self.table.transact([*self.repo.delete_ops(conn), *index_ops(conn, None), audit])
            except TransactionCancelled as exc:
                if not exc.failed_on("connection", "routing") and not exc.conflict:
                    raise
                continue  # switched on, deleted or re-routed meanwhile: read again and decide again
            logger.info("connection deleted", extra={"tenant_id": caller.tenant_id, "connection_id": conn.id})
            return
        if self.repo.get(connection_id) is None:
            raise ConnectionNotFound()
        raise ConcurrentChange()
