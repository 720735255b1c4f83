"""Support revoking access while SSO is on is a kill switch (issue 16): one transaction switches the connection
off and password login back on, logins under way and codes not yet redeemed stop, owners are told, all audited."""

from __future__ import annotations

import threading
from email import message_from_bytes
from email.policy import default as email_policy
from pathlib import Path
from typing import Any

import pytest

from sso_core.config import get_settings
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.logins import LoginStateRepository
from sso_core.dal.sso_access import EntitlementRepository
from sso_core.dal.table import Table
from sso_core.logic.kill_switches import KillSwitchService
from sso_core.logic.sso_access import SsoAccessService
from sso_core.models.connections import ConnectionStatus
from sso_core.models.errors import DomainError
from sso_core.models.identity import Caller
from tests.support.sso_access_people import BREAK_GLASS, SECOND_OWNER
from tests.support.sso_world import SsoWorld, code_of, reference_of

pytestmark = pytest.mark.integration

SUBJECT = "Enterprise SSO was switched off for acme"


def mails(outbox: Path) -> list[Any]:
    return [message_from_bytes(p.read_bytes(), policy=email_policy) for p in sorted(outbox.glob("*.eml"))]


def revocation_mails(outbox: Path) -> list[Any]:
    return [m for m in mails(outbox) if m["Subject"] == SUBJECT]


def test_revoke_while_enabled_ends_sso_at_once(proven: SsoWorld) -> None:
    world = proven
    table = Table(get_settings().table_name)
    in_flight = world.start()  # a login started before the revocation ...
    unredeemed = code_of(world.login())  # ... and a code issued before it, not yet redeemed

    answer = world.support("revoke", reason="contract ended")
    assert answer["status"] == 200, answer
    out = answer["access"]
    assert out["access"] == "revoked" and out["revoked_by"] == "support@vendor.example" and out["revoked_at"]
    assert out["connections_disabled"] == [world.connection_id]
    assert out["password_login_restored"] == [world.domain]
    assert out["owners_notified"] == 2

    # The connection is off and password login is back, for good.
    conn = ConnectionRepository(table).get(world.connection_id)
    assert conn is not None and conn.status is ConnectionStatus.DISABLED
    domain = world.owner("GET", f"/domains/{world.domain}").json()
    assert domain["password_login"] is True
    found = world.api.call("POST", "/login/discover", {"email": "alice@acme.test"}).json()
    assert (found["method"], found["password_allowed"], found["redirect_url"]) == ("password", True, None)
    assert found["notice"]

    # The login under way is refused at the ACS, with the reason in the trace.
    refused = world.post_acs(world.response_b64(in_flight.request_id), in_flight.cookies, in_flight.relay_state)
    reference = reference_of(refused)
    assert refused.status != 302
    trace = LoginStateRepository(table).trace_by_reference(world.connection_id, reference)
    assert trace is not None and trace.reason == "sso_not_available"
    # The code issued before it is worthless; a new login cannot start.
    redeemed = world.redeem(unredeemed)
    assert (redeemed.status, redeemed.json()["error"]["code"]) == (400, "invalid_code")
    start = world.api.call("GET", f"/saml/{world.connection_id}/login", query="email=alice%40acme.test")
    assert start.status >= 400 and not start.header_all("set-cookie")

    # Each owner membership is told; the member is not.
    told = revocation_mails(world.outbox)
    assert sorted(str(m["To"]) for m in told) == sorted([BREAK_GLASS, SECOND_OWNER])
    text = told[0].get_body(("plain",)).get_content()
    assert world.connection_id in text and world.domain in text and "Forgot password" in text

    # Audited, as support, in the tenant's log.
    entries = world.owner("GET", "/audit", query="limit=20").json()["entries"]
    support = {"kind": "support", "email": "support@vendor.example", "role": "support"}
    mine = [(e["action"], e["target"], e["after"]) for e in entries if e["actor"] == support]
    assert ("sso_access.revoked", "acme") in [(a, t) for a, t, _ in mine]
    assert ("connection.disabled", world.connection_id, {"status": "disabled", "reason": "sso_access_revoked"}) in mine
    assert (
        "domain.password_login_changed",
        world.domain,
        {"password_login": True, "reason": "sso_access_revoked"},
    ) in (mine)
    revoked = next(e for e in entries if e["action"] == "sso_access.revoked")
    assert revoked["after"] == {
        "status": "revoked",
        "reason": "contract ended",
        "connections_disabled": [world.connection_id],
    }

    # The owner cannot switch it back on; a second revocation changes nothing and mails nobody.
    again = world.enable()
    assert (again.status, again.json()["error"]["code"]) == (403, "sso_not_available")
    assert world.support("revoke")["access"]["message"] == "No change."
    assert len(revocation_mails(world.outbox)) == 2

    # Granted again, the owner turns SSO back on and users sign in.
    assert world.support("grant", plan="contract")["status"] == 200
    assert world.enable().status == 200
    assert world.login().status == 302


