"""The in-process backend is what pysaml2 uses, pysaml2 is a second, independent check, and
nothing of the message reaches the logs."""

from __future__ import annotations

import logging

import pytest
import saml2.xml.schema
import xmlsec
from lxml import etree
from saml2.sigver import CryptoBackendXmlSec1, CryptoBackendXMLSecurity

from sso_core.saml import IdpSettings, InProcessBackend, SpIdentity
from sso_core.saml import response_validation as acs
from sso_core.saml.crypto_backend import SignatureRejected, verify_element
from sso_core.saml.pysaml2_config import backend_of, sp_client
from sso_core.saml.saml_schema import LibxmlSamlSchema
from sso_core.saml.xml_names import NS_SAML
from sso_local.saml_idp import RealIdp
from tests.support import tampering
from tests.support.saml_messages import USER
from tests.support.tampering import EVIL, assertion_of, one, resign


def test_clients_use_the_in_process_backend_only(sp: SpIdentity, settings_a) -> None:
    client = sp_client(sp, settings_a)
    assert type(client.sec.crypto) is InProcessBackend
    assert not isinstance(client.sec.crypto, CryptoBackendXMLSecurity | CryptoBackendXmlSec1)
    assert backend_of(client) is client.sec.crypto
    assert client.sec.only_use_keys_in_metadata is True
    # One client per connection: another IdP gets its own configuration and metadata.
    other = settings_a.__class__("https://other.example/idp", settings_a.sso_url, settings_a.certificates, "post", True)
    assert sp_client(sp, other) is not client
    assert list(sp_client(sp, other).metadata.keys()) != list(client.metadata.keys())


def test_pysaml2_verifies_the_assertion_through_our_backend(
    entra_xml: str, validate, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str]] = []
    original = InProcessBackend.validate_signature

    def spy(self, signedtext, cert_file, cert_type, node_name, node_id):
        calls.append((node_name, node_id))
        return original(self, signedtext, cert_file, cert_type, node_name, node_id)

    monkeypatch.setattr(InProcessBackend, "validate_signature", spy)
    login = validate(entra_xml)
    assert calls == [("urn:oasis:names:tc:SAML:2.0:assertion:Assertion", login.assertion_id)]


def test_backend_refuses_a_certificate_that_is_not_the_connections(
    entra_xml: str, sp, settings_a, attacker_keys, tmp_path
) -> None:
    backend = backend_of(sp_client(sp, settings_a))
    foreign = tmp_path / "foreign.pem"
    foreign.write_text(attacker_keys.cert_pem)
    node_id = assertion_of(tampering.parse(entra_xml)).get("ID")
    node = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"
    assert backend.validate_signature(entra_xml, str(foreign), "pem", node, node_id) is False


def test_backend_refuses_weak_algorithms_for_signing(sp: SpIdentity, settings_a) -> None:
    backend = backend_of(sp_client(sp, settings_a))
    client = sp_client(sp, settings_a)
    with pytest.raises(SignatureRejected) as caught:
        client.create_authn_request(
            settings_a.sso_url,
            sign=True,
            sign_alg="http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            digest_alg="http://www.w3.org/2000/09/xmldsig#sha1",
        )
    assert caught.value.reason == "weak_algorithm"
    assert backend.version.count(".") == 2


