"""What the service provider publishes for a connection (public): its SAML metadata and its signing certificate."""

from __future__ import annotations

from sso_core.config import Settings
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.table import Table
from sso_core.logic.login_start import sp_identity
from sso_core.logic.tenant_scope import ConnectionNotFound
from sso_core.saml import SpIdentity, sp_metadata_xml


def _published_sp(settings: Settings, table: Table, connection_id: str) -> SpIdentity:
    """The SP as it signs for an existing connection; an unknown one is ``ConnectionNotFound`` (404)."""
    if ConnectionRepository(table).get(connection_id) is None:
        raise ConnectionNotFound()
    return sp_identity(settings, connection_id)


def metadata_xml(settings: Settings, table: Table, connection_id: str) -> str:
    return sp_metadata_xml(_published_sp(settings, table, connection_id))


def certificate_pem(settings: Settings, table: Table, connection_id: str) -> str:
    return _published_sp(settings, table, connection_id).cert_pem
