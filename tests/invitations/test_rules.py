"""Email normal form and the grant rules (no AWS)."""

from __future__ import annotations

import base64
import re

import pytest

from sso_core.logic.invitations import hash_token, new_token
from sso_core.logic.memberships import check_grant
from sso_core.models.emails import normalise_email
from sso_core.models.identity import Caller
from sso_core.models.users import InvalidAccounts, InvalidEmail, InvalidRole, RoleEscalation


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jane@example.com", "jane@example.com"),
        ("  Jane.Doe@Example.COM ", "jane.doe@example.com"),
        ("ops+sso@corp.example.", "ops+sso@corp.example"),
        ("anna@BÜCHER.example", "anna@xn--bcher-kva.example"),
        ("anna@xn--bcher-kva.example", "anna@xn--bcher-kva.example"),
        ("o'brien@sub.corp.example", "o'brien@sub.corp.example"),
        ("someone@gmail.com", "someone@gmail.com"),  # consumer domains are fine for people
    ],
)
def test_emails_are_normalised(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "no-at-sign",
        "@example.com",
        "jane@",
        "jane@localhost",
        "jane@127.0.0.1",
        "jane@[127.0.0.1]",
        "jane doe@example.com",
        "jane@exa mple.com",
        "jane..doe@example.com",
        ".jane@example.com",
        '"quoted"@example.com',
        "jané@example.com",
        "jane@-bad-.example",
        "jane@example.com\r\nBcc: x@evil.example",
        "a" * 65 + "@example.com",
        "jane@" + "a" * 64 + ".example",
        "x@" + ".".join(["a" * 60] * 5) + ".example",
        None,
        42,
    ],
)
def test_invalid_emails_are_refused(raw: object) -> None:
    with pytest.raises(InvalidEmail):
        normalise_email(raw)


ADMIN = Caller(tenant_id="t", email="a@t.example", role="admin", accounts=("acct-1", "acct-2"))


def test_grant_within_the_callers_role_and_accounts() -> None:
    assert check_grant(ADMIN, "admin", ["acct-2", "acct-1", "acct-2"]) == ("admin", ["acct-2", "acct-1"])
    assert check_grant(ADMIN, "member", []) == ("member", [])


@pytest.mark.parametrize(
    ("role", "accounts", "error"),
    [
        ("superuser", [], InvalidRole),
        ("", [], InvalidRole),
        ("owner", [], RoleEscalation),
        ("member", ["acct-3"], InvalidAccounts),
        ("member", ["acct-1", "other-tenant-acct"], InvalidAccounts),
    ],
)
def test_grant_refusals(role: str, accounts: list[str], error: type[Exception]) -> None:
    with pytest.raises(error):
        check_grant(ADMIN, role, accounts)


@pytest.mark.parametrize(
    ("caller_role", "granted_role", "allowed"),
    [
        ("member", "member", True),
        ("member", "admin", False),
        ("member", "owner", False),
        ("admin", "member", True),
        ("admin", "admin", True),
        ("admin", "owner", False),
        ("owner", "member", True),
        ("owner", "admin", True),
        ("owner", "owner", True),
    ],
)
def test_no_one_grants_a_role_above_their_own(caller_role: str, granted_role: str, allowed: bool) -> None:
    caller = Caller(tenant_id="t", email="c@t.example", role=caller_role, accounts=("acct-1",))
    if allowed:
        assert check_grant(caller, granted_role, ["acct-1"]) == (granted_role, ["acct-1"])
    else:
        with pytest.raises(RoleEscalation):
            check_grant(caller, granted_role, ["acct-1"])


def test_a_caller_without_accounts_grants_none() -> None:
    caller = Caller(tenant_id="t", email="o@t.example", role="owner", accounts=())
    assert check_grant(caller, "member", []) == ("member", [])
    with pytest.raises(InvalidAccounts):
        check_grant(caller, "member", ["acct-1"])


def test_tokens_carry_at_least_128_bits_and_hash_to_sha256_hex() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    for token in tokens:
        # URL-safe base64 of random bytes, without padding: at least 16 bytes (128 bits) once decoded.
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token), token
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 16
    # SHA-256 as lower-case hex, checked against the FIPS 180-2 test vector rather than against hashlib.
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    token = tokens.pop()
    assert re.fullmatch(r"[0-9a-f]{64}", hash_token(token))
    assert hash_token(token) == hash_token(token)
    assert hash_token(token) != hash_token(token + "x")
