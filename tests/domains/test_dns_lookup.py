"""The TXT lookup against a real DNS server on 127.0.0.1."""

import pytest

from sso_core.gateways.txt_lookup import CheckResult, TxtResolver

NAME = "_sso-challenge.example.com"
EXPECTED = "sso-domain-verification=tok123"

pytestmark = pytest.mark.integration


@pytest.fixture
def resolver(dns):
    return TxtResolver([dns.address], timeout=0.5)


def test_one_matching_record(dns, resolver):
    dns.store.add(NAME, "TXT", EXPECTED)
    lookup = resolver.lookup(NAME, EXPECTED)
    assert lookup.result is CheckResult.VERIFIED
    assert lookup.found == (EXPECTED,)


def test_record_split_into_several_strings_is_joined(dns, resolver):
    dns.store.add(NAME, "TXT", ["sso-domain-", "verification=", "tok123"])
    assert resolver.lookup(NAME, EXPECTED).result is CheckResult.VERIFIED


def test_record_over_255_characters(dns, resolver):
    token = "x" * 400
    expected = f"sso-domain-verification={token}"
    dns.store.add(NAME, "TXT", expected)  # the server splits it into 255-byte strings (and answers over TCP)
    lookup = resolver.lookup(NAME, expected)
    assert lookup.result is CheckResult.VERIFIED
    assert lookup.found == (expected,)


def test_several_records_one_matches(dns, resolver):
    dns.store.add(NAME, "TXT", "v=spf1 -all")
    dns.store.add(NAME, "TXT", "sso-domain-verification=someone-else")
    dns.store.add(NAME, "TXT", EXPECTED)
    lookup = resolver.lookup(NAME, EXPECTED)
    assert lookup.result is CheckResult.VERIFIED
    assert len(lookup.found) == 3


def test_only_foreign_records_is_a_mismatch(dns, resolver):
    dns.store.add(NAME, "TXT", "sso-domain-verification=someone-else")
    lookup = resolver.lookup(NAME, EXPECTED)
    assert lookup.result is CheckResult.MISMATCH
    assert lookup.found == ("sso-domain-verification=someone-else",)


def test_cname_to_the_record_is_followed(dns, resolver):
    dns.store.add(NAME, "CNAME", "verify.dns-provider.example.net")
    dns.store.add("verify.dns-provider.example.net", "TXT", EXPECTED)
    assert resolver.lookup(NAME, EXPECTED).result is CheckResult.VERIFIED


def test_nxdomain(dns, resolver):
    assert resolver.lookup(NAME, EXPECTED).result is CheckResult.NXDOMAIN


def test_name_exists_without_txt_is_not_found(dns, resolver):
    dns.store.add("deeper." + NAME, "TXT", "unrelated")  # NAME exists as an empty non-terminal
    lookup = resolver.lookup(NAME, EXPECTED)
    assert lookup.result is CheckResult.NOT_FOUND
    assert lookup.found == ()


def test_timeout_is_indeterminate(dns, resolver):
    dns.store.behave(NAME, "timeout")
    lookup = resolver.lookup(NAME, EXPECTED)
    assert lookup.result is CheckResult.INDETERMINATE
    assert "timed out" in lookup.detail


def test_servfail_is_indeterminate(dns, resolver):
    dns.store.behave(NAME, "servfail")
    lookup = resolver.lookup(NAME, EXPECTED)
    assert lookup.result is CheckResult.INDETERMINATE


def test_unreachable_server_is_indeterminate():
    from sso_local.dns_server import free_port

    resolver = TxtResolver([f"127.0.0.1:{free_port()}"], timeout=0.3)
    assert resolver.lookup(NAME, EXPECTED).result is CheckResult.INDETERMINATE
