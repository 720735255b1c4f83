"""The SAML engine: pysaml2 in process, with a signature backend on the ``xmlsec`` binding.

Pure logic (no AWS, no HTTP). Why pysaml2 runs in process, and how: docs/decisions.md.

- ``sp_metadata_xml``, ``build_authn_request``, ``generate_sp_keypair``: the SP side.
- ``parse_idp_metadata``, ``validate_certificate``, ``validate_sso_url``: importing an IdP.
- ``validate_response``: the ACS; returns ``ValidatedLogin`` or raises ``AcsRejected``.
"""

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
from sso_core.saml.pysaml2_config import IdpSettings, SpIdentity
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
