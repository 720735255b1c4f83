"""Fixtures of the SSO access tests: worlds with and without support's grant, on in-process moto or the moto server.

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
from tests.support.sso_access_people import BREAK_GLASS, SECOND_OWNER
from tests.support.sso_fixtures import store_sp_key
from tests.support.sso_world import SsoWorld


@pytest.fixture(autouse=True)
def _sso_env(sso_env: None) -> None:
    """The SSO environment (tests/support/sso_fixtures.py) for every test of this folder."""


@pytest.fixture
def authority(session_authority: TokenAuthority) -> TokenAuthority:
    return session_authority


@pytest.fixture
def patient_dns(dns: LocalDnsServer, monkeypatch: pytest.MonkeyPatch) -> LocalDnsServer:
    monkeypatch.setenv("SSO_DNS_TIMEOUT_SECONDS", "3")
    get_settings.cache_clear()
    return dns


@pytest.fixture
def no_access(
    api: Api, patient_dns: LocalDnsServer, tmp_path: Path, acme_idp_keys: IdpKeys, sp_keypair: tuple[str, str]
) -> SsoWorld:
    """Tenant acme, which support has never granted SSO."""
    store_sp_key(*sp_keypair)
    return SsoWorld(api, patient_dns, tmp_path / "outbox", keys=acme_idp_keys, access=False)


@pytest.fixture
def proven(
    api: Api, patient_dns: LocalDnsServer, tmp_path: Path, acme_idp_keys: IdpKeys, sp_keypair: tuple[str, str]
) -> SsoWorld:
    """Access granted, SSO enabled and proven by a login, password login off for acme.test, two owner members."""
    store_sp_key(*sp_keypair)
    world = SsoWorld(api, patient_dns, tmp_path / "outbox", keys=acme_idp_keys).setup()
    assert world.login().status == 302
    world.invite_and_accept(BREAK_GLASS, role="owner")
    world.invite_and_accept(SECOND_OWNER, role="owner")
    assert world.owner("PUT", f"/domains/{world.domain}/password-login", {"enabled": False}).status == 200
    return world


@pytest.fixture
def server_world(
    server_api: Api, patient_dns: LocalDnsServer, tmp_path: Path, acme_idp_keys: IdpKeys, sp_keypair: tuple[str, str]
) -> SsoWorld:
    """Access granted, connection ready (IdP imported, not enabled), every AWS call over HTTP to the moto server."""
    sp_keys.clear_cache()
    store_sp_key(*sp_keypair)
    world = SsoWorld(server_api, patient_dns, tmp_path / "outbox", keys=acme_idp_keys)
    world.verify_domain()
    world.create_connection()
    assert world.import_idp().status == 200
    return world
