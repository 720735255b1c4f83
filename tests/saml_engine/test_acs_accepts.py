"""Genuine responses from a real IdP are accepted, and identity is read as the lead needs it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sso_core.saml import SpIdentity, ValidatedLogin
from sso_core.saml.xml_names import NS_SAML
from sso_local.saml_idp import CLAIMS, MS_CLAIMS, RealIdp, entra_claims
from tests.support import tampering
from tests.support.saml_messages import IDP_A_ENTITY_ID, REQUEST_ID, USER, issue


def test_entra_shaped_response_is_accepted(entra_xml: str, validate, now: datetime) -> None:
    root = tampering.parse(entra_xml)
    assertion = tampering.assertion_of(root)
    assert tampering.signature_of(assertion) is not None
    assert root.find("{http://www.w3.org/2000/09/xmldsig#}Signature") is None  # Entra: assertion only
    assert root.get("Destination")

    login = validate(entra_xml)

    assert isinstance(login, ValidatedLogin)
    assert login.issuer == IDP_A_ENTITY_ID
    assert login.in_response_to == REQUEST_ID
    assert login.assertion_id == assertion.get("ID")
    assert login.response_id == root.get("ID")
    assert login.name_id == USER
    assert login.name_id_format == "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    assert login.email == USER and login.email_domain == "contoso.com"
    assert login.given_name == "Alice" and login.surname == "Martin"
    assert login.object_id == "4b8e3f5c-1a2b-4c3d-9e8f-0a1b2c3d4e5f"
    assert login.session_index
    assert login.attributes[CLAIMS + "emailaddress"] == [USER]
    assert login.attributes[MS_CLAIMS + "tenantid"] == ["72f988bf-86f1-41af-91ab-2d7cd011db47"]
    assert login.response_signed is False
    assert login.authn_instant is not None and abs(login.authn_instant - now) < timedelta(minutes=1)
    # For the replay cache TTL: the IdP's lifetime is one hour.
    assert timedelta(minutes=59) < login.assertion_not_on_or_after - now <= timedelta(minutes=61)


def test_response_and_assertion_both_signed_is_accepted(both_signed_xml: str, validate) -> None:
    root = tampering.parse(both_signed_xml)
    tampering.signature_of(root)
    tampering.signature_of(tampering.assertion_of(root))
    login = validate(both_signed_xml)
    assert login.response_signed is True
    assert login.email == USER


def test_email_domain_is_lower_cased(idp_a: RealIdp, sp: SpIdentity, validate) -> None:
    login = validate(issue(idp_a, sp, name_id="Alice.Martin@Contoso.COM"))
    assert login.email == "alice.martin@contoso.com"
    assert login.email_domain == "contoso.com"
    assert login.name_id == "Alice.Martin@Contoso.COM"  # NameID itself is returned as asserted


def test_email_from_claims_when_name_id_is_opaque(idp_a: RealIdp, sp: SpIdentity, validate) -> None:
    persistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    claims = entra_claims("Bob@Fabrikam.com")
    login = validate(issue(idp_a, sp, name_id="k3Xq9-opaque-id", name_id_format=persistent, claims=claims))
    assert login.name_id == "k3Xq9-opaque-id"
    assert login.email == "bob@fabrikam.com"


def test_email_from_upn_claim_only(idp_a: RealIdp, sp: SpIdentity, validate) -> None:
    persistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    claims = {CLAIMS + "upn": ["Carol@Contoso.com"]}
    login = validate(issue(idp_a, sp, name_id="opaque-1", name_id_format=persistent, claims=claims))
    assert login.email == "carol@contoso.com"


def test_no_email_anywhere_is_refused(idp_a: RealIdp, sp: SpIdentity, rejected) -> None:
    persistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    xml = issue(idp_a, sp, name_id="opaque-2", name_id_format=persistent, claims={CLAIMS + "givenname": ["Dan"]})
    rejected(xml, "no_email")


def test_unsigned_response_without_destination_is_accepted(entra_xml: str, validate) -> None:
    """Decision: Destination on an unsigned Response proves nothing; the signed bearer
    Recipient binds the assertion to our ACS. A signed Response must carry Destination."""
    root = tampering.parse(entra_xml)
    del root.attrib["Destination"]
    assert validate(root).email == USER


def test_identity_is_read_from_the_signed_assertion_only(entra_xml: str, validate) -> None:
    """Unsigned parts of the Response (its Issuer text is checked, but e.g. extra attributes) never leak in."""
    root = tampering.parse(entra_xml)
    extensions = tampering.etree.SubElement(root, "{urn:oasis:names:tc:SAML:2.0:protocol}Extensions")
    root.insert(1, extensions)  # after Issuer, before Status, as the schema orders them
    statement = tampering.etree.SubElement(extensions, f"{{{NS_SAML}}}AttributeStatement")
    attribute = tampering.etree.SubElement(statement, f"{{{NS_SAML}}}Attribute", Name=CLAIMS + "emailaddress")
    tampering.etree.SubElement(attribute, f"{{{NS_SAML}}}AttributeValue").text = "ceo@contoso.com"
    login = validate(root)
    assert login.email == USER
    assert login.attributes[CLAIMS + "emailaddress"] == [USER]


def test_email_normal_form_matches_invitations() -> None:
    from sso_core.models.emails import parse_email as normalise_email

    assert normalise_email(" Jane@BÜCHER.example. ") == "jane@xn--bcher-kva.example"
    assert normalise_email("Alice.Martin+sso@Contoso.COM") == "alice.martin+sso@contoso.com"
    for value in (
        "",
        "alice",
        "@contoso.com",
        "alice@",
        "alice@localhost",
        "a b@contoso.com",
        "a..b@contoso.com",
        "alice@[127.0.0.1]",
        "alice@contoso.123",
        '"q"@contoso.com',
        "alice@-bad-.com",
    ):
        assert normalise_email(value) is None, value


def test_ecdsa_p256_signed_assertion_is_accepted(entra_xml: str, settings_a, validate) -> None:
    """EC P-256 certificates are accepted at import, so their ECDSA-SHA256 signatures verify."""
    import xmlsec
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from sso_core.saml import IdpSettings

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp-ec")])
    start = datetime.now(UTC) - timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    root = tampering.parse(entra_xml)
    tampering.resign(tampering.assertion_of(root), key_pem, cert_pem, sign_method=xmlsec.constants.TransformEcdsaSha256)
    settings = IdpSettings(settings_a.entity_id, settings_a.sso_url, (cert_pem,))
    assert validate(root, idp=settings).email == USER
