"""The SAML engine: pysaml2 in process, with a signature backend on the ``xmlsec`` binding.

Pure logic (no AWS, no HTTP). Why pysaml2 runs in process, and how: docs/decisions.md.

- ``sp_metadata_xml``, ``build_authn_request``, ``generate_sp_keypair``: the SP side.
- ``parse_idp_metadata``, ``validate_certificate``, ``validate_sso_url``: importing an IdP.
- ``validate_response``: the ACS; returns ``ValidatedLogin`` or raises ``AcsRejected``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Before anything imports pysaml2's signature module: its schema check on libxml2, without
# pysaml2 building its pure-Python validator at import (see schema_hook.install).
from sso_core.saml import schema_hook

schema_hook.install()

# The engine's names are loaded on first use (PEP 562): a handler that needs one certificate
# helper (``sso_core.saml.certificates``) must not import pysaml2 with this package.
_EXPORTS = {
    "generate_sp_keypair": "sso_core.saml.certificates",
    "InProcessBackend": "sso_core.saml.crypto_backend",
    "CheckedCertificate": "sso_core.saml.idp_import",
    "ImportedIdp": "sso_core.saml.idp_import",
    "InvalidCertificate": "sso_core.saml.idp_import",
    "InvalidIdpMetadata": "sso_core.saml.idp_import",
    "InvalidSsoUrl": "sso_core.saml.idp_import",
    "parse_idp_metadata": "sso_core.saml.idp_import",
    "validate_certificate": "sso_core.saml.idp_import",
    "validate_sso_url": "sso_core.saml.idp_import",
    "IdpSettings": "sso_core.saml.parties",
    "SpIdentity": "sso_core.saml.parties",
    "AcsRejected": "sso_core.saml.response_validation",
    "ValidatedLogin": "sso_core.saml.response_validation",
    "validate_response": "sso_core.saml.response_validation",
    "AuthnStart": "sso_core.saml.sp",
    "build_authn_request": "sso_core.saml.sp",
    "sp_metadata_xml": "sso_core.saml.sp",
}

if TYPE_CHECKING:
    from sso_core.saml.certificates import generate_sp_keypair
    from sso_core.saml.crypto_backend import InProcessBackend
    from sso_core.saml.idp_import import (
        CheckedCertificate,
        ImportedIdp,
        InvalidCertificate,
        InvalidIdpMetadata,
        InvalidSsoUrl,
        parse_idp_metadata,
        validate_certificate,
        validate_sso_url,
    )
    from sso_core.saml.parties import IdpSettings, SpIdentity
    from sso_core.saml.response_validation import AcsRejected, ValidatedLogin, validate_response
    from sso_core.saml.sp import AuthnStart, build_authn_request, sp_metadata_xml

__all__ = [
    "AcsRejected",
    "AuthnStart",
    "CheckedCertificate",
    "IdpSettings",
    "ImportedIdp",
    "InProcessBackend",
    "InvalidCertificate",
    "InvalidIdpMetadata",
    "InvalidSsoUrl",
    "SpIdentity",
    "ValidatedLogin",
    "build_authn_request",
    "generate_sp_keypair",
    "parse_idp_metadata",
    "sp_metadata_xml",
    "validate_certificate",
    "validate_response",
    "validate_sso_url",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
