"""Reading a tenant's connection and checking its domains, without the SAML engine.

The kill switch needs these and nothing of SAML: keeping them here keeps pysaml2 (about 0.5 s of import) out of
functions that never parse SAML.
"""

from __future__ import annotations

from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.domains import DomainRepository
from sso_core.models.connections import Connection
from sso_core.models.domain_names import normalise_domain
from sso_core.models.domains import DomainStatus
from sso_core.models.errors import Conflict, InvalidDomain, InvalidRequest, NotFound
from sso_core.models.identity import Caller


class ConnectionNotFound(NotFound):
    code = "connection_not_found"
    default_message = "No such connection in your organisation."


class DomainNotVerified(Conflict):
    code = "domain_not_verified"
    default_message = "A connection can only cover domains your organisation has verified."


def tenant_connection(repo: ConnectionRepository, caller: Caller, connection_id: str) -> Connection:
    """The caller's tenant's connection; another tenant's is as absent as an unknown one."""
    conn = repo.get(connection_id)
    if conn is None or conn.tenant_id != caller.tenant_id:
        raise ConnectionNotFound()
    return conn


def verified_domains(domains_repo: DomainRepository, tenant_id: str, raw_domains: list[str]) -> list[str]:
    """Normalised, de-duplicated; each must be verified by ``tenant_id`` now."""
    domains: list[str] = []
    for raw in raw_domains:
        try:
            domain = normalise_domain(raw)
        except InvalidDomain as exc:
            raise InvalidRequest(f"'{raw}': {exc.message}") from None
        if domain not in domains:
            domains.append(domain)
    for domain in domains:
        claim = domains_repo.get_claim(domain, tenant_id)
        if claim is None or claim.status is not DomainStatus.VERIFIED:
            raise DomainNotVerified(f"{domain} is not verified by your organisation.")
    return domains
