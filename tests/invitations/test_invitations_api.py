"""Invitations through the gateway (JWT checked as API Gateway does), with moto's DynamoDB and SES."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.domains import DomainRepository
from sso_core.dal.table import Table
from sso_core.logic.invitations import hash_token
from sso_core.models.connections import Connection, ConnectionStatus
from sso_core.models.domains import DomainClaim, DomainStatus
from tests.support.admins import Admin, accept
from tests.support.api import Api, error_code
from tests.support.aws_env import TABLE, clear_caches
from tests.support.mail import ACCEPT_URL, SENDER, sent_mail


def all_items() -> list[dict[str, Any]]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    return client.scan(TableName=TABLE)["Items"]


# ---- create, mail, accept ----------------------------------------------------------------------


def test_invite_sends_one_mail_whose_link_accepts(admin: Admin, api: Api) -> None:
    resp = admin.invite("  Jane.Doe@Example.COM ", accounts=["acct-1"])
    assert resp.status == 201
    body = resp.json()
    assert body["email"] == "jane.doe@example.com"
    assert body["role"] == "member" and body["accounts"] == ["acct-1"] and body["status"] == "pending"
    assert body["id"].startswith("inv_")
    created = datetime.fromisoformat(body["created_at"])
    assert datetime.fromisoformat(body["expires_at"]) - created == timedelta(days=7)

    mails = sent_mail()
    assert len(mails) == 1
    mail = mails[0]
    assert mail.to == ["jane.doe@example.com"] and mail.source == SENDER
    assert f"{ACCEPT_URL}?token=" in mail.body

    accepted = accept(api, mail.token)
    assert accepted.status == 200
    assert accepted.json() == {
        "email": "jane.doe@example.com",
        "tenant_id": "acme",
        "tenant_name": "acme",
        "user_id": accepted.json()["user_id"],
        "next": "password",
    }
    invitation = admin.call("GET", "/invitations").json()["invitations"][0]
    assert invitation["status"] == "accepted" and invitation["user_id"] == accepted.json()["user_id"]
    users = admin.call("GET", "/users").json()["users"]
    assert [(u["email"], u["role"], u["accounts"], u["status"]) for u in users] == [
        ("jane.doe@example.com", "member", ["acct-1"], "active")
    ]
    assert len(sent_mail()) == 1


def test_mail_content_names_tenant_inviter_and_expiry_and_escapes_them(make_admin: Callable[..., Admin]) -> None:
    admin = make_admin("acme", tenant_name='Acme <script>alert("x")</script> & Co')
    resp = admin.invite("jane@example.com", role="admin")
    assert resp.status == 201
    mail = sent_mail()[0]
    assert "Acme &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in mail.body
    assert "<script>" not in mail.body
    assert "admin@acme.example" in mail.body
    expires = datetime.fromisoformat(resp.json()["expires_at"])
    assert f"{expires.day} {expires:%B %Y, %H:%M} UTC" in mail.body
    assert mail.subject == 'You are invited to join Acme <script>alert("x")</script> & Co'


def test_tokens_are_stored_only_as_hashes(admin: Admin) -> None:
    admin.invite("jane@example.com")
    token = sent_mail()[0].token
    dump = json.dumps(all_items())
    assert token not in dump
    assert f"INVTOKEN#{hash_token(token)}" in dump


def test_accept_says_sso_when_the_domain_has_an_enabled_connection(admin: Admin, api: Api) -> None:
    table = Table(TABLE)
    now = datetime.now(UTC).replace(microsecond=0)
    repo = DomainRepository(table)
    pending = DomainClaim(
        domain="corp.example", tenant_id="acme", token="t" * 32, status=DomainStatus.PENDING, created_at=now
    )
    repo.create_claim(pending)
    repo.verify_claim(pending.model_copy(update={"status": DomainStatus.VERIFIED, "verified_at": now}), 0)
    ConnectionRepository(table).create(
        Connection(
            id="conn_0123456789abcdef0123",
            tenant_id="acme",
            domains=["corp.example"],
            status=ConnectionStatus.ENABLED,
            created_at=now,
            updated_at=now,
        )
    )
    admin.invite("jane@CORP.example")
    admin.invite("bob@other.example")
    assert accept(api, sent_mail("jane@corp.example")[0].token).json()["next"] == "sso"
    assert accept(api, sent_mail("bob@other.example")[0].token).json()["next"] == "password"


def test_expiry_is_configurable(admin: Admin, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSO_INVITE_EXPIRY_HOURS", "2")
    clear_caches()
    body = admin.invite("jane@example.com").json()
    assert datetime.fromisoformat(body["expires_at"]) - datetime.fromisoformat(body["created_at"]) == timedelta(hours=2)


# ---- one invitation per email ------------------------------------------------------------------


def test_inviting_a_pending_email_again_returns_that_invitation_without_a_second_mail(admin: Admin) -> None:
    first = admin.invite("jane@example.com")
    again = admin.invite("JANE@example.com", role="admin")
    assert first.status == 201 and again.status == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["role"] == "member"
    assert len(admin.call("GET", "/invitations").json()["invitations"]) == 1
    assert len(sent_mail()) == 1


def test_the_same_email_may_be_pending_in_two_tenants(make_admin: Callable[..., Admin]) -> None:
    a, b = make_admin("acme"), make_admin("globex")
    assert a.invite("jane@example.com").status == 201
    assert b.invite("jane@example.com").status == 201
    assert len(sent_mail("jane@example.com")) == 2


def test_inviting_a_member_is_a_conflict(admin: Admin, api: Api) -> None:
    admin.invite("jane@example.com")
    accept(api, sent_mail()[0].token)
    resp = admin.invite("Jane@Example.com")
    assert resp.status == 409 and error_code(resp) == "already_member"
    assert len(sent_mail()) == 1


def test_a_revoked_invitation_does_not_block_a_new_one(admin: Admin) -> None:
    first = admin.invite("jane@example.com").json()
    assert admin.call("DELETE", f"/invitations/{first['id']}").status == 204
    second = admin.invite("jane@example.com")
    assert second.status == 201 and second.json()["id"] != first["id"]


# ---- bad input and role checks on create ------------------------------------------------------


@pytest.mark.parametrize("email", ["not-an-email", "jane@localhost", "jane doe@example.com", "", "a@b@c"])
def test_invalid_email(admin: Admin, email: str) -> None:
    resp = admin.invite(email)
    assert resp.status == 400 and error_code(resp) == "invalid_email"


def test_unknown_role(admin: Admin) -> None:
    resp = admin.invite("jane@example.com", role="superuser")
    assert resp.status == 400 and error_code(resp) == "invalid_role"


def test_accounts_the_caller_does_not_hold(admin: Admin) -> None:
    resp = admin.invite("jane@example.com", accounts=["acct-1", "globex-acct-9"])
    assert resp.status == 400 and error_code(resp) == "invalid_accounts"
    assert sent_mail() == []


def test_a_member_cannot_invite(make_admin: Callable[..., Admin]) -> None:
    member = make_admin("acme", role="member")
    resp = member.invite("jane@example.com")
    assert resp.status == 403 and error_code(resp) == "forbidden"
    assert sent_mail() == []


def test_an_admin_cannot_invite_an_owner_but_an_owner_can(admin: Admin, owner: Admin) -> None:
    resp = admin.invite("jane@example.com", role="owner")
    assert resp.status == 403 and error_code(resp) == "role_escalation"
    assert owner.invite("jane@example.com", role="owner").status == 201


@pytest.mark.parametrize(
    "body",
    [
        {"email": "jane@example.com", "role": "member", "accounts": [], "admin": True},
        {"role": "member"},
        {"email": "jane@example.com", "role": "member", "accounts": "acct-1"},
        {"email": ["jane@example.com"], "role": "member"},
        {"email": "jane@example.com", "role": "member", "accounts": [""]},
    ],
)
def test_malformed_bodies(admin: Admin, body: dict[str, Any]) -> None:
    resp = admin.call("POST", "/invitations", body)
    assert resp.status == 400 and error_code(resp) == "invalid_request"


def test_not_json(admin: Admin) -> None:
    resp = admin.call("POST", "/invitations", raw_body="{nope", headers={"content-type": "application/json"})
    assert resp.status == 400 and error_code(resp) == "invalid_request"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/invitations"),
        ("GET", "/invitations"),
        ("DELETE", "/invitations/inv_00000000000000000000000000000000"),
        ("POST", "/invitations/inv_00000000000000000000000000000000/resend"),
    ],
)
def test_admin_routes_need_a_token_and_the_admin_role(api: Api, ses: None, method: str, path: str) -> None:
    assert api.call(method, path).status == 401
    member = Admin(api, "acme", role="member")
    resp = member.call(method, path, {"email": "x@example.com", "role": "member"} if method == "POST" else None)
    assert resp.status == 403 and error_code(resp) == "forbidden"


# ---- list ----------------------------------------------------------------------------------------


def test_list_filters_by_status_and_shows_only_the_callers_tenant(
    make_admin: Callable[..., Admin], api: Api, table: Table
) -> None:
    acme, globex = make_admin("acme"), make_admin("globex")
    pending = acme.invite("pending@example.com").json()["id"]
    accepted = acme.invite("accepted@example.com").json()["id"]
    revoked = acme.invite("revoked@example.com").json()["id"]
    expired = acme.invite("expired@example.com").json()["id"]
    globex.invite("other@example.com")
    accept(api, sent_mail("accepted@example.com")[0].token)
    acme.call("DELETE", f"/invitations/{revoked}")
    table.client.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "TENANT#acme"}, "sk": {"S": f"INVITE#{expired}"}},
        UpdateExpression="SET expires_at = :e",
        ExpressionAttributeValues={":e": {"S": "2020-01-01T00:00:00Z"}},
    )

    def ids(query: str = "") -> set[str]:
        resp = acme.call("GET", "/invitations", query=query)
        assert resp.status == 200
        return {i["id"] for i in resp.json()["invitations"]}

    assert ids() == {pending, accepted, revoked, expired}
    assert ids("status=pending") == {pending}
    assert ids("status=accepted") == {accepted}
    assert ids("status=revoked") == {revoked}
    assert ids("status=expired") == {expired}
    resp = acme.call("GET", "/invitations", query="status=bogus")
    assert resp.status == 400 and error_code(resp) == "invalid_request"


# ---- revoke and resend ---------------------------------------------------------------------------


def test_revoke_kills_the_link(admin: Admin, api: Api) -> None:
    inv = admin.invite("jane@example.com").json()
    token = sent_mail()[0].token
    assert admin.call("DELETE", f"/invitations/{inv['id']}").status == 204
    assert admin.call("DELETE", f"/invitations/{inv['id']}").status == 204  # again: still revoked
    resp = accept(api, token)
    assert resp.status == 410 and error_code(resp) == "invitation_unusable"
    assert admin.call("GET", "/invitations").json()["invitations"][0]["status"] == "revoked"
    assert admin.call("GET", "/users").json()["users"] == []


def test_an_accepted_invitation_cannot_be_revoked_or_resent(admin: Admin, api: Api) -> None:
    inv = admin.invite("jane@example.com").json()
    accept(api, sent_mail()[0].token)
    for method, path in (("DELETE", f"/invitations/{inv['id']}"), ("POST", f"/invitations/{inv['id']}/resend")):
        resp = admin.call(method, path)
        assert resp.status == 409 and error_code(resp) == "invitation_not_pending"


def test_resend_mails_a_new_link_and_the_old_one_stops_working(admin: Admin, api: Api) -> None:
    inv = admin.invite("jane@example.com").json()
    old = sent_mail()[0].token
    resp = admin.call("POST", f"/invitations/{inv['id']}/resend")
    assert resp.status == 200
    assert resp.json()["id"] == inv["id"] and resp.json()["sent_count"] == 2
    mails = sent_mail()
    assert len(mails) == 2
    new = mails[1].token
    assert new != old
    assert accept(api, old).status == 410
    assert accept(api, new).status == 200


def test_other_tenants_invitations_are_not_found(make_admin: Callable[..., Admin], api: Api) -> None:
    acme, globex = make_admin("acme"), make_admin("globex")
    inv = acme.invite("jane@example.com").json()
    for method, path in (("DELETE", f"/invitations/{inv['id']}"), ("POST", f"/invitations/{inv['id']}/resend")):
        resp = globex.call(method, path)
        assert resp.status == 404 and error_code(resp) == "invitation_not_found"
    assert globex.call("GET", "/invitations").json()["invitations"] == []
    # Untouched: the original link still works and only one mail went out.
    assert len(sent_mail()) == 1
    assert accept(api, sent_mail()[0].token).status == 200


@pytest.mark.parametrize("invitation_id", ["nope", "inv_" + "0" * 32, "INV_" + "a" * 32, "inv_%2e%2e"])
def test_unknown_or_malformed_ids_are_not_found(admin: Admin, invitation_id: str) -> None:
    resp = admin.call("DELETE", f"/invitations/{invitation_id}")
    assert resp.status == 404 and error_code(resp) == "invitation_not_found"


def test_an_admin_cannot_resend_or_revoke_an_owner_invitation(make_admin: Callable[..., Admin]) -> None:
    owner, admin = make_admin("acme", role="owner"), make_admin("acme")
    inv = owner.invite("boss@example.com", role="owner").json()
    for method, path in (("POST", f"/invitations/{inv['id']}/resend"), ("DELETE", f"/invitations/{inv['id']}")):
        resp = admin.call(method, path)
        assert resp.status == 403 and error_code(resp) == "role_escalation"
    assert len(sent_mail()) == 1


# ---- accept: one answer for every unusable token -----------------------------------------------


def test_unknown_used_revoked_and_expired_tokens_get_the_same_answer(admin: Admin, api: Api, table: Table) -> None:
    admin.invite("used@example.com")
    used = sent_mail("used@example.com")[0].token
    assert accept(api, used).status == 200

    revoked_id = admin.invite("revoked@example.com").json()["id"]
    revoked = sent_mail("revoked@example.com")[0].token
    admin.call("DELETE", f"/invitations/{revoked_id}")

    expired_id = admin.invite("expired@example.com").json()["id"]
    expired = sent_mail("expired@example.com")[0].token
    table.client.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "TENANT#acme"}, "sk": {"S": f"INVITE#{expired_id}"}},
        UpdateExpression="SET expires_at = :e, expires_epoch = :n",
        ExpressionAttributeValues={":e": {"S": "2020-01-01T00:00:00Z"}, ":n": {"N": "1577836800"}},
    )

    answers = [accept(api, t) for t in ("x" * 43, used, revoked, expired, used + "A")]
    assert {a.status for a in answers} == {410}
    assert len({a.body for a in answers}) == 1
    assert answers[0].json()["error"]["code"] == "invitation_unusable"
    # The expired invitation was not accepted and is shown as expired.
    listed = {i["email"]: i["status"] for i in admin.call("GET", "/invitations").json()["invitations"]}
    assert listed["expired@example.com"] == "expired"
    assert [u["email"] for u in admin.call("GET", "/users").json()["users"]] == ["used@example.com"]


@pytest.mark.parametrize("body", [{}, {"token": ""}, {"token": 5}, {"token": "x", "email": "a@b.example"}])
def test_malformed_accept_bodies(api: Api, aws: None, body: dict[str, Any]) -> None:
    resp = api.call("POST", "/invitations/accept", body)
    assert resp.status == 400 and error_code(resp) == "invalid_request"


def test_accept_is_public_and_a_bearer_token_changes_nothing(admin: Admin, api: Api) -> None:
    admin.invite("jane@example.com")
    resp = api.call("POST", "/invitations/accept", {"token": sent_mail()[0].token}, token=admin.token)
    assert resp.status == 200


# ---- the browser pages ----------------------------------------------------------------------------


def test_the_accept_page_shows_the_invitation_and_a_form_and_does_not_use_the_token(admin: Admin, api: Api) -> None:
    admin.invite("jane@example.com")
    token = sent_mail()[0].token
    page = api.call("GET", "/invitations/accept", query=f"token={token}")
    assert page.status == 200
    assert page.header("content-type").startswith("text/html")
    csp = page.header("content-security-policy") or ""
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert page.header("cache-control") == "no-store"
    assert page.header("referrer-policy") == "no-referrer"
    assert '<form method="post" action="accept">' in page.text
    assert f'name="token" value="{token}"' in page.text
    assert "jane@example.com" in page.text and "Accept" in page.text
    # Viewing twice (link scanners do) leaves the token usable.
    assert api.call("GET", "/invitations/accept", query=f"token={token}").status == 200
    assert admin.call("GET", "/invitations").json()["invitations"][0]["status"] == "pending"


def test_the_accept_page_escapes_what_it_shows(make_admin: Callable[..., Admin], api: Api) -> None:
    admin = make_admin("acme", tenant_name="<img src=x onerror=alert(1)>")
    admin.invite("o'brien@example.com")
    page = api.call("GET", "/invitations/accept", query=f"token={sent_mail()[0].token}")
    assert "<img" not in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "o&#x27;brien@example.com" in page.text


@pytest.mark.parametrize("query", ["token=nope", "", "token=%22%3E%3Cscript%3E"])
def test_the_accept_page_for_an_unusable_token(api: Api, aws: None, query: str) -> None:
    page = api.call("GET", "/invitations/accept", query=query)
    assert page.status == 410
    assert page.header("content-type").startswith("text/html")
    assert "<script>" not in page.text and "can no longer be used" in page.text
    assert page.header("referrer-policy") == "no-referrer"


def test_the_form_post_accepts_and_answers_with_a_page(admin: Admin, api: Api) -> None:
    admin.invite("jane@example.com")
    token = sent_mail()[0].token
    form = {"content-type": "application/x-www-form-urlencoded"}
    done = api.call("POST", "/invitations/accept", raw_body=f"token={token}", headers=form)
    assert done.status == 200 and done.header("content-type").startswith("text/html")
    assert "You have joined" in done.text and "acme" in done.text and "password" in done.text
    assert done.header("cache-control") == "no-store"
    again = api.call("POST", "/invitations/accept", raw_body=f"token={token}", headers=form)
    assert again.status == 410 and "can no longer be used" in again.text
    empty = api.call("POST", "/invitations/accept", raw_body="", headers=form)
    assert empty.status == 410


# ---- idempotency -----------------------------------------------------------------------------------


def test_a_retried_post_with_the_same_key_sends_one_mail(admin: Admin) -> None:
    key = {"idempotency-key": "b9d1f7c2-8e1a-4a4e-9a5c-0f7f1d2e3c4b"}
    first = admin.invite("jane@example.com", headers=key)
    # Revoked meanwhile: without the key a second POST would create and mail a new invitation.
    admin.call("DELETE", f"/invitations/{first.json()['id']}")
    retry = admin.invite("jane@example.com", headers=key)
    assert first.status == retry.status == 201
    assert retry.json() == first.json()
    assert len(sent_mail()) == 1
    fresh = admin.invite("jane@example.com", headers={"idempotency-key": "another-key"})
    assert fresh.status == 201 and fresh.json()["id"] != first.json()["id"]
    assert len(sent_mail()) == 2


def test_a_key_reused_with_another_body_is_refused(admin: Admin) -> None:
    key = {"idempotency-key": "k-1"}
    assert admin.invite("jane@example.com", headers=key).status == 201
    resp = admin.invite("bob@example.com", headers=key)
    assert resp.status == 422 and error_code(resp) == "idempotency_key_reused"
    assert len(sent_mail()) == 1


def test_the_same_key_in_two_tenants_is_two_requests(make_admin: Callable[..., Admin]) -> None:
    key = {"idempotency-key": "shared-key"}
    acme, globex = make_admin("acme"), make_admin("globex")
    assert acme.invite("jane@example.com", headers=key).status == 201
    assert globex.invite("jane@example.com", headers=key).status == 201
    assert len(sent_mail()) == 2


def test_a_failed_request_is_not_remembered(admin: Admin) -> None:
    key = {"idempotency-key": "k-2"}
    assert admin.invite("jane@example.com", role="owner", headers=key).status == 403
    # A different body under the same key is fine: the failure left no record.
    assert admin.invite("jane@example.com", headers=key).status == 201


def test_an_overlong_key_is_refused(admin: Admin) -> None:
    resp = admin.invite("jane@example.com", headers={"idempotency-key": "k" * 256})
    assert resp.status == 400 and error_code(resp) == "invalid_request"


# ---- mail failures and the local outbox --------------------------------------------------------


def test_mail_failure_answers_502_and_leaves_no_invitation(api: Api, aws: None) -> None:
    admin = Admin(api, "acme")  # no verified sender identity: SES (moto) rejects the message
    resp = admin.invite("jane@example.com")
    assert resp.status == 502 and error_code(resp) == "mail_not_sent"
    assert admin.call("GET", "/invitations").json()["invitations"] == []
    assert [i for i in all_items() if i["pk"]["S"].startswith("INVTOKEN#")] == []


def test_the_local_outbox_gets_one_eml_per_message(
    api: Api, aws: None, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import email
    from email import policy

    outbox = tmp_path / "outbox"
    monkeypatch.setenv("SSO_LOCAL_OUTBOX", str(outbox))
    clear_caches()
    admin = Admin(api, "acme", tenant_name="Acme Corp")
    assert admin.invite("jane@example.com").status == 201
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 1
    msg = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert msg["To"] == "jane@example.com" and msg["From"] == SENDER
    assert msg["Subject"] == "You are invited to join Acme Corp"
    text = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    page = msg.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert f"{ACCEPT_URL}?token=" in text and f"{ACCEPT_URL}?token=" in page
    token = text.split("?token=")[1].split()[0]
    assert accept(api, token).status == 200
    assert sent_mail() == []  # nothing went to SES
