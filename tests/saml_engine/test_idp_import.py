"""Importing an IdP: federation metadata (as pysaml2 and Entra publish it), certificates, URLs."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID
from lxml import etree

from sso_core.models.errors import DomainError
from sso_core.saml import (
    IdpSettings,
    InvalidCertificate,
    InvalidIdpMetadata,
    InvalidSsoUrl,
    parse_idp_metadata,
    validate_certificate,
    validate_sso_url,
)
from sso_core.saml.certificates import normalised_pem
from sso_core.saml.xml_names import NS_DS, NS_MD
from sso_local.saml_idp import RealIdp
from tests.support.keys import make_keypair
from tests.support.saml_messages import IDP_A_ENTITY_ID, IDP_A_SSO_URL, issue
from tests.support.tampering import cert_body, resign

FED = "http://docs.oasis-open.org/wsfed/federation/200706"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


@pytest.fixture(scope="session")
def second_keys():
    return make_keypair("idp-a-next")


def _entra_metadata(idp: RealIdp, second_cert: str, *, foreign_cert: str | None = None) -> str:
    """pysaml2's IdP metadata with two signing certificates, dressed as Entra's federation
    metadata: signed, with a WS-Federation RoleDescriptor (whose keys must be ignored) first."""
    root = etree.fromstring(idp.metadata_xml(extra_certificates=[second_cert]).encode())
    root.set("ID", "_e3b0c442-98fc-1c14-9afb-f4c8996fb924")
    role = etree.Element(f"{{{NS_MD}}}RoleDescriptor", nsmap={"fed": FED, "xsi": XSI})
    role.set(f"{{{XSI}}}type", "fed:SecurityTokenServiceType")
    role.set("protocolSupportEnumeration", FED)
    key = etree.SubElement(role, f"{{{NS_MD}}}KeyDescriptor", use="signing")
    info = etree.SubElement(key, f"{{{NS_DS}}}KeyInfo")
    data = etree.SubElement(info, f"{{{NS_DS}}}X509Data")
    etree.SubElement(data, f"{{{NS_DS}}}X509Certificate").text = cert_body(foreign_cert or second_cert)
    root.insert(0, role)
    resign(root, idp.keys.key_pem, idp.keys.cert_pem)
    return etree.tostring(root, encoding="unicode")


def test_entra_style_metadata_with_two_signing_certificates(idp_a: RealIdp, second_keys, now) -> None:
    foreign = make_keypair("ws-fed-only")
    xml = _entra_metadata(idp_a, second_keys.cert_pem, foreign_cert=foreign.cert_pem)
    imported = parse_idp_metadata(xml, now)

    assert imported.entity_id == IDP_A_ENTITY_ID
    assert imported.sso_urls == {"post": IDP_A_SSO_URL, "redirect": IDP_A_SSO_URL}
    assert imported.certificates == (normalised_pem(idp_a.keys.cert_pem), normalised_pem(second_keys.cert_pem))
    assert normalised_pem(foreign.cert_pem) not in imported.certificates  # not the IdP descriptor's key
    assert imported.warnings == ()


def test_imported_idp_validates_its_responses(idp_a: RealIdp, second_keys, sp, validate, now) -> None:
    imported = parse_idp_metadata(_entra_metadata(idp_a, second_keys.cert_pem), now)
    settings = IdpSettings(imported.entity_id, imported.sso_urls["post"] or "", imported.certificates)
    assert validate(issue(idp_a, sp), idp=settings).issuer == IDP_A_ENTITY_ID


@pytest.mark.parametrize(
    "prefix",
    [
        '<!DOCTYPE md [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE EntityDescriptor SYSTEM "http://attacker.example/md.dtd">',
        '<?xml version="1.0"?>\n<!doctype x>',
    ],
    ids=["xxe", "external-dtd", "lower-case"],
)
def test_doctype_is_refused(prefix: str, idp_a: RealIdp, second_keys, now) -> None:
    xml = _entra_metadata(idp_a, second_keys.cert_pem)
    with pytest.raises(InvalidIdpMetadata) as caught:
        parse_idp_metadata(prefix + xml, now)
    assert caught.value.code == "invalid_idp_metadata" and caught.value.status == 400
    assert "DOCTYPE" in caught.value.message


def test_unparseable_metadata_is_refused(now) -> None:
    for text in ("", "not xml", "<md:EntityDescriptor", "<a/>"):
        with pytest.raises(InvalidIdpMetadata):
            parse_idp_metadata(text, now)


def test_sp_metadata_is_not_idp_metadata(sp, now) -> None:
    from sso_core.saml import sp_metadata_xml

    with pytest.raises(InvalidIdpMetadata) as caught:
        parse_idp_metadata(sp_metadata_xml(sp), now)
    assert "IDPSSODescriptor" in caught.value.message


def test_metadata_without_certificate_is_refused(idp_a: RealIdp, now) -> None:
    root = etree.fromstring(idp_a.metadata_xml().encode())
    for key in root.iter(f"{{{NS_MD}}}KeyDescriptor"):
        key.getparent().remove(key)
    with pytest.raises(InvalidIdpMetadata) as caught:
        parse_idp_metadata(etree.tostring(root, encoding="unicode"), now)
    assert "certificate" in caught.value.message


def test_several_identity_providers_are_refused_and_one_is_taken(idp_a: RealIdp, idp_b: RealIdp, sp, now) -> None:
    from sso_core.saml import sp_metadata_xml

    def entities(*documents: str) -> str:
        wrapper = etree.Element(f"{{{NS_MD}}}EntitiesDescriptor", nsmap={"md": NS_MD})
        for document in documents:
            wrapper.append(etree.fromstring(document.replace('<?xml version="1.0" encoding="UTF-8"?>\n', "").encode()))
        return etree.tostring(wrapper, encoding="unicode")

    with pytest.raises(InvalidIdpMetadata) as caught:
        parse_idp_metadata(entities(idp_a.metadata_xml(), idp_b.metadata_xml()), now)
    assert "2 identity providers" in caught.value.message
    single = parse_idp_metadata(entities(sp_metadata_xml(sp), idp_b.metadata_xml()), now)
    assert single.entity_id == idp_b.entity_id


def test_weak_key_is_refused(idp_a: RealIdp, now) -> None:
    weak = make_keypair("weak", bits=1024)
    with pytest.raises(InvalidCertificate) as caught:
        validate_certificate(weak.cert_pem, now)
    assert caught.value.code == "invalid_certificate" and "1024" in caught.value.message
    with pytest.raises(InvalidCertificate):
        parse_idp_metadata(_metadata_with(idp_a, [weak.cert_pem]), now)


def test_expired_certificate_is_refused(idp_a: RealIdp, now) -> None:
    expired = make_keypair("old", not_before=now - timedelta(days=400), not_after=now - timedelta(days=1))
    with pytest.raises(InvalidCertificate) as caught:
        validate_certificate(expired.cert_pem, now)
    assert "expired" in caught.value.message
    with pytest.raises(InvalidCertificate):
        parse_idp_metadata(_metadata_with(idp_a, [expired.cert_pem]), now)
    # Next to a good one (a rotation in progress), the expired one is skipped with a warning.
    imported = parse_idp_metadata(_metadata_with(idp_a, [expired.cert_pem, idp_a.keys.cert_pem]), now)
    assert imported.certificates == (normalised_pem(idp_a.keys.cert_pem),)
    assert any("skipped" in w and "expired" in w for w in imported.warnings)


def test_certificate_expiring_soon_is_accepted_with_a_warning(idp_a: RealIdp, now) -> None:
    soon = make_keypair("soon", not_after=now + timedelta(days=10))
    checked = validate_certificate(soon.cert_pem, now)
    assert checked.pem == normalised_pem(soon.cert_pem)
    assert len(checked.warnings) == 1 and "expires on" in checked.warnings[0]
    imported = parse_idp_metadata(_metadata_with(idp_a, [soon.cert_pem]), now)
    assert imported.warnings == checked.warnings
    far = validate_certificate(idp_a.keys.cert_pem, now)
    assert far.warnings == ()


def test_certificate_formats(idp_a: RealIdp, now) -> None:
    pem = idp_a.keys.cert_pem
    body = cert_body(pem)
    wrapped = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    for text in (pem, body, wrapped, "  " + wrapped.replace("\n", "\r\n ") + "\n", pem.replace("\n", "\r\n")):
        assert validate_certificate(text, now).pem == normalised_pem(pem)
    for text in ("", "hello", base64.b64encode(b"not a certificate").decode(), pem.replace("M", "#", 1)):
        with pytest.raises(InvalidCertificate):
            validate_certificate(text, now)


def test_elliptic_curve_keys(now) -> None:
    assert validate_certificate(_ec_certificate(ec.SECP256R1()), now)
    assert validate_certificate(_ec_certificate(ec.SECP384R1()), now)
    with pytest.raises(InvalidCertificate):
        validate_certificate(_ec_certificate(ec.SECP256K1()), now)
    with pytest.raises(InvalidCertificate):
        validate_certificate(_ed25519_certificate(), now)


def test_sso_urls() -> None:
    assert validate_sso_url(IDP_A_SSO_URL) == IDP_A_SSO_URL
    assert validate_sso_url("https://idp.example.com:8443/sso?x=1") == "https://idp.example.com:8443/sso?x=1"
    assert validate_sso_url("http://127.0.0.1:9000/sso", allow_http_loopback=True) == "http://127.0.0.1:9000/sso"
    refused = [
        ("http://idp.example.com/sso", True),
        ("http://127.0.0.1:9000/sso", False),
        ("http://localhost:9000/sso", True),
        ("javascript:alert(1)", True),
        ("https://", False),
        ("https://user:pw@idp.example.com/sso", False),
        ("https://idp.example.com/sso#x", False),
        ("https://idp.example.com/s so", False),
        ("https://idp.example.com:99999/sso", False),
        ("//idp.example.com/sso", False),
        ("", False),
    ]
    for url, loopback in refused:
        with pytest.raises(InvalidSsoUrl) as caught:
            validate_sso_url(url, allow_http_loopback=loopback)
        assert caught.value.code == "invalid_sso_url" and caught.value.status == 400


def test_http_sso_url_in_metadata_is_refused(idp_a: RealIdp, now) -> None:
    xml = idp_a.metadata_xml().replace(IDP_A_SSO_URL, "http://login.example.com/saml2")
    with pytest.raises(InvalidSsoUrl):
        parse_idp_metadata(xml, now)
    local = idp_a.metadata_xml().replace(IDP_A_SSO_URL, "http://127.0.0.1:8010/saml2")
    assert parse_idp_metadata(local, now, allow_http_loopback=True).sso_urls["post"] == "http://127.0.0.1:8010/saml2"


def test_import_errors_are_domain_errors() -> None:
    for error in (InvalidIdpMetadata, InvalidCertificate, InvalidSsoUrl):
        assert issubclass(error, DomainError) and error.status == 400


def _metadata_with(idp: RealIdp, certificates: list[str]) -> str:
    root = etree.fromstring(idp.metadata_xml().encode())
    descriptor = root.find(f"{{{NS_MD}}}IDPSSODescriptor")
    for key in descriptor.findall(f"{{{NS_MD}}}KeyDescriptor"):
        descriptor.remove(key)
    for position, pem in enumerate(certificates):
        key = etree.Element(f"{{{NS_MD}}}KeyDescriptor")  # no "use": signing and encryption
        info = etree.SubElement(key, f"{{{NS_DS}}}KeyInfo")
        data = etree.SubElement(info, f"{{{NS_DS}}}X509Data")
        etree.SubElement(data, f"{{{NS_DS}}}X509Certificate").text = cert_body(pem)
        descriptor.insert(position, key)
    return etree.tostring(root, encoding="unicode")


def _self_signed(private_key, public_key) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec")])
    start = datetime.now(UTC) - timedelta(days=1)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365))
    )
    algorithm = None if isinstance(private_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(private_key, algorithm).public_bytes(serialization.Encoding.PEM).decode()


def _ec_certificate(curve: ec.EllipticCurve) -> str:
    key = ec.generate_private_key(curve)
    return _self_signed(key, key.public_key())


def _ed25519_certificate() -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    return _self_signed(key, key.public_key())
