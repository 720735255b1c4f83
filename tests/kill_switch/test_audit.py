"""GET /audit shows every change to security settings: who, when, what, before and after, request id.

One story walks every audited change through the API; the log must tell it back, newest first.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.api import error_code
from tests.support.audit import audit
from tests.support.sso_world import BREAK_GLASS, SsoWorld

pytestmark = pytest.mark.integration

OWNER = {"kind": "user", "email": "owner@acme.example", "role": "owner"}


@pytest.fixture
def no_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """A verified domain whose record is gone is lost at the next check (to audit domain.lost)."""
    monkeypatch.setenv("SSO_LOST_GRACE_HOURS", "0")


def story(world: SsoWorld) -> list[tuple[str, str]]:
    """Every audited change, through the API; returns (action, target) oldest first."""
    w, d, conn = world, world.domain, None
    steps: list[tuple[str, str]] = [("sso_access.granted", world.tenant)]  # support's, when the world was made
    w.verify_domain()
    steps += [("domain.added", d), ("domain.verified", d)]
    w.create_connection()
    conn = w.connection_id
    assert w.import_idp().status == 200
    assert w.owner("PATCH", f"/connections/{conn}", {"binding": "redirect"}).status == 200
    assert w.enable().status == 200
    steps += [
        ("connection.created", conn),
        ("connection.idp_changed", conn),
        ("connection.settings_changed", conn),
        ("connection.enabled", conn),
    ]
    alice = w.invite_and_accept("alice@acme.test")["user_id"]
    boss = w.invite_and_accept(BREAK_GLASS, role="owner")["user_id"]
    steps += [("invitation.created", "inv"), ("invitation.accepted", "inv")] * 2
    assert w.login().status == 302
    assert w.owner("PUT", f"/domains/{d}/password-login", {"enabled": False}).status == 200
    steps += [("domain.password_login_changed", d)]
    assert w.owner("PUT", f"/connections/{conn}/status", {"enabled": False}).status == 200
    steps += [("domain.password_login_changed", d), ("connection.disabled", conn)]  # one transaction
    w.invite_only("temp@acme.test")
    invitation = w.owner("GET", "/invitations", query="status=pending").json()["invitations"][0]["id"]
    assert w.owner("POST", f"/invitations/{invitation}/resend").status == 200
    assert w.owner("DELETE", f"/invitations/{invitation}").status == 204
    steps += [("invitation.created", invitation), ("invitation.resent", invitation), ("invitation.revoked", invitation)]
    assert w.owner("PATCH", f"/users/{alice}", {"role": "admin", "accounts": []}).status == 200
    assert w.owner("DELETE", f"/users/{alice}").status == 204
    steps += [("user.changed", alice), ("user.removed", alice)]
    w.verify_domain("lost.test")
    w.dns.store.clear()
    assert w.owner("POST", "/domains/lost.test/verify").json()["status"] == "pending"
    assert w.owner("DELETE", "/domains/lost.test").status == 204
    steps += [
        ("domain.added", "lost.test"),
        ("domain.verified", "lost.test"),
        ("domain.lost", "lost.test"),
        ("domain.deleted", "lost.test"),
    ]
    assert boss
    return steps


def test_every_change_is_in_the_log_newest_first(no_grace: None, world: SsoWorld) -> None:
    steps = story(world)
    entries = audit(world)
    assert [e["time"] for e in entries] == sorted((e["time"] for e in entries), reverse=True)
    actions = [(e["action"], e["target"] if not e["target"].startswith("inv_") else "inv") for e in entries]
    expected = [(a, "inv" if t.startswith("inv_") else t) for a, t in reversed(steps)]
    assert actions == expected


def test_entries_say_who_when_what_before_after_and_request(no_grace: None, world: SsoWorld) -> None:
    story(world)
    entries = audit(world)
    by_action: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        by_action.setdefault(e["action"], []).append(e)
        assert e["id"] and e["time"] and e["request_id"], e  # every change here came through the API

    # Who: the caller, or the invitee for an accept (a public route: no token, the invited email).
    assert by_action["connection.enabled"][0]["actor"] == OWNER
    accepted = [e["actor"] for e in by_action["invitation.accepted"]]
    assert {"kind": "public", "email": BREAK_GLASS, "role": ""} in accepted

    # Before and after.
    restored, first_off = by_action["domain.password_login_changed"]  # newest first
    assert (first_off["before"], first_off["after"]) == ({"password_login": True}, {"password_login": False})
    assert restored["before"] == {"password_login": False}
    assert restored["after"] == {"password_login": True, "reason": "connection_disabled"}
    assert by_action["connection.disabled"][0]["before"] == {"status": "enabled"}
    assert by_action["connection.disabled"][0]["after"] == {"status": "disabled"}
    assert by_action["connection.settings_changed"][0]["after"]["binding"] == "redirect"
    assert by_action["connection.idp_changed"][0]["before"] is None
    assert by_action["connection.idp_changed"][0]["after"]["entity_id"] == world.idp_entity_id
    changed = by_action["user.changed"][0]
    assert changed["before"] == {"email": "alice@acme.test", "role": "member", "accounts": ["acct-1"]}
    assert changed["after"] == {"email": "alice@acme.test", "role": "admin", "accounts": []}
    assert by_action["user.removed"][0]["after"] is None
    resent = by_action["invitation.resent"][0]
    assert resent["after"]["sent_count"] == resent["before"]["sent_count"] + 1
    assert by_action["invitation.revoked"][0]["after"]["status"] == "revoked"
    assert by_action["domain.lost"][0]["after"]["status"] == "pending"

    # Request ids are API Gateway's, one per request: only the restore shares its request's id.
    ids = [e["request_id"] for e in entries]
    assert len(set(ids)) == len(ids) - 1
    assert restored["request_id"] == by_action["connection.disabled"][0]["request_id"]

    # Never a secret: no invitation token or its hash, no SAML, no certificate.
    text = json.dumps(entries)
    for word in ("token", "hash", "SAML", "BEGIN CERTIFICATE"):
        assert word not in text


def test_pages_of_the_log(ready: SsoWorld) -> None:
    everything = audit(ready)
    assert len(everything) == 8  # the ready world's setup, support's grant included
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10):
        query = "limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = ready.owner("GET", "/audit", query=query).json()
        assert len(body["entries"]) <= 3
        seen.extend(body["entries"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert [e["id"] for e in seen] == [e["id"] for e in everything]


@pytest.mark.parametrize(
    "query",
    ["cursor=not-a-cursor", "cursor=%25%25%25", "cursor=VVNFUiN4", "limit=0", "limit=201", "limit=ten"],
    ids=["garbage", "bad-base64", "another-item-kind", "limit-0", "limit-201", "limit-nan"],
)
def test_bad_queries_are_refused(ready: SsoWorld, query: str) -> None:
    resp = ready.owner("GET", "/audit", query=query)
    assert resp.status == 400 and error_code(resp) == "invalid_request"


def test_an_invitation_retried_with_its_key_is_audited_once(ready: SsoWorld) -> None:
    body = {"email": "jane@acme.test", "role": "member", "accounts": []}
    for _ in range(2):
        resp = ready.owner("POST", "/invitations", body, headers={"idempotency-key": "k-1"})
        assert resp.status == 201
    created = [
        e for e in audit(ready) if e["action"] == "invitation.created" and e["after"]["email"] == "jane@acme.test"
    ]
    assert len(created) == 1
    assert created[0]["after"] == {
        "email": "jane@acme.test",
        "role": "member",
        "accounts": [],
        "status": "pending",
        "expires_at": created[0]["after"]["expires_at"],
    }


def test_an_invitation_whose_mail_failed_is_audited_as_discarded(table: Any) -> None:
    from sso_core.config import Settings
    from sso_core.dal.audit import AuditLog
    from sso_core.logic.invitations import InvitationService
    from sso_core.models.identity import Caller
    from sso_core.models.invitations import CreateInvitationRequest, MailNotSent

    class BrokenMailer:
        def send(self, mail: Any) -> str:
            raise ConnectionError("SES is down")

    service = InvitationService(Settings(table_name=table.name), table, BrokenMailer())
    caller = Caller("acme", "admin@acme.example", "admin")
    with pytest.raises(MailNotSent):
        service.create(caller, CreateInvitationRequest(email="jane@acme.test", role="member"))
    entries = AuditLog(table).page("acme").entries
    assert [e.action for e in entries] == ["invitation.discarded", "invitation.created"]
    assert entries[0].target == entries[1].target
    assert entries[0].after == {"reason": "mail_not_sent"}
    assert service.list(caller).invitations == []
