"""Fixtures of the SAML engine tests: keys made at test time, a real IdP, the connection.

Nothing here may run the xmlsec1 program: ``no_subprocess`` fails any test that starts a
process (Lambda has no xmlsec1; pysaml2 would otherwise use it).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import saml2.sigver
from lxml import etree

from sso_core.saml import AcsRejected, IdpSettings, SpIdentity, ValidatedLogin, generate_sp_keypair, validate_response
from sso_core.saml.sp import sp_metadata_xml
from sso_local.saml_idp import IdpKeys, RealIdp, b64
from tests.support.keys import make_keypair
from tests.support.saml_messages import (
    ACS_URL,
    IDP_A_ENTITY_ID,
    IDP_A_SSO_URL,
    IDP_B_ENTITY_ID,
    IDP_B_SSO_URL,
    SIGN_IN_URL,
    SP_ENTITY_ID,
    Validate,
    issue,
)


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


@pytest.fixture
def entra_xml(idp_a: RealIdp, sp: SpIdentity) -> str:
    return issue(idp_a, sp)


@pytest.fixture
def both_signed_xml(idp_a: RealIdp, sp: SpIdentity) -> str:
    return issue(idp_a, sp, sign_response=True)


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
