"""Fixtures shared by every test: AWS through moto, a DNS server on 127.0.0.1, the API through the gateway."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

# Powertools reads these when its objects are made, at import: set them before anything imports sso_core.
os.environ.update(
    {
        "POWERTOOLS_SERVICE_NAME": "enterprise-sso",
        "POWERTOOLS_METRICS_NAMESPACE": "EnterpriseSSO",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)

import boto3
import pytest
from moto import mock_aws

from sso_core.config import Settings, get_settings
from sso_core.dal.table import Table
from sso_local.dns_server import LocalDnsServer, free_port
from sso_local.gateway import Gateway
from sso_local.template import create_table
from sso_local.tokens import TokenAuthority
from tests.support.api import Api
from tests.support.aws_env import BASE_ENV, TABLE, clear_caches

pytest_plugins = ["tests.support.sso_fixtures"]


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("SSO_", "AWS_ENDPOINT")):
            monkeypatch.delenv(name)
    for name, value in BASE_ENV.items():
        monkeypatch.setenv(name, value)
    clear_caches()
    yield
    clear_caches()


@pytest.fixture
def aws() -> Iterator[None]:
    """In-process moto with the table of template.yaml."""
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name="us-east-1"), TABLE)
        yield


@pytest.fixture
def table(aws: None) -> Table:
    return Table(TABLE)


@pytest.fixture(scope="session")
def dns_server() -> Iterator[LocalDnsServer]:
    with LocalDnsServer() as server:
        yield server


@pytest.fixture
def dns(dns_server: LocalDnsServer, monkeypatch: pytest.MonkeyPatch) -> LocalDnsServer:
    """The DNS server, emptied, and the verifier pointed at it."""
    dns_server.store.clear()
    monkeypatch.setenv("SSO_DNS_NAMESERVERS", dns_server.address)
    monkeypatch.setenv("SSO_DNS_TIMEOUT_SECONDS", "0.5")
    get_settings.cache_clear()
    return dns_server


@pytest.fixture
def settings(dns: LocalDnsServer) -> Settings:
    return Settings(table_name=TABLE, dns_nameservers=(dns.address,), dns_timeout_seconds=0.5)


@pytest.fixture
def authority(tmp_path: Path) -> TokenAuthority:
    return TokenAuthority(tmp_path / "state")


@pytest.fixture
def gateway(aws: None, authority: TokenAuthority) -> Gateway:
    return Gateway(authority)


@pytest.fixture
def api(gateway: Gateway, authority: TokenAuthority) -> Api:
    return Api(gateway, authority)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A real moto server on 127.0.0.1 (for concurrency tests: threads make real HTTP requests)."""
    from moto.server import ThreadedMotoServer

    from sso_local import moto_patches

    moto_patches.install()  # serializable, O(items) transactions, as in DynamoDB
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def server_table(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Table]:
    """A fresh table of template.yaml in the moto server; the code under test talks to it over HTTP."""
    name = f"sso-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("SSO_TABLE_NAME", name)
    clear_caches()
    client = boto3.client("dynamodb", endpoint_url=moto_server, region_name="us-east-1")
    create_table(client, name)
    yield Table(name)
    client.delete_table(TableName=name)


@pytest.fixture
def server_api(server_table: Table, authority: TokenAuthority) -> Api:
    """The API through the gateway, with AWS calls going to the moto server."""
    return Api(Gateway(authority), authority)
