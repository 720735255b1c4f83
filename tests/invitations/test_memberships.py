"""What the ACS asks: may this asserted email sign in to this tenant?"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from sso_core.dal.table import Table
from sso_core.logic.memberships import MembershipRefused, member_for_sso_login, record_sso_login
from tests.support.admins import Admin, accept
from tests.support.aws_env import TABLE
from tests.support.mail import sent_mail


def refusal(table: Table, tenant: str, email: str) -> str:
    with pytest.raises(MembershipRefused) as refused:
        member_for_sso_login(table, tenant, email)
    return refused.value.reason


def test_an_accepted_invitation_signs_in_with_the_same_email_in_any_case(admin: Admin, table: Table) -> None:
    admin.invite("Anna.Schmidt@Bücher.example", accounts=["acct-2"])
    accept(admin.api, sent_mail("anna.schmidt@xn--bcher-kva.example")[0].token)
    for asserted in (
        "anna.schmidt@xn--bcher-kva.example",
        "ANNA.SCHMIDT@BÜCHER.EXAMPLE",
        " Anna.Schmidt@bücher.example ",
    ):
        member = member_for_sso_login(table, "acme", asserted)
        assert member.email == "anna.schmidt@xn--bcher-kva.example"
        assert (member.role, member.accounts, member.status) == ("member", ["acct-2"], "active")
    assert refusal(table, "acme", "anna.schmidt2@xn--bcher-kva.example") == "user_not_invited"
    assert refusal(table, "acme", "anna.schmidt@bucher.example") == "user_not_invited"  # a homograph is not it
    assert refusal(table, "globex", "anna.schmidt@xn--bcher-kva.example") == "user_not_invited"


def test_pending_invitations_are_refused_with_their_own_reason(admin: Admin, table: Table) -> None:
    admin.invite("jane@example.com")
    assert refusal(table, "acme", "Jane@Example.com") == "invitation_not_accepted"


def test_expired_revoked_unknown_and_malformed_are_not_invited(admin: Admin, table: Table) -> None:
    expired = admin.invite("expired@example.com").json()["id"]
    table.client.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "TENANT#acme"}, "sk": {"S": f"INVITE#{expired}"}},
        UpdateExpression="SET expires_at = :e",
        ExpressionAttributeValues={":e": {"S": "2020-01-01T00:00:00Z"}},
    )
    revoked = admin.invite("revoked@example.com").json()["id"]
    admin.call("DELETE", f"/invitations/{revoked}")
    for email in ("expired@example.com", "revoked@example.com", "nobody@example.com", "not an email", ""):
        assert refusal(table, "acme", email) == "user_not_invited", email


def test_record_sso_login_sets_the_last_sign_in_and_refuses_a_removed_member(
    admin: Admin, table: Table, make_admin: Callable[..., Admin]
) -> None:
    admin.invite("jane@example.com")
    user_id = accept(admin.api, sent_mail()[0].token).json()["user_id"]
    member = member_for_sso_login(table, "acme", "jane@example.com")
    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    record_sso_login(table, member, when)
    assert member_for_sso_login(table, "acme", "jane@example.com").last_login_at == when
    # Removed between the check and the record: the login is refused all the same.
    assert admin.call("DELETE", f"/users/{user_id}").status == 204
    with pytest.raises(MembershipRefused) as refused:
        record_sso_login(table, member, when)
    assert refused.value.reason == "user_not_invited"
