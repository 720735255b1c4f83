"""An IdP's error status: the engine keeps its codes and Entra's error number, never the message's text; a
validated login names the certificate that verified it."""

from __future__ import annotations

from cryptography import x509

from sso_core.models.idp_errors import IdpStatus
from sso_core.saml.certificates import certificate_der
from sso_local.saml_idp import RealIdp
from tests.support.saml_messages import ACS_URL, REQUEST_ID

RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
REQUEST_DENIED = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
ENTRA_MESSAGE = (
    "AADSTS750054: SAMLRequest or SAMLResponse must be present as query string parameters in HTTP request for "
    "SAML Redirect binding.\r\nTrace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333 user someone@contoso.com"
)


def test_an_entra_error_keeps_its_codes_and_number_only(idp_a: RealIdp, rejected) -> None:
    xml = idp_a.error_response_xml(
        acs_url=ACS_URL, in_response_to=REQUEST_ID, second_level=REQUEST_DENIED, message=ENTRA_MESSAGE
    )
    refusal = rejected(xml, "status_not_success")
    assert refusal.idp_status == IdpStatus(RESPONDER, REQUEST_DENIED, "AADSTS750054")
    assert refusal.detail.endswith(f"{RESPONDER} / {REQUEST_DENIED} (AADSTS750054).")
    assert "someone" not in refusal.detail and "Trace" not in refusal.detail


def test_a_message_without_an_entra_number_keeps_none(idp_a: RealIdp, rejected) -> None:
    xml = idp_a.error_response_xml(
        acs_url=ACS_URL, in_response_to=REQUEST_ID, second_level=REQUEST_DENIED, message="AADSTS12 nope; AADSTSX"
    )
    refusal = rejected(xml, "status_not_success")
    assert refusal.idp_status == IdpStatus(RESPONDER, REQUEST_DENIED, None)
    assert "AADSTS" not in refusal.detail


def test_a_validated_login_names_the_certificate_that_verified_it(entra_xml: str, validate, idp_a: RealIdp) -> None:
    login = validate(entra_xml)
    assert login.certificate_der == certificate_der(idp_a.keys.cert_pem)
    assert x509.load_der_x509_certificate(login.certificate_der).subject.rfc4514_string()
