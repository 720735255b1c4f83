"""Review finding 10: the TXT answer parser takes only the record sets on the queried name's CNAME chain.

A real DNS server on 127.0.0.1 (sso_local's dnslib server) whose answers carry one extra, unrelated TXT record set
in the answer section (as a broken or hostile resolver on the path could add): holding the expected value under
another name must not verify the queried one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dnslib import QTYPE, RR, TXT, DNSRecord

from sso_core.gateways.txt_lookup import CheckResult, TxtResolver
from sso_local.dns_server import LocalDnsServer, RecordStore

NAME = "_sso-challenge.victim.example"
EXPECTED = "sso-domain-verification=tok123"

pytestmark = pytest.mark.integration


class _InjectingStore(RecordStore):
    """Answers like the store, plus a TXT rrset for an unrelated name holding the expected value."""

    def reply(self, request: DNSRecord) -> DNSRecord | None:
        reply = super().reply(request)
        if reply is not None:
            reply.add_answer(RR("_sso-challenge.attacker.example", QTYPE.TXT, rdata=TXT([EXPECTED.encode()]), ttl=60))
        return reply


@pytest.fixture
def injecting_dns() -> Iterator[LocalDnsServer]:
    server = LocalDnsServer()
    server.store = _InjectingStore()
    with server:
        yield server


def test_an_unrelated_txt_rrset_in_the_answer_does_not_verify(injecting_dns: LocalDnsServer) -> None:
    resolver = TxtResolver([injecting_dns.address], timeout=0.5)
    injecting_dns.store.add(NAME, "TXT", "v=spf1 -all")
    lookup = resolver.lookup(NAME, EXPECTED)
    assert lookup.result is CheckResult.MISMATCH, lookup
    assert lookup.found == ("v=spf1 -all",)


def test_no_txt_at_the_name_is_not_found_despite_the_extra_rrset(injecting_dns: LocalDnsServer) -> None:
    resolver = TxtResolver([injecting_dns.address], timeout=0.5)
    injecting_dns.store.add("below." + NAME, "TXT", "x")  # the name exists (it has a child), with no TXT itself
    lookup = resolver.lookup(NAME, EXPECTED)
    assert lookup.result is CheckResult.NOT_FOUND, lookup


def test_the_record_at_the_end_of_the_cname_chain_still_verifies(injecting_dns: LocalDnsServer) -> None:
    resolver = TxtResolver([injecting_dns.address], timeout=0.5)
    injecting_dns.store.add(NAME, "CNAME", "verify.provider.example")
    injecting_dns.store.add("verify.provider.example", "TXT", EXPECTED)
    lookup = resolver.lookup(NAME, EXPECTED)
    assert lookup.result is CheckResult.VERIFIED
    assert lookup.found == (EXPECTED,)
