"""Fixtures for the HTTP-level SSO tests: the SSO world on in-process moto, or on the moto server.

Keys are made once per session (RSA generation was most of each test's setup): the token authority's, each
tenant's IdP key, and the SP signing key, which ``world`` stores in Secrets Manager before the first request.
Tests of the SP key's own life cycle use ``api`` without ``world``, so they see a deployment without a key.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sso_core.clock import utcnow
from sso_core.gateways import sp_keys
from sso_core.logic.assertion_consumer import AcsService
from sso_local.dns_server import LocalDnsServer
from sso_local.lambda_runtime import load_handler_module
from sso_local.saml_idp import IdpKeys
from sso_local.template import functions
from sso_local.tokens import TokenAuthority
from tests.support.api import Api
from tests.support.clock import FakeClock
from tests.support.sso_fixtures import make_world
from tests.support.sso_world import SsoWorld, idp_keys


@pytest.fixture(autouse=True)
def _sso_env(sso_env: None) -> None:
    """The SSO environment (tests/support/sso_fixtures.py) for every test of this folder."""


@pytest.fixture
def authority(session_authority: TokenAuthority) -> TokenAuthority:
    return session_authority


@pytest.fixture(scope="session")
def globex_idp_keys() -> IdpKeys:
    return idp_keys("globex-idp")


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
