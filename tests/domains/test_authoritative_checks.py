"""Check DNS asks the domain's authoritative servers, not a resolver's cache, and falls back to the resolvers.

Real DNS servers on 127.0.0.1 (sso_local's dnslib server): a caching resolver that knows the zone's NS set and the
name server's address but still answers NXDOMAIN (cached for a day) for the TXT name, and the zone's own server,
on a free port (``SSO_DNS_AUTHORITATIVE_PORT``), where the owner just published the record.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sso_core.config import ConfigurationError, Settings
from sso_core.dal.domains import DomainRepository
from sso_core.dal.table import Table
from sso_core.gateways.authoritative_dns import AuthoritativePolicy, AuthoritativeTxtResolver, address_allowed
from sso_core.gateways.txt_lookup import AnswerSource, CheckResult, TxtResolver
from sso_core.logic.domain_verification import DomainService, txt_resolver
from sso_core.models.domains import DomainStatus
from sso_core.models.identity import Caller
from sso_local.dns_server import LocalDnsServer, free_port
from tests.support.aws_env import TABLE, clear_caches
from tests.support.clock import FakeClock
from tests.support.dns_zones import caching_resolver, refusing_server, zone_server

pytestmark = pytest.mark.integration

ZONE = "example.test"
DOMAIN = "corp.example.test"
NAME = f"_sso-challenge.{DOMAIN}"
EXPECTED = "sso-domain-verification=tok-123"
OWNER = Caller("tenant-a", "owner@a.example", "owner")


@pytest.fixture
def resolver() -> Iterator[LocalDnsServer]:
    with caching_resolver(ZONE) as server:
        yield server


@pytest.fixture
def zone() -> Iterator[LocalDnsServer]:
    with zone_server(ZONE) as server:
        yield server


def authoritative(resolver: LocalDnsServer, port: int, allow_private: bool = True, **bounds: float) -> object:
    policy = AuthoritativePolicy(port=port, allow_private=allow_private, server_timeout=0.3, **bounds)  # type: ignore[arg-type]
    return AuthoritativeTxtResolver(TxtResolver([resolver.address], timeout=0.5), policy)


# ---- the gateway ----------------------------------------------------------------------------


def test_the_authoritative_server_answers_while_the_resolver_caches_nxdomain(resolver, zone) -> None:
    zone.store.add(NAME, "TXT", EXPECTED)
    assert TxtResolver([resolver.address], timeout=0.5).lookup(NAME, EXPECTED).result is CheckResult.NXDOMAIN
    lookup = authoritative(resolver, zone.port).lookup(NAME, EXPECTED)  # type: ignore[attr-defined]
    assert lookup.result is CheckResult.VERIFIED, lookup
    assert lookup.source is AnswerSource.AUTHORITATIVE
    assert lookup.server == f"127.0.0.1:{zone.port}"
    assert zone.store.queries_by_name[NAME + "."] == 1  # one TXT question, recursion off
    assert resolver.store.txt_queries == 1  # only the plain resolver lookup above: the check asked no resolver TXT


def test_an_authoritative_nxdomain_and_nodata_are_answers(resolver, zone) -> None:
    check = authoritative(resolver, zone.port)
    lookup = check.lookup(NAME, EXPECTED)  # type: ignore[attr-defined]
    assert (lookup.result, lookup.source) == (CheckResult.NXDOMAIN, AnswerSource.AUTHORITATIVE)
    zone.store.add("below." + NAME, "TXT", "x")  # the name exists, without TXT
    lookup = check.lookup(NAME, EXPECTED)  # type: ignore[attr-defined]
    assert (lookup.result, lookup.source) == (CheckResult.NOT_FOUND, AnswerSource.AUTHORITATIVE)


def test_a_mismatch_from_the_authoritative_server_lists_what_it_holds(resolver, zone) -> None:
    zone.store.add(NAME, "TXT", "sso-domain-verification=someone-else")
    lookup = authoritative(resolver, zone.port).lookup(NAME, EXPECTED)  # type: ignore[attr-defined]
    assert lookup.result is CheckResult.MISMATCH
    assert lookup.found == ("sso-domain-verification=someone-else",)


def test_a_cname_inside_the_zone_is_answered_in_one_authoritative_answer(resolver, zone) -> None:
    zone.store.add(NAME, "CNAME", "verify.example.test")
    zone.store.add("verify.example.test", "TXT", EXPECTED)
    lookup = authoritative(resolver, zone.port).lookup(NAME, EXPECTED)  # type: ignore[attr-defined]
    assert (lookup.result, lookup.source) == (CheckResult.VERIFIED, AnswerSource.AUTHORITATIVE)
    assert lookup.found == (EXPECTED,)
    assert zone.store.queries_by_name["verify.example.test."] == 0


def test_a_cname_into_another_zone_is_asked_of_that_zones_server() -> None:
    # Both zones on one server here (their NS hosts have the same address and the port is configuration); the
    # first answer also carries the target's TXT (out of its zone): ignored, the target's zone is asked itself.
    with caching_resolver(ZONE, "provider.test") as resolver, zone_server(ZONE, "provider.test") as zones:
        zones.store.add(NAME, "CNAME", "verify.provider.test")
        zones.store.add("verify.provider.test", "TXT", EXPECTED)
        lookup = authoritative(resolver, zones.port).lookup(NAME, EXPECTED)  # type: ignore[attr-defined]
        assert (lookup.result, lookup.source) == (CheckResult.VERIFIED, AnswerSource.AUTHORITATIVE), lookup
        assert zones.store.queries_by_name["verify.provider.test."] == 1


def test_a_zone_delegated_below_the_domain_is_asked_at_its_own_servers() -> None:
    # corp.example.test is delegated by example.test to its own server (127.0.0.2, same port: the port is one
    # setting). The parent's server still holds an old record for the name, and answers for it as authoritative
    # (it does not know the delegation): only the child's answer counts.
    with zone_server(ZONE) as parent, zone_server(DOMAIN, host="127.0.0.2", port=parent.port) as child:
        addresses = {DOMAIN: "127.0.0.2"}
        with caching_resolver(ZONE, DOMAIN, addresses=addresses) as resolver:
            parent.store.add(NAME, "TXT", "sso-domain-verification=old")
            child.store.add(NAME, "TXT", EXPECTED)
            lookup = authoritative(resolver, parent.port).lookup(NAME, EXPECTED)  # type: ignore[attr-defined]
        assert (lookup.result, lookup.source, lookup.server) == (
            CheckResult.VERIFIED,
            AnswerSource.AUTHORITATIVE,
            f"127.0.0.2:{parent.port}",
        )
        assert parent.store.queries == 0


def test_a_cname_chain_through_too_many_zones_falls_back() -> None:
    zones_names = ("a.test", "b.test", "c.test", "d.test")
    with caching_resolver(*zones_names) as resolver, zone_server(*zones_names) as zones:
        zones.store.add("_sso-challenge.corp.a.test", "CNAME", "x.b.test")
        zones.store.add("x.b.test", "CNAME", "x.c.test")
        zones.store.add("x.c.test", "CNAME", "x.d.test")
        zones.store.add("x.d.test", "TXT", EXPECTED)
        lookup = authoritative(resolver, zones.port).lookup("_sso-challenge.corp.a.test", EXPECTED)  # type: ignore[attr-defined]
    assert lookup.source is AnswerSource.RESOLVER
    assert "more than 3 zones" in lookup.source_note


def test_the_authoritative_server_down_falls_back_to_the_resolver(resolver) -> None:
    lookup = authoritative(resolver, free_port()).lookup(NAME, EXPECTED)  # type: ignore[attr-defined]
    assert lookup.result is CheckResult.NXDOMAIN  # the resolver's cached answer
    assert lookup.source is AnswerSource.RESOLVER
    assert lookup.server == resolver.address
    assert "timed out" in lookup.source_note or "failed" in lookup.source_note, lookup.source_note


def test_a_refusing_server_is_lame_and_the_resolver_answers(resolver) -> None:
    resolver.store.add(NAME, "TXT", EXPECTED)  # the resolver has it this time
    with refusing_server() as lame:
        lookup = authoritative(resolver, lame.port).lookup(NAME, EXPECTED)  # type: ignore[attr-defined]
        assert lame.store.queries == 1
    assert (lookup.result, lookup.source) == (CheckResult.VERIFIED, AnswerSource.RESOLVER)
    assert "REFUSED" in lookup.source_note


def test_an_answer_without_the_aa_flag_is_lame(resolver) -> None:
    with LocalDnsServer() as recursive_only:  # answers, but not as the zone's authority
        recursive_only.store.add(NAME, "TXT", EXPECTED)
        lookup = authoritative(resolver, recursive_only.port).lookup(NAME, EXPECTED)  # type: ignore[attr-defined]
    assert lookup.source is AnswerSource.RESOLVER
    assert lookup.result is CheckResult.NXDOMAIN
    assert "lame" in lookup.source_note


def test_a_servfail_from_the_zone_server_falls_back(resolver, zone) -> None:
    zone.store.add(NAME, "TXT", EXPECTED)
    zone.store.behave(NAME, "servfail")
    lookup = authoritative(resolver, zone.port).lookup(NAME, EXPECTED)  # type: ignore[attr-defined]
    assert lookup.source is AnswerSource.RESOLVER
    assert "SERVFAIL" in lookup.source_note


def test_a_private_name_server_address_is_refused_in_production(resolver, zone) -> None:
    zone.store.add(NAME, "TXT", EXPECTED)
    lookup = authoritative(resolver, zone.port, allow_private=False).lookup(NAME, EXPECTED)  # type: ignore[attr-defined]
    assert zone.store.queries == 0  # never asked
    assert (lookup.result, lookup.source) == (CheckResult.NXDOMAIN, AnswerSource.RESOLVER)
    assert "127.0.0.1 refused" in lookup.source_note


def test_the_query_budget_bounds_the_walk(resolver, zone) -> None:
    zone.store.add(NAME, "TXT", EXPECTED)
    lookup = authoritative(resolver, zone.port, max_queries=2).lookup(NAME, EXPECTED)  # type: ignore[attr-defined]
    assert zone.store.queries == 0  # NS of the name, NS of the zone: the budget ends before the A query
    assert lookup.source is AnswerSource.RESOLVER
    assert "used its 2 queries" in lookup.source_note


def test_an_unexpected_failure_on_the_authoritative_path_falls_back(resolver) -> None:
    too_long = "x" * 64 + "." + DOMAIN  # dnspython refuses the label: an exception, not an answer
    lookup = authoritative(resolver, free_port()).lookup(too_long, EXPECTED)  # type: ignore[attr-defined]
    assert (lookup.result, lookup.source) == (CheckResult.INDETERMINATE, AnswerSource.RESOLVER)
    assert lookup.source_note == "resolver fallback: the authoritative lookup failed (LabelTooLong)"


def test_no_zone_cut_falls_back(dns) -> None:
    # A resolver with no NS data and no SOA on its negative answers: the walk stops below the TLD.
    dns.store.add(NAME, "TXT", EXPECTED)
    lookup = authoritative(dns, free_port()).lookup(NAME, EXPECTED)  # type: ignore[attr-defined]
    assert (lookup.result, lookup.source) == (CheckResult.VERIFIED, AnswerSource.RESOLVER)
    assert "no zone cut" in lookup.source_note
    assert dns.store.queries == 4  # NS of _sso-challenge.corp.example.test, corp.example.test, example.test; TXT


@pytest.mark.parametrize(
    ("address", "private_allowed", "allowed"),
    [
        ("192.0.2.1", False, False),  # documentation range: not global
        ("8.8.8.8", False, True),
        ("2001:4860:4860::8888", False, True),
        ("127.0.0.1", False, False),
        ("10.1.2.3", False, False),
        ("172.16.0.1", False, False),
        ("192.168.1.1", False, False),
        ("100.64.0.1", False, False),  # shared address space
        ("169.254.169.254", False, False),  # the instance metadata service
        ("fd00:ec2::254", False, False),  # its IPv6 address
        ("fe80::1", False, False),
        ("::1", False, False),
        ("::ffff:127.0.0.1", False, False),  # loopback dressed as IPv6
        ("0.0.0.0", True, False),
        ("224.0.0.1", True, False),
        ("127.0.0.1", True, True),
        ("10.1.2.3", True, True),
        ("not-an-address", True, False),
    ],
)
def test_which_name_server_addresses_may_be_asked(address: str, private_allowed: bool, allowed: bool) -> None:
    assert address_allowed(address, private_allowed) is allowed


# ---- settings -------------------------------------------------------------------------------


def test_settings_read_the_authoritative_options() -> None:
    settings = Settings.from_env(
        {
            "SSO_TABLE_NAME": "t",
            "SSO_DNS_AUTHORITATIVE_PORT": "5300",
            "SSO_DNS_AUTHORITATIVE_ALLOW_PRIVATE": "true",
            "SSO_DNS_AUTHORITATIVE_SECONDS": "1.5",
        }
    )
    assert (settings.dns_authoritative, settings.dns_authoritative_port) == (True, 5300)
    assert settings.dns_authoritative_allow_private is True
    assert settings.dns_authoritative_seconds == 1.5
    defaults = Settings.from_env({"SSO_TABLE_NAME": "t"})
    assert (defaults.dns_authoritative_port, defaults.dns_authoritative_allow_private) == (53, False)
    assert isinstance(txt_resolver(defaults), AuthoritativeTxtResolver)
    off = Settings.from_env({"SSO_TABLE_NAME": "t", "SSO_DNS_AUTHORITATIVE": "false"})
    assert isinstance(txt_resolver(off), TxtResolver)


@pytest.mark.parametrize(
    "env",
    [
        {"SSO_DNS_AUTHORITATIVE": "sometimes"},
        {"SSO_DNS_AUTHORITATIVE_ALLOW_PRIVATE": "yes please"},
    ],
)
def test_a_malformed_flag_fails_at_cold_start(env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_env({"SSO_TABLE_NAME": "t", **env})


@pytest.mark.parametrize(
    "env",
    [
        {"SSO_DNS_AUTHORITATIVE_PORT": "0"},
        {"SSO_DNS_AUTHORITATIVE_PORT": "70000"},
        {"SSO_DNS_AUTHORITATIVE_SECONDS": "0"},
        {"SSO_DNS_AUTHORITATIVE_SECONDS": "11"},
    ],
)
def test_an_out_of_range_bound_fails_at_cold_start(env: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        Settings.from_env({"SSO_TABLE_NAME": "t", **env})


# ---- Check DNS and the scheduled run --------------------------------------------------------


@pytest.fixture
def env_for(monkeypatch: pytest.MonkeyPatch):
    def point_at(resolver: LocalDnsServer, port: int) -> None:
        monkeypatch.setenv("SSO_DNS_NAMESERVERS", resolver.address)
        monkeypatch.setenv("SSO_DNS_TIMEOUT_SECONDS", "0.5")
        monkeypatch.setenv("SSO_DNS_AUTHORITATIVE_PORT", str(port))
        monkeypatch.setenv("SSO_DNS_AUTHORITATIVE_ALLOW_PRIVATE", "true")
        clear_caches()

    return point_at


def test_check_dns_verifies_at_once_and_says_the_authoritative_server_answered(api, resolver, zone, env_for) -> None:
    env_for(resolver, zone.port)
    record = api.call("POST", "/domains", {"domain": DOMAIN}, tenant="t1").json()["verification"]
    zone.store.add(record["record_name"], "TXT", record["record_value"])
    resp = api.call("POST", f"/domains/{DOMAIN}/verify", tenant="t1")
    assert resp.status == 200, resp.body
    body = resp.json()
    assert body["status"] == "verified"
    assert body["check"]["source"] == "authoritative"
    assert body["check"]["server"] == f"127.0.0.1:{zone.port}"
    assert body["check"]["source_note"] == ""
    got = api.call("GET", f"/domains/{DOMAIN}", tenant="t1").json()
    assert got["last_check"]["source"] == "authoritative"
    assert got["last_check"]["server"] == f"127.0.0.1:{zone.port}"


def test_check_dns_with_the_zone_server_down_says_the_resolver_answered(api, resolver, env_for) -> None:
    env_for(resolver, free_port())
    api.call("POST", "/domains", {"domain": DOMAIN}, tenant="t1")
    body = api.call("POST", f"/domains/{DOMAIN}/verify", tenant="t1").json()
    assert body["status"] == "pending"
    assert body["check"]["result"] == "nxdomain"
    assert body["check"]["source"] == "resolver"
    assert body["check"]["server"] == resolver.address
    assert body["check"]["source_note"].startswith("resolver fallback: ")


def test_a_failing_authoritative_path_never_fails_a_verified_domain(table: Table, resolver, zone) -> None:
    """Verified from the zone's server; at the scheduled re-check that server is down: the resolvers confirm it."""
    settings = Settings(
        table_name=TABLE,
        dns_nameservers=(resolver.address,),
        dns_timeout_seconds=0.5,
        dns_authoritative_port=zone.port,
        dns_authoritative_allow_private=True,
    )
    clock = FakeClock()
    service = DomainService(settings, DomainRepository(table), clock=clock)
    service.add(OWNER, DOMAIN)
    record = service.record(service.get_claim(OWNER, DOMAIN))
    zone.store.add(record.record_name, "TXT", record.record_value)
    verified = service.verify_now(OWNER, DOMAIN)
    assert (verified.status, verified.check.source) == (DomainStatus.VERIFIED, "authoritative")

    zone.stop()
    resolver.store.add(record.record_name, "TXT", record.record_value)  # the resolver's cache has it by now
    clock.now = service.get_claim(OWNER, DOMAIN).next_check_at
    assert service.run_scheduled().reconfirmed == 1
    claim = service.get_claim(OWNER, DOMAIN)
    assert claim.status is DomainStatus.VERIFIED and claim.last_check is not None
    assert (claim.last_check.result, claim.last_check.source) == ("verified", "resolver")
    assert "timed out" in claim.last_check.source_note


@pytest.mark.parametrize(("authoritative", "checked"), [(True, 2), (False, 3)])
def test_the_scheduled_run_keeps_time_for_one_worst_case_page(table: Table, dns, authoritative, checked) -> None:
    """25 s left after a page: enough for a page of resolver lookups (the 20 s floor), not for a page of two whose
    authoritative walks all time out (2 x (10 s, then 2 s on the resolvers), plus 5 s): the rest waits.
    (With the defaults, a page of 500 at 64 in parallel: 8 rounds x (3 s + 2 s) + 5 s = 45 s.)"""
    settings = Settings(
        table_name=TABLE,
        dns_nameservers=(dns.address,),
        dns_timeout_seconds=2.0,
        dns_concurrency=1,
        dns_authoritative=authoritative,
        dns_authoritative_seconds=10.0,
    )
    clock = FakeClock()
    service = DomainService(settings, DomainRepository(table), clock=clock)
    for i in range(3):
        service.add(OWNER, f"d{i}.example.com")
    clock.advance(hours=1)
    summary = service.run_scheduled(time_left_ms=lambda: 25_000, page_size=2)
    assert summary.checked == checked
    assert summary.remaining is authoritative
