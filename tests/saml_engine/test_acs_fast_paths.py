"""What the ACS no longer repeats (issue 14), and proof that each shortcut is exact, not a hole.

- pysaml2's signature check of the very bytes, element and certificate our check has just
  verified is answered from that verification, inside that request only; anything else is
  verified in full;
- pysaml2 gets the connection's certificates as in-memory references, so it writes no
  temporary file per login;
- the base64 form value loses its whitespace with ``bytes.translate`` (same set as ``\\s``).
"""

from __future__ import annotations

import pytest
import saml2.sigver

from sso_core.saml import crypto_backend
from sso_core.saml.crypto_backend import VerifiedSignature, already_verified
from sso_core.saml.pysaml2_config import backend_of, sp_client
from sso_core.saml.xml_names import NS_SAML
from sso_local.saml_idp import b64
from tests.support import tampering
from tests.support.saml_messages import USER
from tests.support.tampering import EVIL, assertion_of

ASSERTION = f"{NS_SAML}:Assertion"


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every libxmlsec1 verification context made (one per signature per certificate tried)."""
    made: list[object] = []
    real = crypto_backend._verification_context

    def counting(key: object) -> object:
        made.append(key)
        return real(key)  # type: ignore[arg-type]

    monkeypatch.setattr(crypto_backend, "_verification_context", counting)
    return made


def test_each_signature_is_verified_once_per_login(entra_xml: str, both_signed_xml: str, validate, verifications):
    validate(entra_xml)
    assert len(verifications) == 1  # was 2: ours, then the same again for pysaml2
    verifications.clear()
    validate(both_signed_xml)
    assert len(verifications) == 2  # the Response's and the assertion's, once each


def _backend_and_reference(sp, settings):
    backend = backend_of(sp_client(sp, settings))
    (trusted,) = backend.trusted
    return backend, trusted


def test_the_remembered_answer_holds_for_the_exact_document_only(entra_xml: str, sp, settings_a, verifications):
    backend, trusted = _backend_and_reference(sp, settings_a)
    node_id = assertion_of(tampering.parse(entra_xml)).get("ID")
    record = VerifiedSignature(entra_xml, ASSERTION, node_id, trusted.der)
    root = tampering.parse(entra_xml)
    tampering.set_name_id(assertion_of(root), EVIL)  # same IDs, same signature, other bytes
    forged = tampering.serialise(root)
    with already_verified(record):
        assert backend.validate_signature(entra_xml, trusted.reference, "pem", ASSERTION, node_id) is True
        assert verifications == []  # answered from the record
        assert backend.validate_signature(forged, trusted.reference, "pem", ASSERTION, node_id) is False
        assert len(verifications) == 1  # verified in full, and refused
        other_element = f"{NS_SAML}:Response"
        with pytest.raises(crypto_backend.SignatureRejected):
            backend.validate_signature(entra_xml, trusted.reference, "pem", other_element, node_id)


def test_the_remembered_answer_does_not_outlive_its_block(entra_xml: str, sp, settings_a, verifications):
    backend, trusted = _backend_and_reference(sp, settings_a)
    node_id = assertion_of(tampering.parse(entra_xml)).get("ID")
    with already_verified(VerifiedSignature(entra_xml, ASSERTION, node_id, trusted.der)):
        pass
    assert backend.validate_signature(entra_xml, trusted.reference, "pem", ASSERTION, node_id) is True
    assert len(verifications) == 1


def test_the_remembered_answer_is_for_its_certificate_only(
    entra_xml: str, sp, settings_a, idp_a, attacker_keys, verifications
):
    """A record for the connection's certificate says nothing about another connection's backend."""
    from sso_core.saml import IdpSettings

    other = IdpSettings(settings_a.entity_id, settings_a.sso_url, (attacker_keys.cert_pem,))
    theirs, their_cert = _backend_and_reference(sp, other)
    _, trusted = _backend_and_reference(sp, settings_a)
    node_id = assertion_of(tampering.parse(entra_xml)).get("ID")
    with already_verified(VerifiedSignature(entra_xml, ASSERTION, node_id, trusted.der)):
        assert theirs.validate_signature(entra_xml, their_cert.reference, "pem", ASSERTION, node_id) is False
    assert len(verifications) == 1


def test_pysaml2_writes_no_temporary_certificate_file(entra_xml: str, validate, monkeypatch: pytest.MonkeyPatch):
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pysaml2 wrote a certificate to a temporary file")

    monkeypatch.setattr(saml2.sigver, "make_temp", refuse)
    assert validate(entra_xml).email == USER


def test_an_unknown_certificate_reference_is_refused(entra_xml: str, sp, settings_a):
    backend, _ = _backend_and_reference(sp, settings_a)
    node_id = assertion_of(tampering.parse(entra_xml)).get("ID")
    forged_reference = crypto_backend.IN_PROCESS_CERTIFICATE + "0" * 64
    assert backend.validate_signature(entra_xml, forged_reference, "pem", ASSERTION, node_id) is False


@pytest.mark.parametrize("separator", [" ", "\n", "\r\n", "\t", "\f", "\v"])
def test_the_form_value_may_carry_any_ascii_whitespace(entra_xml: str, sp, settings_a, now, separator: str):
    from sso_core.saml import validate_response

    value = b64(entra_xml)
    wrapped = separator.join(value[i : i + 76] for i in range(0, len(value), 76))
    assert validate_response(wrapped, sp=sp, idp=settings_a, now=now).email == USER


def test_other_characters_in_the_form_value_are_refused(entra_xml: str, sp, settings_a, now):
    from sso_core.saml import AcsRejected, validate_response

    value = b64(entra_xml)
    with pytest.raises(AcsRejected) as caught:
        validate_response(value[:100] + "\u00a0" + value[100:], sp=sp, idp=settings_a, now=now)
    assert caught.value.reason == "malformed"
