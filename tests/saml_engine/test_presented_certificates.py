"""The certificate a response names, in the engine's verdict: an unknown one is described for display (never
trusted), a malformed one is left out, and an expired certificate that verifies is reported, not refused."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from sso_core.saml import AcsRejected, IdpSettings, SpIdentity
from sso_core.saml.certificates import MAX_SHOWN_DER_BYTES, certificate_der, shown_certificate
from sso_core.saml.sp import sp_metadata_xml
from sso_local.saml_idp import RealIdp
from tests.support import tampering
from tests.support.keys import make_keypair
from tests.support.saml_messages import IDP_A_ENTITY_ID, IDP_A_SSO_URL, Validate, issue


def fingerprint(cert_pem: str) -> str:
    return x509.load_pem_x509_certificate(cert_pem.encode()).fingerprint(hashes.SHA256()).hex(":").upper()


def test_an_unknown_certificate_is_named(idp_b: RealIdp, sp: SpIdentity, rejected: Callable[..., AcsRejected]) -> None:
    refusal = rejected(issue(idp_b, sp), "unknown_certificate")
    shown = refusal.certificate
    assert shown is not None
    assert shown.sha256_fingerprint == fingerprint(idp_b.keys.cert_pem)
    assert shown.subject == x509.load_pem_x509_certificate(idp_b.keys.cert_pem.encode()).subject.rfc4514_string()
    assert shown.not_before < datetime.now(UTC) < shown.not_after
    assert set(shown.as_dict()) == {"sha256_fingerprint", "subject", "not_before", "not_after"}


def test_a_malformed_key_info_certificate_is_left_out(
    idp_b: RealIdp, sp: SpIdentity, rejected: Callable[..., AcsRejected]
) -> None:
    root = tampering.parse(issue(idp_b, sp))
    [node] = tampering.signature_of(tampering.assertion_of(root)).iter(
        "{http://www.w3.org/2000/09/xmldsig#}X509Certificate"
    )
    node.text = base64.b64encode(os.urandom(600)).decode()  # base64, but no certificate
    refusal = rejected(root, "unknown_certificate")
    assert refusal.certificate is None


def test_shown_certificates_are_bounded(idp_b: RealIdp) -> None:
    der = certificate_der(idp_b.keys.cert_pem)
    assert shown_certificate(der) is not None
    assert shown_certificate(der + b"\0" * MAX_SHOWN_DER_BYTES) is None  # too large: not even parsed
    assert shown_certificate(b"\x30\x03\x02\x01\x01") is None


def test_an_expired_certificate_still_verifies_and_is_reported(sp: SpIdentity, validate: Validate) -> None:
    now = datetime.now(UTC)
    expired = make_keypair("idp-expired", not_before=now - timedelta(days=400), not_after=now - timedelta(days=2))
    idp = RealIdp(IDP_A_ENTITY_ID, IDP_A_SSO_URL, expired, sp_metadata_xml(sp))
    settings = IdpSettings(entity_id=IDP_A_ENTITY_ID, sso_url=IDP_A_SSO_URL, certificates=(expired.cert_pem,))
    login = validate(issue(idp, sp), idp=settings)
    assert login.expired_signer is not None
    assert login.expired_signer.sha256_fingerprint == fingerprint(expired.cert_pem)


def test_a_current_certificate_reports_nothing(entra_xml: str, validate: Validate) -> None:
    assert validate(entra_xml).expired_signer is None
