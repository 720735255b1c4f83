"""The SP side: metadata valid against the SAML 2.0 metadata schema, AuthnRequests signed for
both bindings (checked with the xmlsec binding and with cryptography, not with our code)."""

from __future__ import annotations

import base64
import re
import zlib
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from importlib.resources import files
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest
import saml2.data.schemas
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree
from saml2.xml.schema import _create_xml_schema_validator

from sso_core.saml import IdpSettings, SpIdentity, build_authn_request, generate_sp_keypair, sp_metadata_xml
from sso_core.saml.xml_names import (
    BINDING_HTTP_POST,
    C14N_EXCLUSIVE,
    DIGEST_SHA256,
    NS_DS,
    NS_MD,
    NS_SAML,
    NS_SAMLP,
    SIG_RSA_SHA256,
)
from tests.support.saml_messages import ACS_URL, IDP_A_ENTITY_ID, IDP_A_SSO_URL, SP_ENTITY_ID
from tests.support.tampering import cert_body

NOW = datetime(2030, 5, 17, 9, 30, 12, tzinfo=UTC)
RELAY = "r-6f1c2b9a"
MD = {"md": NS_MD, "ds": NS_DS}


@pytest.fixture(scope="session")
def metadata_schema():
    path = files(saml2.data.schemas).joinpath("saml-schema-metadata-2.0.xsd")
    return _create_xml_schema_validator(str(path))


def _settings(sp_idp_cert: str, binding: str, signed: bool) -> IdpSettings:
    return IdpSettings(IDP_A_ENTITY_ID, IDP_A_SSO_URL, (sp_idp_cert,), binding, signed)  # type: ignore[arg-type]


# Metadata -------------------------------------------------------------------------------------


