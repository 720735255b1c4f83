"""Email normal form and the grant rules (no AWS)."""

from __future__ import annotations

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


def test_tokens_carry_at_least_128_bits_and_hash_to_sha256_hex() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(t) >= 43 for t in tokens)  # 32 bytes of urlsafe base64: 256 bits
    token = tokens.pop()
    digest = hash_token(token)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest != hash_token(token + "x")
