"""The one email normal form (``models.emails``), used by invitations, users, discovery and the ACS, checked over
generated addresses: the invited email and the one an IdP asserts must compare as strings."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sso_core.models.domain_names import email_domain
from sso_core.models.emails import normalise_email, parse_email
from sso_core.models.errors import InvalidDomain
from sso_core.models.users import InvalidEmail

ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
atoms = st.text(alphabet=ATEXT, min_size=1, max_size=12)
local_parts = st.lists(atoms, min_size=1, max_size=4).map(".".join).filter(lambda s: len(s) <= 64)
labels = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,10}[A-Za-z0-9])?", fullmatch=True)
tlds = st.from_regex(r"[A-Za-z]{2,6}", fullmatch=True)
domains = st.builds(lambda ls, tld: ".".join([*ls, tld]), st.lists(labels, min_size=1, max_size=3), tlds)
addresses = st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(addresses)
def test_valid_addresses_normalise_to_lower_case_and_stay_put(address: str) -> None:
    normal = normalise_email(address)
    assert normal == address.lower()
    assert normalise_email(normal) == normal
    assert parse_email(address) == normal


@settings(max_examples=300, deadline=None, derandomize=True)
@given(addresses, st.sampled_from([str.upper, str.lower, str.swapcase, lambda s: f"  {s}  ", lambda s: s + "."]))
def test_case_space_and_a_trailing_root_dot_never_change_the_normal_form(address: str, variant) -> None:
    assert normalise_email(variant(address)) == normalise_email(address)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(max_size=80))
def test_any_text_is_refused_or_gives_a_fixed_point(raw: str) -> None:
    try:
        normal = normalise_email(raw)
    except InvalidEmail:
        assert parse_email(raw) is None
        return
    assert parse_email(raw) == normal
    assert normalise_email(normal) == normal
    assert normal.count("@") == 1 and normal == normal.lower() and normal.isascii()
    assert not any(c.isspace() for c in normal) and len(normal) <= 254


@settings(max_examples=100, deadline=None, derandomize=True)
@given(addresses)
def test_discovery_routes_by_the_domain_of_the_same_normal_form(address: str) -> None:
    try:
        domain = email_domain(address)
    except InvalidDomain:
        return  # a public suffix or a consumer mail domain: never routed, whatever the local part
    assert domain == normalise_email(address).rpartition("@")[2]


@pytest.mark.parametrize(
    "raw",
    [
        "a b@example.com",
        "a@b@example.com",
        '"quoted"@example.com',
        "x@[192.0.2.1]",
        "x@example.123",
        "x\n@example.com",
        "jane@",
        "@example.com",
        "jane@localhost",
        "ja..ne@example.com",
        "ja\x7fne@example.com",
    ],
)
def test_refused(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        normalise_email(raw)
    assert parse_email(raw) is None


def test_unicode_domains_become_a_labels() -> None:
    assert normalise_email(" Jane@BÜCHER.example. ") == "jane@xn--bcher-kva.example"
