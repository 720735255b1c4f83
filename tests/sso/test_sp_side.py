"""The SP side over HTTP: metadata valid against the SAML 2.0 metadata schema, the SP certificate, the SP key's
life in Secrets Manager (made on first use, reused, a next certificate published beside the current one), and the
AuthnRequest signed for both bindings, checked with the certificate served at GET /saml/{id}/certificate through
the xmlsec binding and cryptography (never with our own code)."""

from __future__ import annotations

import base64
import json
import zlib
from importlib.resources import files
from urllib.parse import unquote_plus, urlsplit

import pytest
import saml2.data.schemas
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree
from saml2.xml.schema import _create_xml_schema_validator

from sso_core.clock import utcnow
from sso_core.gateways import sp_keys
from sso_core.saml.certificates import generate_sp_keypair
from sso_core.saml.xml_names import BINDING_HTTP_POST, NS_DS, NS_MD, NS_SAML, NS_SAMLP, SIG_RSA_SHA256
from tests.support.sso_fixtures import SP_KEY_SECRET_ID
from tests.support.sso_world import SsoWorld
from tests.support.tampering import cert_body

pytestmark = pytest.mark.integration
MD = {"md": NS_MD, "ds": NS_DS}


@pytest.fixture(scope="module")
def metadata_schema():
    return _create_xml_schema_validator(str(files(saml2.data.schemas).joinpath("saml-schema-metadata-2.0.xsd")))


def certificate_of(world: SsoWorld) -> str:
    resp = world.api.call("GET", f"/saml/{world.connection_id}/certificate")
    assert resp.status == 200 and (resp.header("content-type") or "").startswith("application/x-pem-file")
    return resp.text


def signing_certificates(metadata: str) -> list[str]:
    root = etree.fromstring(metadata.encode())
    return list(
        root.xpath(
            "//md:SPSSODescriptor/md:KeyDescriptor[@use='signing']/ds:KeyInfo/ds:X509Data/ds:X509Certificate/text()",
            namespaces=MD,
        )
    )


# Metadata -------------------------------------------------------------------------------------------


def test_metadata_is_valid_and_names_this_connection(draft_world: SsoWorld, metadata_schema) -> None:
    resp = draft_world.api.call("GET", f"/saml/{draft_world.connection_id}/metadata")
    assert resp.status == 200
    assert (resp.header("content-type") or "").startswith("application/samlmetadata+xml")
    metadata_schema.validate(resp.text)  # raises on any schema error
    root = etree.fromstring(resp.body)
    assert root.get("entityID") == draft_world.sp["entity_id"]
    descriptor = root.find(f"{{{NS_MD}}}SPSSODescriptor")
    assert (descriptor.get("AuthnRequestsSigned"), descriptor.get("WantAssertionsSigned")) == ("true", "true")
    acs = descriptor.findall(f"{{{NS_MD}}}AssertionConsumerService")
    assert [(a.get("Binding"), a.get("Location")) for a in acs] == [(BINDING_HTTP_POST, draft_world.sp["acs_url"])]
    assert signing_certificates(resp.text) == [cert_body(certificate_of(draft_world))]


def test_metadata_and_certificate_of_an_unknown_connection(draft_world: SsoWorld) -> None:
    for cid in ("conn_0123456789abcdef0123", "nope", "conn_" + "x" * 300):
        for what in ("metadata", "certificate"):
            resp = draft_world.api.call("GET", f"/saml/{cid}/{what}")
            assert resp.status == 404 and resp.json()["error"]["code"] == "connection_not_found", (cid, what)


@pytest.fixture
def draft_world(world: SsoWorld) -> SsoWorld:
    world.verify_domain()
    world.create_connection()
    return world


# The SP key in Secrets Manager ----------------------------------------------------------------------


def test_a_new_deployment_gets_an_sp_key_once(api, dns, tmp_path, metadata_schema) -> None:
    """No ``world`` fixture here: nothing stored the key beforehand, as after a first deployment."""
    client = sp_keys.secrets_client()
    assert not client.list_secrets()["SecretList"]
    fresh = SsoWorld(api, dns, tmp_path / "outbox")
    fresh.verify_domain()
    fresh.create_connection()
    first = certificate_of(fresh)
    assert "BEGIN CERTIFICATE" in first
    assert certificate_of(fresh) == first
    stored = json.loads(client.get_secret_value(SecretId=SP_KEY_SECRET_ID)["SecretString"])
    assert stored["current"]["cert_pem"] == first and "PRIVATE KEY" in stored["current"]["key_pem"]
    assert x509.load_pem_x509_certificate(first.encode()).public_key().key_size >= 3072

    sp_keys.clear_cache()  # another Lambda instance: reads the same key, makes none
    assert certificate_of(fresh) == first
    assert len(client.list_secret_version_ids(SecretId=SP_KEY_SECRET_ID)["Versions"]) == 1
    metadata_schema.validate(fresh.sp_metadata())