def test_sp_metadata_is_valid_saml_metadata(sp: SpIdentity, metadata_schema) -> None:
    xml = sp_metadata_xml(sp)
    metadata_schema.validate(xml)  # raises on any schema error
    root = etree.fromstring(xml.encode())
    assert root.tag == f"{{{NS_MD}}}EntityDescriptor" and root.get("entityID") == SP_ENTITY_ID
    descriptor = root.find(f"{{{NS_MD}}}SPSSODescriptor")
    assert descriptor.get("AuthnRequestsSigned") == "true"
    assert descriptor.get("WantAssertionsSigned") == "true"
    assert descriptor.findtext(f"{{{NS_MD}}}NameIDFormat") == ("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
    acs = descriptor.findall(f"{{{NS_MD}}}AssertionConsumerService")
    assert [(a.get("Binding"), a.get("Location")) for a in acs] == [(BINDING_HTTP_POST, ACS_URL)]
    keys = descriptor.findall(f"{{{NS_MD}}}KeyDescriptor")
    assert [k.get("use") for k in keys] == ["signing"]
    assert keys[0].findtext("ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=MD) == cert_body(sp.cert_pem)


def test_sp_metadata_lists_the_next_certificate_during_rotation(sp: SpIdentity, metadata_schema) -> None:
    _, next_cert = generate_sp_keypair("sso.example.com", NOW)
    rotating = SpIdentity(sp.entity_id, sp.acs_url, sp.sign_in_url, sp.key_pem, sp.cert_pem, next_cert)
    xml = sp_metadata_xml(rotating)
    metadata_schema.validate(xml)
    certificates = etree.fromstring(xml.encode()).xpath(
        "//md:KeyDescriptor[@use='signing']/ds:KeyInfo/ds:X509Data/ds:X509Certificate/text()", namespaces=MD
    )
    assert certificates == [cert_body(sp.cert_pem), cert_body(next_cert)]


# AuthnRequest, HTTP-POST ----------------------------------------------------------------------


def _verify_embedded(xml: bytes, cert_pem: str) -> etree._Element:
    """Verify the AuthnRequest's enveloped signature with the xmlsec binding and the SP certificate."""
    root = etree.fromstring(xml)
    signature = root.find(f"{{{NS_DS}}}Signature")
    assert signature is not None
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(cert_pem.encode(), xmlsec.constants.KeyDataFormatCertPem)
    context.register_id(root, "ID")
    context.verify(signature)
    return root


def test_post_binding_request_is_signed_and_verifies(sp: SpIdentity, idp_a) -> None:
    start = build_authn_request(sp, _settings(idp_a.keys.cert_pem, "post", True), RELAY, NOW)

    assert start.binding == "post" and start.url == IDP_A_SSO_URL
    assert set(start.form_fields) == {"SAMLRequest", "RelayState"} and start.form_fields["RelayState"] == RELAY
    xml = base64.b64decode(start.form_fields["SAMLRequest"])
    root = _verify_embedded(xml, sp.cert_pem)
    assert root.tag == f"{{{NS_SAMLP}}}AuthnRequest"
    assert root.get("ID") == start.request_id and len(start.request_id) >= 33
    assert root.get("IssueInstant") == "2030-05-17T09:30:12Z" and start.issue_instant == NOW
    assert root.get("Destination") == IDP_A_SSO_URL
    assert root.get("AssertionConsumerServiceURL") == ACS_URL
    assert root.get("ProtocolBinding") == BINDING_HTTP_POST
    assert root.findtext(f"{{{NS_SAML}}}Issuer") == SP_ENTITY_ID
    signed_info = root.find(f"{{{NS_DS}}}Signature/{{{NS_DS}}}SignedInfo")
    assert signed_info.find(f"{{{NS_DS}}}SignatureMethod").get("Algorithm") == SIG_RSA_SHA256
    assert signed_info.find(f"{{{NS_DS}}}CanonicalizationMethod").get("Algorithm") == C14N_EXCLUSIVE
    assert signed_info.find(f".//{{{NS_DS}}}DigestMethod").get("Algorithm") == DIGEST_SHA256
    assert signed_info.find(f"{{{NS_DS}}}Reference").get("URI") == "#" + start.request_id

    # Tampering breaks it: the signature covers the request.
    with pytest.raises(xmlsec.Error):
        _verify_embedded(xml.replace(ACS_URL.encode(), b"https://evil.example/acs"), sp.cert_pem)


def test_post_binding_page_is_strict(sp: SpIdentity, idp_a) -> None:
    start = build_authn_request(sp, _settings(idp_a.keys.cert_pem, "post", True), 'a"<b>&', NOW)
    page = start.html
    assert page is not None and start.content_security_policy is not None
    assert f'action="{IDP_A_SSO_URL}"' in page
    assert 'value="a&quot;&lt;b&gt;&amp;"' in page  # RelayState escaped
    assert f'value="{start.form_fields["SAMLRequest"]}"' in page
    assert re.search(r"<button type=\"submit\">", page)  # works without script
    assert not re.search(r"\son[a-z]+\s*=", page, re.IGNORECASE)  # no inline handlers
    scripts = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    assert len(scripts) == 1
    digest = "sha256-" + base64.b64encode(sha256(scripts[0].encode()).digest()).decode()
    csp = start.content_security_policy
    assert f"script-src '{digest}'" in csp
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert "form-action https:" in csp and "frame-ancestors 'none'" in csp


def test_post_binding_without_signing(sp: SpIdentity, idp_a) -> None:
    start = build_authn_request(sp, _settings(idp_a.keys.cert_pem, "post", False), RELAY, NOW)
    root = etree.fromstring(base64.b64decode(start.form_fields["SAMLRequest"]))
    assert root.find(f"{{{NS_DS}}}Signature") is None
    assert root.get("ID") == start.request_id


def test_request_ids_are_unique(sp: SpIdentity, idp_a) -> None:
    settings = _settings(idp_a.keys.cert_pem, "post", False)
    ids = {build_authn_request(sp, settings, RELAY, NOW).request_id for _ in range(20)}
    assert len(ids) == 20


def test_relay_state_over_80_bytes_is_refused(sp: SpIdentity, idp_a) -> None:
    with pytest.raises(ValueError):
        build_authn_request(sp, _settings(idp_a.keys.cert_pem, "post", True), "x" * 81, NOW)


# AuthnRequest, HTTP-Redirect ------------------------------------------------------------------


def _raw_query(url: str) -> dict[str, str]:
    """The query's parameters as sent (still URL-encoded): the signature covers those bytes."""
    return dict(part.split("=", 1) for part in urlsplit(url).query.split("&"))


def test_redirect_binding_request_is_signed_over_the_query_string(sp: SpIdentity, idp_a) -> None:
    start = build_authn_request(sp, _settings(idp_a.keys.cert_pem, "redirect", True), RELAY, NOW)

    assert start.binding == "redirect" and start.form_fields == {} and start.html is None
    assert start.url.startswith(IDP_A_SSO_URL + "?")
    raw = _raw_query(start.url)
    assert list(raw) == ["SAMLRequest", "RelayState", "SigAlg", "Signature"]
    assert unquote_plus(raw["SigAlg"]) == SIG_RSA_SHA256
    assert unquote_plus(raw["RelayState"]) == RELAY
    signed = f"SAMLRequest={raw['SAMLRequest']}&RelayState={raw['RelayState']}&SigAlg={raw['SigAlg']}".encode()
    public_key = x509.load_pem_x509_certificate(sp.cert_pem.encode()).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    signature = base64.b64decode(unquote_plus(raw["Signature"]))
    public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())  # raises if wrong

    xml = zlib.decompress(base64.b64decode(unquote_plus(raw["SAMLRequest"])), -15)
    root = etree.fromstring(xml)
    assert root.get("ID") == start.request_id
    assert root.get("IssueInstant") == "2030-05-17T09:30:12Z"
    assert root.find(f"{{{NS_DS}}}Signature") is None  # the redirect binding signs the URL, not the XML


def test_redirect_binding_without_signing(sp: SpIdentity, idp_a) -> None:
    start = build_authn_request(sp, _settings(idp_a.keys.cert_pem, "redirect", False), RELAY, NOW)
    query = parse_qs(urlsplit(start.url).query)
    assert set(query) == {"SAMLRequest", "RelayState"}


def test_idp_sso_url_with_a_query_keeps_it(sp: SpIdentity, idp_a) -> None:
    settings = IdpSettings(IDP_A_ENTITY_ID, IDP_A_SSO_URL + "?tenant=7", (idp_a.keys.cert_pem,), "redirect", True)
    start = build_authn_request(sp, settings, RELAY, NOW)
    assert start.url.startswith(IDP_A_SSO_URL + "?tenant=7&SAMLRequest=")


# Keys -----------------------------------------------------------------------------------------


def test_generated_sp_keypair(sp_keys) -> None:
    now = datetime.now(UTC)
    key_pem, cert_pem = sp_keys.key_pem, sp_keys.cert_pem
    certificate = x509.load_pem_x509_certificate(cert_pem.encode())
    assert certificate.public_key().key_size == 3072
    assert certificate.issuer == certificate.subject
    assert certificate.not_valid_before_utc <= now
    assert timedelta(days=1094) < certificate.not_valid_after_utc - now <= timedelta(days=1095)
    assert "PRIVATE KEY" in key_pem and "ENCRYPTED" not in key_pem
