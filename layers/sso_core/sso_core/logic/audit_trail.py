"""Reading the audit log (owner): who changed what and when, newest first, a page at a time."""

from __future__ import annotations

from sso_core.dal.audit import AuditLog
from sso_core.dal.table import Table
from sso_core.models.audit import AuditPage
from sso_core.models.identity import Caller


def read_audit(table: Table, caller: Caller, limit: int, cursor: str | None) -> AuditPage:
    """The caller's tenant's entries only: the tenant comes from the caller, never from the request."""
    return AuditLog(table).page(caller.tenant_id, limit, cursor)
