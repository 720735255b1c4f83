"""Fixtures for SCIM provisioning: an SSO-ready tenant without invitations, served over real HTTP on 127.0.0.1
(the local stack's HTTP front and gateway; AWS in in-process moto; DNS a real server), and SCIM clients built on
``scim2-client`` with the tenant's bearer token."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import EnterpriseUser, Group, ResourceType, ScimProvider, User

from sso_core.config import get_settings
from sso_local.dns_server import LocalDnsServer
from sso_local.gateway import Gateway
from sso_local.saml_idp import IdpKeys
from sso_local.tokens import TokenAuthority
from tests.support.api import Api
from tests.support.gateway_server import GatewayServer
from tests.support.provisioning import ACME_DOMAIN, ENTRA_POLICY, GLOBEX_DOMAIN, ScimUser, sso_ready
from tests.support.sso_fixtures import make_world
from tests.support.sso_world import SsoWorld, idp_keys


@pytest.fixture(autouse=True)
def _sso_env(sso_env: None) -> None:
    """The SSO environment (tests/support/sso_fixtures.py) for every test of this folder."""


@pytest.fixture
def authority(session_authority: TokenAuthority) -> TokenAuthority:
    return session_authority


@pytest.fixture
def server(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> Iterator[GatewayServer]:
    with GatewayServer(gateway) as running:
        monkeypatch.setenv("SSO_PUBLIC_URL", running.url)
        get_settings.cache_clear()
        yield running


@pytest.fixture
def world(
    api: Api, dns: LocalDnsServer, tmp_path, acme_idp_keys: IdpKeys, sp_keypair, server: GatewayServer
) -> SsoWorld:
    made = make_world(api, dns, tmp_path / "outbox", acme_idp_keys, sp_keypair)
    made.domain = ACME_DOMAIN
    made.idp_entity_id = "https://sts.windows.net/acme-scim-tenant/"
    return sso_ready(made)


@pytest.fixture(scope="session")
def globex_scim_keys() -> IdpKeys:
    return idp_keys("globex-scim-idp")


@pytest.fixture
def globex(world: SsoWorld, globex_scim_keys: IdpKeys) -> SsoWorld:
    other = SsoWorld(
        world.api,
        world.dns,
        world.outbox,
        tenant="globex",
        domain=GLOBEX_DOMAIN,
        idp_entity_id="https://sts.windows.net/globex-scim-tenant/",
        idp_sso_url="https://login.microsoftonline.example/globex/saml2",
        keys=globex_scim_keys,
    )
    return sso_ready(other)


@pytest.fixture
def scim_client(server: GatewayServer) -> Iterator[Callable[[str], SyncSCIMClient]]:
    """``scim_client(token)``: a SCIM client of the service over HTTP, as a provisioning service would hold."""
    opened: list[httpx2.Client] = []

    def make(token: str) -> SyncSCIMClient:
        http = httpx2.Client(base_url=f"{server.url}/scim/v2", headers={"Authorization": f"Bearer {token}"})
        opened.append(http)
        provider = ScimProvider(
            models=[User, EnterpriseUser, Group],
            resource_types=[ResourceType.from_resource(ScimUser), ResourceType.from_resource(Group)],
            policy=ENTRA_POLICY,
        )
        return SyncSCIMClient(http, provider=provider)

    yield make
    for http in opened:
        http.close()


@pytest.fixture
def raw_http(server: GatewayServer) -> Iterator[Callable[[str], httpx2.Client]]:
    """Plain HTTP against the SCIM base URL, for what a client library would refuse to send (malformed JSON)."""
    opened: list[httpx2.Client] = []

    def make(token: str) -> httpx2.Client:
        http = httpx2.Client(base_url=f"{server.url}/scim/v2", headers={"Authorization": f"Bearer {token}"})
        opened.append(http)
        return http

    yield make
    for http in opened:
        http.close()