def test_the_empty_secret_of_the_template_gets_the_first_key(api, dns, tmp_path) -> None:
    """template.yaml creates the secret without a value (an empty secret); the first use stores the key in it."""
    client = sp_keys.secrets_client()
    client.create_secret(Name=SP_KEY_SECRET_ID, Description="as the template makes it")
    fresh = SsoWorld(api, dns, tmp_path / "outbox")
    fresh.verify_domain()
    fresh.create_connection()
    first = certificate_of(fresh)
    stored = json.loads(client.get_secret_value(SecretId=SP_KEY_SECRET_ID)["SecretString"])
    assert stored["current"]["cert_pem"] == first
    sp_keys.clear_cache()
    assert certificate_of(fresh) == first


def test_the_next_certificate_is_published_beside_the_current(draft_world: SsoWorld, metadata_schema) -> None:
    current = certificate_of(draft_world)
    client = sp_keys.secrets_client()
    stored = json.loads(client.get_secret_value(SecretId=SP_KEY_SECRET_ID)["SecretString"])
    next_key, next_cert = generate_sp_keypair("sso.test", utcnow())
    stored["next"] = {"key_pem": next_key, "cert_pem": next_cert}
    client.put_secret_value(SecretId=SP_KEY_SECRET_ID, SecretString=json.dumps(stored))
    sp_keys.clear_cache()  # instances pick it up when their cache expires

    metadata = draft_world.sp_metadata()
    metadata_schema.validate(metadata)
    assert signing_certificates(metadata) == [cert_body(current), cert_body(next_cert)]
    assert certificate_of(draft_world) == current  # requests are still signed with the current key


# AuthnRequests --------------------------------------------------------------------------------------


def _verify_embedded(xml: bytes, cert_pem: str) -> etree._Element:
    root = etree.fromstring(xml)
    signature = root.find(f"{{{NS_DS}}}Signature")
    assert signature is not None
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(cert_pem.encode(), xmlsec.constants.KeyDataFormatCertPem)
    context.register_id(root, "ID")
    context.verify(signature)  # raises xmlsec.Error if wrong
    return root


def test_post_binding_request_is_signed_with_the_served_certificate(ready: SsoWorld) -> None:
    started = ready.start()
    assert started.response.status == 200
    root = _verify_embedded(started.saml_request_xml, certificate_of(ready))
    assert root.tag == f"{{{NS_SAMLP}}}AuthnRequest"
    assert root.get("ID") == started.request_id
    assert root.get("Destination") == ready.idp_sso_url
    assert root.get("AssertionConsumerServiceURL") == ready.sp["acs_url"]
    assert root.findtext(f"{{{NS_SAML}}}Issuer") == ready.sp["entity_id"]
    signed_info = root.find(f"{{{NS_DS}}}Signature/{{{NS_DS}}}SignedInfo")
    assert signed_info.find(f"{{{NS_DS}}}SignatureMethod").get("Algorithm") == SIG_RSA_SHA256
    assert f'action="{ready.idp_sso_url}"' in started.response.text
    with pytest.raises(xmlsec.Error):  # the signature covers the request
        _verify_embedded(started.saml_request_xml.replace(b"/acs", b"/evil"), certificate_of(ready))


def _raw_query(url: str) -> dict[str, str]:
    """The query's parameters as sent (still URL-encoded): the signature covers those bytes."""
    return dict(part.split("=", 1) for part in urlsplit(url).query.split("&"))


def test_redirect_binding_request_is_signed_over_the_query(ready: SsoWorld) -> None:
    assert ready.owner("PATCH", f"/connections/{ready.connection_id}", {"binding": "redirect"}).status == 200
    started = ready.start()
    assert started.response.status == 302 and started.cookies  # the binding cookie on the redirect too
    location = started.response.header("location") or ""
    assert location.startswith(ready.idp_sso_url + "?")
    raw = _raw_query(location)
    assert list(raw) == ["SAMLRequest", "RelayState", "SigAlg", "Signature"]
    assert unquote_plus(raw["SigAlg"]) == SIG_RSA_SHA256
    signed = f"SAMLRequest={raw['SAMLRequest']}&RelayState={raw['RelayState']}&SigAlg={raw['SigAlg']}".encode()
    public_key = x509.load_pem_x509_certificate(certificate_of(ready).encode()).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(base64.b64decode(unquote_plus(raw["Signature"])), signed, padding.PKCS1v15(), hashes.SHA256())
    xml = zlib.decompress(base64.b64decode(unquote_plus(raw["SAMLRequest"])), -15)
    root = etree.fromstring(xml)
    assert root.get("ID") == started.request_id and root.find(f"{{{NS_DS}}}Signature") is None
    # And the login completes: the response still comes back by POST.
    assert ready.post_acs(ready.response_b64(started.request_id), started.cookies).status == 302


def test_unsigned_requests_when_switched_off(ready: SsoWorld) -> None:
    path = f"/connections/{ready.connection_id}"
    assert ready.owner("PATCH", path, {"signed_requests": False}).status == 200
    posted = ready.start()
    assert etree.fromstring(posted.saml_request_xml).find(f"{{{NS_DS}}}Signature") is None
    assert ready.owner("PATCH", path, {"binding": "redirect"}).status == 200
    redirected = ready.start()
    assert set(_raw_query(redirected.response.header("location") or "")) == {"SAMLRequest", "RelayState"}
