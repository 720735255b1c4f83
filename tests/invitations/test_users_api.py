"""Users (admin) through the gateway: list, change role or accounts, remove."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from sso_core.dal.table import Table
from sso_core.logic.memberships import MembershipRefused, member_for_sso_login, record_sso_login
from tests.support.admins import Admin, accept
from tests.support.api import Api, error_code
from tests.support.mail import sent_mail


def join(inviter: Admin, email: str, role: str = "member", accounts: list[str] | None = None) -> str:
    """Invite ``email`` and accept from its mail; the new user's id."""
    assert inviter.invite(email, role=role, accounts=accounts).status == 201
    resp = accept(inviter.api, sent_mail(email)[-1].token)
    assert resp.status == 200
    return str(resp.json()["user_id"])


def test_list_shows_role_accounts_status_and_last_sign_in(admin: Admin, table: Table) -> None:
    jane = join(admin, "jane@example.com", accounts=["acct-1"])
    join(admin, "bob@example.com", role="admin", accounts=["acct-1", "acct-2"])
    membership = member_for_sso_login(table, "acme", "jane@example.com")
    record_sso_login(table, membership, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    resp = admin.call("GET", "/users")
    assert resp.status == 200
    users = {u["email"]: u for u in resp.json()["users"]}
    assert set(users) == {"jane@example.com", "bob@example.com"}
    assert users["jane@example.com"]["id"] == jane
    assert users["jane@example.com"]["accounts"] == ["acct-1"]
    assert users["jane@example.com"]["status"] == "active"
    assert users["jane@example.com"]["last_login_at"] == "2026-01-02T03:04:05Z"
    assert users["bob@example.com"]["role"] == "admin" and users["bob@example.com"]["last_login_at"] is None


def test_patch_changes_role_and_accounts_without_losing_the_last_sign_in(admin: Admin, table: Table) -> None:
    jane = join(admin, "jane@example.com", accounts=["acct-1"])
    record_sso_login(table, member_for_sso_login(table, "acme", "jane@example.com"), datetime(2026, 1, 2, tzinfo=UTC))
    resp = admin.call("PATCH", f"/users/{jane}", {"role": "admin"})
    assert resp.status == 200 and resp.json()["role"] == "admin" and resp.json()["accounts"] == ["acct-1"]
    resp = admin.call("PATCH", f"/users/{jane}", {"accounts": ["acct-2"]})
    assert resp.status == 200 and resp.json()["role"] == "admin" and resp.json()["accounts"] == ["acct-2"]
    stored = member_for_sso_login(table, "acme", "jane@example.com")
    assert (stored.role, stored.accounts) == ("admin", ["acct-2"])
    assert stored.last_login_at == datetime(2026, 1, 2, tzinfo=UTC)


def test_patch_cannot_escalate(make_admin: Callable[..., Admin]) -> None:
    owner, admin = make_admin("acme", role="owner"), make_admin("acme")
    jane = join(admin, "jane@example.com")
    boss = join(owner, "boss@example.com", role="owner")
    resp = admin.call("PATCH", f"/users/{jane}", {"role": "owner"})
    assert resp.status == 403 and error_code(resp) == "role_escalation"
    resp = admin.call("PATCH", f"/users/{boss}", {"role": "member"})  # demoting someone above you
    assert resp.status == 403 and error_code(resp) == "role_escalation"
    assert owner.call("PATCH", f"/users/{jane}", {"role": "owner"}).status == 200


def test_patch_bad_input(admin: Admin) -> None:
    jane = join(admin, "jane@example.com")
    cases = [
        ({"role": "root"}, "invalid_role"),
        ({"accounts": ["globex-acct"]}, "invalid_accounts"),
        ({}, "invalid_request"),
        ({"role": "admin", "email": "x@example.com"}, "invalid_request"),
        ({"accounts": "acct-1"}, "invalid_request"),
    ]
    for body, code in cases:
        resp = admin.call("PATCH", f"/users/{jane}", body)
        assert (resp.status, error_code(resp)) == (400, code), body
    assert admin.call("GET", "/users").json()["users"][0]["role"] == "member"


def test_remove_refuses_the_next_sso_login(admin: Admin, table: Table) -> None:
    jane = join(admin, "jane@example.com")
    assert member_for_sso_login(table, "acme", "jane@example.com").user_id == jane
    assert admin.call("DELETE", f"/users/{jane}").status == 204
    with pytest.raises(MembershipRefused) as refused:
        member_for_sso_login(table, "acme", "jane@example.com")
    assert refused.value.reason == "user_not_invited"
    assert admin.call("GET", "/users").json()["users"] == []
    resp = admin.call("DELETE", f"/users/{jane}")
    assert resp.status == 404 and error_code(resp) == "user_not_found"
    # The email can be invited again.
    assert admin.invite("jane@example.com").status == 201


def test_an_admin_cannot_remove_an_owner(make_admin: Callable[..., Admin]) -> None:
    owner, admin = make_admin("acme", role="owner"), make_admin("acme")
    boss = join(owner, "boss@example.com", role="owner")
    resp = admin.call("DELETE", f"/users/{boss}")
    assert resp.status == 403 and error_code(resp) == "role_escalation"
    assert owner.call("DELETE", f"/users/{boss}").status == 204


def test_other_tenants_users_are_not_found(make_admin: Callable[..., Admin]) -> None:
    acme, globex = make_admin("acme"), make_admin("globex")
    jane = join(acme, "jane@example.com")
    assert globex.call("GET", "/users").json()["users"] == []
    for method, body in (("PATCH", {"role": "admin"}), ("DELETE", None)):
        resp = globex.call(method, f"/users/{jane}", body)
        assert resp.status == 404 and error_code(resp) == "user_not_found"
    assert [u["role"] for u in acme.call("GET", "/users").json()["users"]] == ["member"]


@pytest.mark.parametrize("user_id", ["nope", "usr_" + "0" * 32, "usr_" + "G" * 32])
def test_unknown_users_are_not_found(admin: Admin, user_id: str) -> None:
    resp = admin.call("PATCH", f"/users/{user_id}", {"role": "member"})
    assert resp.status == 404 and error_code(resp) == "user_not_found"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/users", None),
        ("PATCH", "/users/usr_00000000000000000000000000000000", {"role": "member"}),
        ("DELETE", "/users/usr_00000000000000000000000000000000", None),
    ],
)
def test_user_routes_need_a_token_and_the_admin_role(api: Api, aws: None, method: str, path: str, body: Any) -> None:
    assert api.call(method, path, body).status == 401
    resp = Admin(api, "acme", role="member").call(method, path, body)
    assert resp.status == 403 and error_code(resp) == "forbidden"
