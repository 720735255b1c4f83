"""Which connection, if any, signs in an email's domain. The single source of truth for routing.

SSO applies only when the exact domain (never a parent or child) is verified by the connection's tenant
and the connection is enabled.
"""

from __future__ import annotations

from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.domains import DomainRepository
from sso_core.dal.table import Table
from sso_core.models.connections import Connection, ConnectionStatus
from sso_core.models.domain_names import email_domain
from sso_core.models.domains import DomainClaim, DomainStatus
from sso_core.models.errors import InvalidDomain


def route_for_domain(table: Table, domain: str) -> tuple[Connection | None, DomainClaim | None]:
    """(connection, the tenant's verified claim) for ``domain``; None where either is missing.

    The connection is returned whatever its status, so callers can tell "disabled" from "none".
    """
    connections = ConnectionRepository(table)
    conn = connections.connection_for_domain(domain)
    if conn is None:
        return None, None
    claim = DomainRepository(table).get_claim(domain, conn.tenant_id)
    if claim is None or claim.status is not DomainStatus.VERIFIED:
        return conn, None
    return conn, claim


def sso_connection_for_email(table: Table, email: str) -> Connection | None:
    """The enabled connection that signs in ``email``, or None (password)."""
    try:
        domain = email_domain(email)
    except InvalidDomain:
        return None
    conn, claim = route_for_domain(table, domain)
    if conn is None or claim is None or conn.status is not ConnectionStatus.ENABLED:
        return None
    return conn