def test_revoke_without_enabled_connection_still_tells_owners(proven: SsoWorld) -> None:
    world = proven
    assert world.owner("PUT", f"/connections/{world.connection_id}/status", {"enabled": False}).status == 200
    out = world.support("revoke")["access"]
    assert out["connections_disabled"] == [] and out["password_login_restored"] == []
    assert len(revocation_mails(world.outbox)) == 2
    # Switching off is always allowed, even without access.
    assert world.owner("PUT", f"/connections/{world.connection_id}/status", {"enabled": False}).status == 200


def test_a_failed_revocation_leaves_everything_as_it_was(proven: SsoWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """The transaction fails (a connection item changed under it, every retry): nothing is half-written."""
    world = proven
    table = Table(get_settings().table_name)
    before = EntitlementRepository(table).get(world.tenant)

    def always_stale(self: KillSwitchService, actor: Any, conn: Any, now: Any, reason: str = "") -> Any:
        stale = conn.model_copy(update={"status": ConnectionStatus.DRAFT})  # a status the item never has
        return original(self, actor, stale, now, reason)

    original = KillSwitchService.disable_ops
    monkeypatch.setattr(KillSwitchService, "disable_ops", always_stale)
    with pytest.raises(DomainError) as raised:
        SsoAccessService(get_settings(), table).revoke(world.tenant, "support@vendor.example")
    assert raised.value.code == "concurrent_change"
    assert EntitlementRepository(table).get(world.tenant) == before
    conn = ConnectionRepository(table).get(world.connection_id)
    assert conn is not None and conn.status is ConnectionStatus.ENABLED
    assert world.owner("GET", f"/domains/{world.domain}").json()["password_login"] is False
    assert revocation_mails(world.outbox) == []
    assert not [e for e in world.owner("GET", "/audit").json()["entries"] if e["action"] == "sso_access.revoked"]


def test_revoke_racing_the_owner_enabling_never_leaves_sso_on_without_access(server_world: SsoWorld) -> None:
    """Against the moto server over HTTP: support revokes while owners keep switching SSO on. Whoever wins, a tenant
    without access never ends with an enabled connection."""
    world = server_world
    name = get_settings().table_name
    owner = Caller(tenant_id=world.tenant, email="owner@acme.example", role="owner")
    for _ in range(4):
        assert world.support("grant", plan="contract")["status"] == 200
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def enable() -> None:
            service = KillSwitchService(get_settings(), Table(name))
            barrier.wait()
            for _ in range(3):
                try:
                    service.set_connection_status(owner, world.connection_id, True)
                except DomainError as exc:
                    if exc.code not in ("sso_not_available", "concurrent_change"):
                        errors.append(exc)

        def revoke() -> None:
            barrier.wait()
            try:
                SsoAccessService(get_settings(), Table(name)).revoke(world.tenant, "support@vendor.example")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=enable) for _ in range(3)] + [threading.Thread(target=revoke)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        table = Table(name)
        entitlement = EntitlementRepository(table).get(world.tenant)
        conn = ConnectionRepository(table).get(world.connection_id)
        assert entitlement is not None and entitlement.status == "revoked"
        assert conn is not None and conn.status is not ConnectionStatus.ENABLED
