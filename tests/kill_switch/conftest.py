"""Fixtures for the kill switch and audit tests: a tenant with SSO working, through the API only.

``sso_env`` mirrors ``tests/sso/conftest.py`` (copied, not imported: fixtures of a sibling folder are not
visible here, and ``pytest_plugins`` belongs to the root conftest only). Keys are made once per session.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sso_core import sp_keys
from sso_core.clock import utcnow
from sso_core.config import get_settings
from sso_core.saml.certificates import generate_sp_keypair
from sso_local.dns_server import LocalDnsServer
from sso_local.saml_idp import IdpKeys
from sso_local.tokens import TokenAuthority
from tests.support.api import Api
from tests.support.sso_world import CLIENT_SECRET, SsoWorld, idp_keys

SP_KEY_SECRET_ID = "test/sp-signing-key"
BREAK_GLASS = "boss@acme.example"  # an owner whose email is outside acme.test


@pytest.fixture(autouse=True)
def sso_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SSO_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("SSO_SP_KEY_SECRET_ID", SP_KEY_SECRET_ID)
    monkeypatch.setenv("SSO_LOCAL_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setenv("SSO_APP_REDIRECT_URL", "https://app.test/sso/callback")
    monkeypatch.setenv("SSO_INVITE_ACCEPT_URL", "https://sso.test/invitations/accept")
    get_settings.cache_clear()
    sp_keys.clear_cache()


@pytest.fixture(autouse=True)
def metrics_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lambda sets POWERTOOLS_METRICS_NAMESPACE before any import; collection may import sso_core first."""
    from sso_core.observability import metrics

    if not metrics.namespace:
        monkeypatch.setattr(metrics, "namespace", "EnterpriseSSO")


@pytest.fixture(scope="session")
def session_authority(tmp_path_factory: pytest.TempPathFactory) -> TokenAuthority:
    return TokenAuthority(tmp_path_factory.mktemp("state"))


@pytest.fixture
def authority(session_authority: TokenAuthority) -> TokenAuthority:
    return session_authority


@pytest.fixture(scope="session")
def acme_keys() -> IdpKeys:
    return idp_keys("acme-idp")


@pytest.fixture(scope="session")
def sp_keypair() -> tuple[str, str]:
    return generate_sp_keypair("sso.test", utcnow())


def store_sp_key(key_pem: str, cert_pem: str) -> None:
    value = json.dumps({"current": {"key_pem": key_pem, "cert_pem": cert_pem}, "next": None})
    client = sp_keys.secrets_client()
    try:
        client.create_secret(Name=SP_KEY_SECRET_ID, SecretString=value)
    except client.exceptions.ResourceExistsException:  # the moto server lives for the whole session
        client.put_secret_value(SecretId=SP_KEY_SECRET_ID, SecretString=value)
    sp_keys.clear_cache()


@pytest.fixture
def patient_dns(dns: LocalDnsServer, monkeypatch: pytest.MonkeyPatch) -> LocalDnsServer:
    """``dns`` with a 3 s timeout: its 0.5 s made a busy machine's verify come back indeterminate now and then."""
    monkeypatch.setenv("SSO_DNS_TIMEOUT_SECONDS", "3")
    get_settings.cache_clear()
    return dns


@pytest.fixture
def world(
    api: Api, patient_dns: LocalDnsServer, tmp_path: Path, acme_keys: IdpKeys, sp_keypair: tuple[str, str]
) -> SsoWorld:
    dns = patient_dns
    store_sp_key(*sp_keypair)
    return SsoWorld(api, dns, tmp_path / "outbox", keys=acme_keys)


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
    server_api: Api, patient_dns: LocalDnsServer, tmp_path: Path, acme_keys: IdpKeys, sp_keypair: tuple[str, str]
) -> SsoWorld:
    """``proven`` with every AWS call going over HTTP to the moto server (threads race for real)."""
    sp_keys.clear_cache()  # the secrets client must pick up the moto server's endpoint
    store_sp_key(*sp_keypair)
    world = SsoWorld(server_api, patient_dns, tmp_path / "outbox", keys=acme_keys).setup()
    assert world.login().status == 302
    world.invite_and_accept(BREAK_GLASS, role="owner")
    return world


def error_code(resp: Any) -> str:
    return str(resp.json()["error"]["code"])


def audit(world: SsoWorld, **query: Any) -> list[dict[str, Any]]:
    """Every audit entry of the world's tenant, newest first (all pages)."""
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = "limit=200" + (f"&cursor={cursor}" if cursor else "")
        resp = world.owner("GET", "/audit", query=params)
        assert resp.status == 200, resp.text
        body = resp.json()
        entries.extend(body["entries"])
        cursor = body["next_cursor"]
        if not cursor:
            return entries
