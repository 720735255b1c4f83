"""Fixtures for the HTTP-level SSO tests: the SSO world on in-process moto, or on the moto server.

Keys are made once per session (RSA generation was most of each test's setup): the token authority's, each
tenant's IdP key, and the SP signing key, which ``world`` stores in Secrets Manager before the first request.
Tests of the SP key's own life cycle use ``api`` without ``world``, so they see a deployment without a key.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from sso_core import sp_keys
from sso_core.acs_service import AcsService
from sso_core.clock import utcnow
from sso_core.config import get_settings
from sso_core.saml.certificates import generate_sp_keypair
from sso_local.dns_server import LocalDnsServer
from sso_local.lambda_runtime import load_handler_module
from sso_local.saml_idp import IdpKeys
from sso_local.template import functions
from sso_local.tokens import TokenAuthority
from tests.support.api import Api
from tests.support.clock import FakeClock
from tests.support.sso_world import CLIENT_SECRET, SsoWorld, idp_keys

SP_KEY_SECRET_ID = "test/sp-signing-key"


@pytest.fixture(autouse=True)
def sso_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
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


@pytest.fixture
def authority(session_authority: TokenAuthority) -> TokenAuthority:
    return session_authority


@pytest.fixture(scope="session")
def acme_idp_keys() -> IdpKeys:
    return idp_keys("acme-idp")


@pytest.fixture(scope="session")
def globex_idp_keys() -> IdpKeys:
    return idp_keys("globex-idp")


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


def make_world(api: Api, dns: LocalDnsServer, outbox, keys: IdpKeys, sp_keypair: tuple[str, str]) -> SsoWorld:
    store_sp_key(*sp_keypair)
    return SsoWorld(api, dns, outbox, keys=keys)


@pytest.fixture
def world(api: Api, dns: LocalDnsServer, tmp_path, acme_idp_keys: IdpKeys, sp_keypair) -> SsoWorld:
    return make_world(api, dns, tmp_path / "outbox", acme_idp_keys, sp_keypair)


@pytest.fixture
def ready(world: SsoWorld) -> SsoWorld:
    return world.setup()


@pytest.fixture
def globex(world: SsoWorld, globex_idp_keys: IdpKeys) -> SsoWorld:
    """A second tenant on the same stack, with its own verified domain, IdP, enabled connection and user."""
    other = SsoWorld(
        world.api,
        world.dns,
        world.outbox,
        tenant="globex",
        domain="globex.test",
        idp_entity_id="https://sts.windows.net/globex-tenant-id/",
        idp_sso_url="https://login.microsoftonline.example/globex/saml2",
        keys=globex_idp_keys,
    )
    return other.setup("gina@globex.test")


@pytest.fixture
def server_world(server_api: Api, dns: LocalDnsServer, tmp_path, acme_idp_keys: IdpKeys, sp_keypair) -> SsoWorld:
    """The ready world with every AWS call going over HTTP to the moto server (for races between threads)."""
    sp_keys.clear_cache()  # the secrets client must pick up the moto server's endpoint
    return make_world(server_api, dns, tmp_path / "outbox", acme_idp_keys, sp_keypair).setup()


@pytest.fixture
def acs_clock(api: Api) -> Callable[[], FakeClock]:
    """The ACS's clock, moved by hand (the IdP and pysaml2 keep the real one; the engine allows for that).

    Call it after the world is set up; it returns the clock, starting now.
    """

    def install() -> FakeClock:
        module = load_handler_module(functions()["AcsFunction"])
        service: AcsService = module.service()
        clock = FakeClock(utcnow())
        service.clock = clock
        return clock

    return install
