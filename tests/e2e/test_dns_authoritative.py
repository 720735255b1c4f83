"""Check DNS over HTTP against the local stack: the record published only on the zone's authoritative server
verifies at once, while the resolver the stack is configured with still answers NXDOMAIN from its cache.

And the stack's own embedded DNS server, as `make run` uses it, is the demo zones' authoritative server too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sso_local.dns_server import LocalDnsServer
from sso_local.stack import LocalStack
from tests.support.dns_zones import caching_resolver, zone_server
from tests.support.running_stack import RunningStack
from tests.support.walk import http

pytestmark = pytest.mark.integration

DOMAIN = "corp.example.test"


@pytest.fixture
def zone() -> Iterator[LocalDnsServer]:
    with zone_server("example.test") as server:
        yield server


@pytest.fixture
def resolver() -> Iterator[LocalDnsServer]:
    with caching_resolver("example.test") as server:
        yield server


@pytest.fixture
def stack_behind_a_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zone: LocalDnsServer, resolver: LocalDnsServer
) -> Iterator[LocalStack]:
    """The local stack asking the caching resolver, and the zone's server on its port, as in production."""
    monkeypatch.setenv("SSO_DNS_NAMESERVERS", resolver.address)
    monkeypatch.setenv("SSO_DNS_AUTHORITATIVE_PORT", str(zone.port))
    monkeypatch.setenv("SSO_DNS_AUTHORITATIVE_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("SSO_LOCAL_OUTBOX", str(tmp_path / "outbox"))
    with LocalStack(port=0, state_dir=tmp_path / "state", dns_check_interval=0, quiet=True) as running:
        yield running


def test_check_dns_verifies_from_the_zone_server_while_the_resolver_says_nxdomain(
    stack_behind_a_cache: LocalStack, zone: LocalDnsServer, resolver: LocalDnsServer
) -> None:
    url = stack_behind_a_cache.url
    token = stack_behind_a_cache.authority.issue("acme", "owner@acme.test", "owner", ["acct-main"])
    added = http("POST", f"{url}/domains", {"domain": DOMAIN}, token=token)
    assert added.status == 201, added.text
    record = added.json()["verification"]
    zone.store.add(record["record_name"], "TXT", record["record_value"])  # published on the zone's server only

    checked = http("POST", f"{url}/domains/{DOMAIN}/verify", token=token)
    assert checked.status == 200, checked.text
    body = checked.json()
    assert body["status"] == "verified"
    assert (body["check"]["source"], body["check"]["server"]) == ("authoritative", f"127.0.0.1:{zone.port}")

    # The resolver still answers NXDOMAIN for the name (its cached negative answer).
    from sso_core.gateways.txt_lookup import CheckResult, TxtResolver

    cached = TxtResolver([resolver.address], timeout=1.0).lookup(record["record_name"], record["record_value"])
    assert cached.result is CheckResult.NXDOMAIN
    shown = http("GET", f"{url}/domains/{DOMAIN}", token=token).json()
    assert shown["last_check"]["source"] == "authoritative"


def test_the_embedded_dns_server_is_the_demo_zones_authoritative_server(stack: LocalStack) -> None:
    token = stack.authority.issue("acme", "owner@acme.test", "owner", ["acct-main"])
    record = http("POST", f"{stack.url}/domains", {"domain": "example.com"}, token=token).json()["verification"]
    published = http(
        "POST", f"{stack.url}/_local/dns", {"name": record["record_name"], "value": record["record_value"]}
    )
    assert published.status == 201, published.text
    body = http("POST", f"{stack.url}/domains/example.com/verify", token=token).json()
    assert body["status"] == "verified"
    assert (body["check"]["source"], body["check"]["server"]) == ("authoritative", stack.dns.address)


def test_make_run_checks_dns_at_the_embedded_authoritative_server(sso_local_run: RunningStack) -> None:
    """`sso-local run` in its own process, as `make run` starts it: Check DNS takes the authoritative path."""
    url, token = sso_local_run.url, sso_local_run.owner_token
    embedded = http("GET", f"{url}/_local/health").json()["dns"]
    added = http("POST", f"{url}/domains", {"domain": "authoritative.example"}, token=token)
    assert added.status == 201, added.text
    record = added.json()["verification"]
    published = http("POST", f"{url}/_local/dns", {"name": record["record_name"], "value": record["record_value"]})
    assert published.status == 201, published.text
    body = http("POST", f"{url}/domains/authoritative.example/verify", token=token).json()
    assert body["status"] == "verified"
    assert (body["check"]["source"], body["check"]["server"]) == ("authoritative", embedded)
