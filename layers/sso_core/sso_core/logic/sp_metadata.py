"""What the service provider publishes for a connection (public): its SAML metadata and its signing certificate.

During a rotation of the SP key (docs/sp-key-rotation.md) the metadata carries the staged next certificate (or,
after the switch, the previous one) beside the current one; ``certificate_pem`` serves the current one, or with
``which="next"`` the staged one.
"""

from __future__ import annotations

from sso_core.config import Settings
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.table import Table
from sso_core.logic.login_start import sp_identity
from sso_core.logic.tenant_scope import ConnectionNotFound
from sso_core.models.errors import InvalidRequest
from sso_core.models.sp_keys import NextCertificateNotStaged
from sso_core.saml import SpIdentity, sp_metadata_xml


def _published_sp(settings: Settings, table: Table, connection_id: str) -> SpIdentity:
    """The SP as it signs for an existing connection; an unknown one is ``ConnectionNotFound`` (404)."""
    if ConnectionRepository(table).get(connection_id) is None:
        raise ConnectionNotFound()
    return sp_identity(settings, connection_id)


def metadata_xml(settings: Settings, table: Table, connection_id: str) -> str:
    return sp_metadata_xml(_published_sp(settings, table, connection_id))


CERTIFICATES = ("current", "next")


def certificate_pem(settings: Settings, table: Table, connection_id: str, which: str = "current") -> str:
    if which not in CERTIFICATES:
        raise InvalidRequest("which must be current or next.")
    sp = _published_sp(settings, table, connection_id)
    if which == "current":
        return sp.cert_pem
    if sp.next_cert_pem is None:
        raise NextCertificateNotStaged()
    return sp.next_cert_pem
