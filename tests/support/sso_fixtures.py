"""Fixtures shared by the SSO and kill-switch test folders (a plugin of the root conftest; each folder's conftest
turns ``sso_env`` on for itself and uses the session-wide ``session_authority``).

Keys are made once per session (RSA generation was most of each test's setup): the token authority's, each
tenant's IdP key, and the SP signing key, which ``store_sp_key`` puts in Secrets Manager before the first request.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sso_core.clock import utcnow
from sso_core.config import get_settings
from sso_core.gateways import sp_keys
from sso_core.saml.certificates import generate_sp_keypair
from sso_local.dns_server import LocalDnsServer
from sso_local.saml_idp import IdpKeys
from sso_local.tokens import TokenAuthority
from tests.support.api import Api
from tests.support.sso_world import CLIENT_SECRET, SsoWorld, idp_keys

SP_KEY_SECRET_ID = "test/sp-signing-key"


@pytest.fixture
def sso_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SSO_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("SSO_SP_KEY_SECRET_ID", SP_KEY_SECRET_ID)
    monkeypatch.setenv("SSO_LOCAL_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setenv("SSO_APP_REDIRECT_URL", "https://app.test/sso/callback")
    monkeypatch.setenv("SSO_INVITE_ACCEPT_URL", "https://sso.test/invitations/accept")
    get_settings.cache_clear()
    sp_keys.clear_cache()


@pytest.fixture(scope="session")
def session_authority(tmp_path_factory: pytest.TempPathFactory) -> TokenAuthority:
    return TokenAuthority(tmp_path_factory.mktemp("state"))


@pytest.fixture(scope="session")
def acme_idp_keys() -> IdpKeys:
    return idp_keys("acme-idp")


@pytest.fixture(scope="session")
def sp_keypair() -> tuple[str, str]:
    return generate_sp_keypair("sso.test", utcnow())


def store_sp_key(key_pem: str, cert_pem: str) -> None:
    """What a deployment holds once its SP key exists (sp_keys creates it on first use otherwise)."""
    value = json.dumps({"current": {"key_pem": key_pem, "cert_pem": cert_pem}, "next": None})
    client = sp_keys.secrets_client()
    try:
        client.create_secret(Name=SP_KEY_SECRET_ID, SecretString=value)
    except client.exceptions.ResourceExistsException:  # the moto server lives for the whole session
        client.put_secret_value(SecretId=SP_KEY_SECRET_ID, SecretString=value)
    sp_keys.clear_cache()


def make_world(api: Api, dns: LocalDnsServer, outbox: Path, keys: IdpKeys, sp_keypair: tuple[str, str]) -> SsoWorld:
    store_sp_key(*sp_keypair)
    return SsoWorld(api, dns, outbox, keys=keys)
