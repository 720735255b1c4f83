"""Fixtures of the SAML engine tests: keys made at test time, a real IdP, the connection.

Nothing here may run the xmlsec1 program: ``no_subprocess`` fails any test that starts a
process (Lambda has no xmlsec1; pysaml2 would otherwise use it).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import saml2.sigver
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from sso_core.saml import AcsRejected, IdpSettings, SpIdentity, ValidatedLogin, generate_sp_keypair, validate_response
from sso_core.saml.sp import sp_metadata_xml
from sso_local.saml_idp import IdpKeys, RealIdp, b64

SP_ENTITY_ID = "https://sso.example.com/saml/sp"
ACS_URL = "https://sso.example.com/saml/acs"
SIGN_IN_URL = "https://sso.example.com/login"
IDP_A_ENTITY_ID = "https://sts.windows.net/aaaaaaaa-0000-4000-8000-000000000001/"
IDP_A_SSO_URL = "https://login.microsoftonline.com/aaaaaaaa-0000-4000-8000-000000000001/saml2"
IDP_B_ENTITY_ID = "https://sts.windows.net/bbbbbbbb-0000-4000-8000-000000000002/"
IDP_B_SSO_URL = "https://login.microsoftonline.com/bbbbbbbb-0000-4000-8000-000000000002/saml2"
REQUEST_ID = "_4f6c2a9e0b7d41c3a8e5f1d2c3b4a59687766554"
USER = "alice@contoso.com"


def make_keypair(
    common_name: str,
    *,
    bits: int = 2048,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> IdpKeys:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = not_before or datetime.now(UTC) - timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(not_after or start + timedelta(days=3 * 365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return IdpKeys(key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode())


@pytest.fixture(autouse=True)
def no_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a process was started: {args!r}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(saml2.sigver, "Popen", refuse)


@pytest.fixture(scope="session")
def sp_keys() -> IdpKeys:
    key_pem, cert_pem = generate_sp_keypair("sso.example.com", datetime.now(UTC))
    return IdpKeys(key_pem, cert_pem)


@pytest.fixture(scope="session")
def sp(sp_keys: IdpKeys) -> SpIdentity:
    return SpIdentity(SP_ENTITY_ID, ACS_URL, SIGN_IN_URL, sp_keys.key_pem, sp_keys.cert_pem)


@pytest.fixture(scope="session")
def idp_a(sp: SpIdentity) -> RealIdp:
    return RealIdp(IDP_A_ENTITY_ID, IDP_A_SSO_URL, make_keypair("idp-a"), sp_metadata_xml(sp))


@pytest.fixture(scope="session")
def idp_b(sp: SpIdentity) -> RealIdp:
    return RealIdp(IDP_B_ENTITY_ID, IDP_B_SSO_URL, make_keypair("idp-b"), sp_metadata_xml(sp))


@pytest.fixture(scope="session")
def attacker_keys() -> IdpKeys:
    return make_keypair("attacker")


@pytest.fixture(scope="session")
def settings_a(idp_a: RealIdp) -> IdpSettings:
    return IdpSettings(IDP_A_ENTITY_ID, IDP_A_SSO_URL, (idp_a.keys.cert_pem,), "post", True)


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)


def issue(idp: RealIdp, sp: SpIdentity, **kwargs: object) -> str:
    """A fresh response from ``idp`` to ``sp`` (Entra-shaped unless told otherwise)."""
    arguments: dict[str, object] = {"in_response_to": REQUEST_ID, "name_id": USER}
    arguments.update(kwargs)
    return idp.response_xml(sp_entity_id=sp.entity_id, acs_url=sp.acs_url, **arguments)  # type: ignore[arg-type]


@pytest.fixture
def entra_xml(idp_a: RealIdp, sp: SpIdentity) -> str:
    return issue(idp_a, sp)


@pytest.fixture
def both_signed_xml(idp_a: RealIdp, sp: SpIdentity) -> str:
    return issue(idp_a, sp, sign_response=True)


Validate = Callable[..., ValidatedLogin]


@pytest.fixture
def validate(sp: SpIdentity, settings_a: IdpSettings, now: datetime) -> Validate:
    """validate_response on XML text or a tree, for tenant A's connection unless told otherwise."""

    def run(message: str | bytes | etree._Element, **kwargs: object) -> ValidatedLogin:
        if isinstance(message, etree._Element):
            message = etree.tostring(message)
        arguments: dict[str, object] = {"sp": sp, "idp": settings_a, "now": now}
        arguments.update(kwargs)
        return validate_response(b64(message), **arguments)  # type: ignore[arg-type]

    return run


@pytest.fixture
def rejected(validate: Validate) -> Callable[..., AcsRejected]:
    """Asserts the message is refused with ``reason`` and returns the refusal."""

    def run(message: str | bytes | etree._Element, reason: str, **kwargs: object) -> AcsRejected:
        with pytest.raises(AcsRejected) as caught:
            validate(message, **kwargs)
        assert caught.value.reason == reason, caught.value.detail
        return caught.value

    return run
