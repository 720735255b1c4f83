"""Fixtures shared by every test: AWS through moto, a DNS server on 127.0.0.1, the API through the gateway."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from sso_core.config import Settings, get_settings
from sso_core.dal.table import Table, reset_clients
from sso_local.dns_server import LocalDnsServer
from sso_local.gateway import Gateway
from sso_local.lambda_runtime import _loaded
from sso_local.template import create_table
from sso_local.tokens import TokenAuthority

TABLE = "sso-test"

BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "enterprise-sso",
    "POWERTOOLS_METRICS_NAMESPACE": "EnterpriseSSO",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_DEV": "false",
    "SSO_TABLE_NAME": TABLE,
    "SSO_PUBLIC_URL": "https://sso.test",
}


def _clear_caches() -> None:
    get_settings.cache_clear()
    reset_clients()
    for module in _loaded.values():
        for value in vars(module).values():
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == module.__name__:
                clear()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("SSO_", "AWS_ENDPOINT")):
            monkeypatch.delenv(name)
    for name, value in BASE_ENV.items():
        monkeypatch.setenv(name, value)
    _clear_caches()
    yield
    _clear_caches()


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
def api(gateway: Gateway, authority: TokenAuthority) -> "Api":
    from tests.support.api import Api

    return Api(gateway, authority)
