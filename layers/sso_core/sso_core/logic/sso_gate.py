"""The gate in front of the Enterprise SSO feature: a tenant uses it only while support has granted access.

Owner routes that configure or read SSO call ``require_sso_access`` (403 ``sso_not_available``). Domain
verification stays open (a domain is useful without SSO), and so do the directions of the kill switches that make
things safer: switching a connection off and switching password login back on.

Public login routes need no read of their own: a tenant without access has no enabled connection (support's
revocation switches them off in the same transaction, and enabling one commits only while access is granted), so
discovery answers "password" and the login start and ACS refuse. The ACS reads the entitlement only on that refusal
path, to name the reason (``sso_not_available``) in the login trace.
"""

from __future__ import annotations

from sso_core.dal.sso_access import EntitlementRepository
from sso_core.dal.table import Table
from sso_core.models.sso_access import SsoNotAvailable


def has_sso_access(table: Table, tenant_id: str) -> bool:
    entitlement = EntitlementRepository(table).get(tenant_id)
    return entitlement is not None and entitlement.granted


def require_sso_access(table: Table, tenant_id: str) -> None:
    if not has_sso_access(table, tenant_id):
        raise SsoNotAvailable()
