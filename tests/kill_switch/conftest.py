"""Fixtures for the kill switch and audit tests: a tenant with SSO working, through the API only.

The shared fixtures (environment, session keys) come from ``tests/support/sso_fixtures.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sso_core.config import get_settings
from sso_core.gateways import sp_keys
from sso_local.dns_server import LocalDnsServer
from sso_local.saml_idp import IdpKeys
from sso_local.tokens import TokenAuthority
from tests.support.api import Api
from tests.support.sso_fixtures import store_sp_key
from tests.support.sso_world import BREAK_GLASS, SsoWorld


@pytest.fixture(autouse=True)
def _sso_env(sso_env: None) -> None:
    """The SSO environment (tests/support/sso_fixtures.py) for every test of this folder."""


@pytest.fixture
def authority(session_authority: TokenAuthority) -> TokenAuthority:
    return session_authority


@pytest.fixture
def patient_dns(dns: LocalDnsServer, monkeypatch: pytest.MonkeyPatch) -> LocalDnsServer:
    """``dns`` with a 3 s timeout: its 0.5 s made a busy machine's verify come back indeterminate now and then."""
    monkeypatch.setenv("SSO_DNS_TIMEOUT_SECONDS", "3")
    get_settings.cache_clear()
    return dns


@pytest.fixture
def world(
    api: Api, patient_dns: LocalDnsServer, tmp_path: Path, acme_idp_keys: IdpKeys, sp_keypair: tuple[str, str]
) -> SsoWorld:
    dns = patient_dns
    store_sp_key(*sp_keypair)
    return SsoWorld(api, dns, tmp_path / "outbox", keys=acme_idp_keys)


@pytest.fixture
def ready(world: SsoWorld) -> SsoWorld:
    """Domain verified, connection enabled with a real IdP, alice@acme.test a member; no login yet."""
    return world.setup()


@pytest.fixture
def proven(ready: SsoWorld) -> SsoWorld:
    """``ready`` after one successful SSO login and with a break-glass owner: password login may go off."""
    assert ready.login().status == 302
    ready.invite_and_accept(BREAK_GLASS, role="owner")
    return ready


@pytest.fixture
def server_world(
    server_api: Api, patient_dns: LocalDnsServer, tmp_path: Path, acme_idp_keys: IdpKeys, sp_keypair: tuple[str, str]
) -> SsoWorld:
    """``proven`` with every AWS call going over HTTP to the moto server (threads race for real)."""
    sp_keys.clear_cache()  # the secrets client must pick up the moto server's endpoint
    store_sp_key(*sp_keypair)
    world = SsoWorld(server_api, patient_dns, tmp_path / "outbox", keys=acme_idp_keys).setup()
    assert world.login().status == 302
    world.invite_and_accept(BREAK_GLASS, role="owner")
    return world