def test_pysaml2_refuses_wrong_audience_even_without_our_check(
    entra_xml: str, idp_a: RealIdp, rejected, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tampering.parse(entra_xml)
    assertion = assertion_of(root)
    one(assertion, "saml:Conditions/saml:AudienceRestriction/saml:Audience").text = "https://other-sp.example"
    resign(assertion, idp_a.keys.key_pem, idp_a.keys.cert_pem)
    monkeypatch.setattr(acs, "_check_conditions", lambda *args: None)
    refusal = rejected(root, "library_rejected")
    assert "pysaml2" in refusal.detail


def test_pysaml2_refuses_wrong_recipient_even_without_our_check(
    entra_xml: str, idp_a: RealIdp, rejected, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tampering.parse(entra_xml)
    assertion = assertion_of(root)
    data_path = "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData"
    one(assertion, data_path).set("Recipient", "https://other-sp.example/acs")
    resign(assertion, idp_a.keys.key_pem, idp_a.keys.cert_pem)
    real = acs._check_subject_confirmation

    def without_recipient(signed, sp, now, skew):
        return real(signed, sp.__class__(sp.entity_id, "https://other-sp.example/acs", "", "", ""), now, skew)

    monkeypatch.setattr(acs, "_check_subject_confirmation", without_recipient)
    rejected(root, "library_rejected")


def test_pysaml2_refuses_an_unsigned_assertion_even_without_our_checks(
    entra_xml: str, sp, settings_a, now, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our structural checks and signature check switched off: pysaml2 (want_assertions_signed)
    still refuses an assertion whose signature was stripped."""
    root = tampering.parse(entra_xml)
    assertion = assertion_of(root)
    tampering.remove(tampering.signature_of(assertion))
    tampering.set_name_id(assertion, EVIL)
    with pytest.raises(acs.AcsRejected) as caught:
        acs._second_opinion(
            sp_client(sp, settings_a),
            tampering.serialise(root),
            sp,
            assertion.find(".//{*}SubjectConfirmationData").get("InResponseTo"),
            120,
            assertion_id=assertion.get("ID"),
            name_id=EVIL,
        )
    assert caught.value.reason in ("signature_invalid", "library_rejected")


def test_nothing_of_the_message_is_logged(
    entra_xml: str, validate, rejected, caplog: pytest.LogCaptureFixture, attacker_keys
) -> None:
    caplog.set_level(logging.DEBUG)
    validate(entra_xml)
    root = tampering.parse(entra_xml)
    resign(assertion_of(root), attacker_keys.key_pem, attacker_keys.cert_pem)
    rejected(root, "unknown_certificate")
    root = tampering.parse(entra_xml)
    one(root, "saml:Issuer").text = "https://evil.example/"
    rejected(root, "wrong_issuer")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert USER not in logged and "<" not in logged and "evil.example" not in logged
    assert not logging.getLogger("saml2.response").isEnabledFor(logging.CRITICAL)


# pysaml2's schema check, on libxml2 ---------------------------------------------------------


def _schema_cases(entra_xml: str) -> dict[str, tuple[str, bool]]:
    def variant(change) -> str:
        assertion = assertion_of(tampering.parse(entra_xml))
        change(assertion)
        return etree.tostring(assertion, encoding="unicode")

    def bogus(a):
        a.append(etree.Element(f"{{{NS_SAML}}}Bogus"))

    def reordered(a):
        a.insert(0, one(a, "saml:Subject"))

    def no_id(a):
        del a.attrib["ID"]

    def bad_instant(a):
        a.set("IssueInstant", "yesterday")

    return {
        "valid": (variant(lambda a: None), True),
        "unknown-element": (variant(bogus), False),
        "wrong-order": (variant(reordered), False),
        "missing-id": (variant(no_id), False),
        "bad-instant": (variant(bad_instant), False),
    }


def test_libxml2_schema_check_agrees_with_pysaml2s_own(entra_xml: str) -> None:
    from saml2.xml.schema import _create_xml_schema_validator

    original = _create_xml_schema_validator()  # pysaml2's pure-Python validator
    ours = LibxmlSamlSchema()
    for name, (document, valid) in _schema_cases(entra_xml).items():
        for validator in (original, ours):
            try:
                validator.validate(document)
                accepted = True
            except Exception:
                accepted = False
            assert accepted is valid, (name, type(validator).__name__)


def test_pysaml2_uses_the_libxml2_schema_check() -> None:
    assert isinstance(saml2.xml.schema._schema_validator_default, LibxmlSamlSchema)
    with pytest.raises(saml2.xml.schema.XMLSchemaError):
        saml2.xml.schema.validate("<saml:Assertion xmlns:saml='urn:oasis:names:tc:SAML:2.0:assertion'/>")


def test_schema_invalid_signed_assertion_is_refused(entra_xml: str, idp_a: RealIdp, rejected) -> None:
    """Our own checks ignore an unknown element; pysaml2's schema check (on libxml2) refuses it."""
    root = tampering.parse(entra_xml)
    assertion = assertion_of(root)
    assertion.append(etree.Element(f"{{{NS_SAML}}}Bogus"))
    resign(assertion, idp_a.keys.key_pem, idp_a.keys.cert_pem)
    refusal = rejected(root, "malformed")
    assert "schema" in refusal.detail


def _resigned_assertion(xml: str, key_pem: str, cert_pem: str, **options: object) -> etree._Element:
    """Re-signed, then serialised and parsed again, as every message the engine sees is
    (lxml's find() does not see nodes libxmlsec1 created in place until then)."""
    root = tampering.parse(xml)
    resign(assertion_of(root), key_pem, cert_pem, **options)
    return assertion_of(tampering.parse(tampering.serialise(root)))


def test_backend_policy_allows_inclusive_c14n_and_refuses_with_comments(
    entra_xml: str, idp_a: RealIdp, sp, settings_a
) -> None:
    trusted = backend_of(sp_client(sp, settings_a)).trusted
    for c14n, allowed in (
        (xmlsec.constants.TransformInclC14N, True),
        (xmlsec.constants.TransformInclC14N11, True),
        (xmlsec.constants.TransformExclC14N, True),
        (xmlsec.constants.TransformExclC14NWithComments, False),
        (xmlsec.constants.TransformInclC14NWithComments, False),
    ):
        assertion = _resigned_assertion(entra_xml, idp_a.keys.key_pem, idp_a.keys.cert_pem, c14n_method=c14n)
        if allowed:
            verify_element(assertion, trusted)
        else:
            with pytest.raises(SignatureRejected) as caught:
                verify_element(assertion, trusted)
            assert caught.value.reason == "unsupported_algorithm"


def test_backend_never_takes_the_key_from_key_info(entra_xml: str, attacker_keys, sp, settings_a) -> None:
    assertion = _resigned_assertion(entra_xml, attacker_keys.key_pem, attacker_keys.cert_pem)
    attacker_settings = IdpSettings(settings_a.entity_id, settings_a.sso_url, (attacker_keys.cert_pem,))
    verify_element(assertion, backend_of(sp_client(sp, attacker_settings)).trusted)  # control: it is valid
    with pytest.raises(SignatureRejected) as caught:
        verify_element(assertion, backend_of(sp_client(sp, settings_a)).trusted)
    assert caught.value.reason == "unknown_certificate"
