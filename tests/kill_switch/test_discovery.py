"""POST /login/discover answers each row of the policy table, through the API (public route)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sso_core.logic.login_policy import PASSWORD_RESET_NOTICE
from tests.support.sso_world import BREAK_GLASS, SsoWorld

pytestmark = pytest.mark.integration


def discover(world: SsoWorld, email: str) -> dict[str, Any]:
    resp = world.api.call("POST", "/login/discover", {"email": email})
    assert resp.status == 200, resp.text
    return dict(resp.json())


def nothing(world: SsoWorld) -> str:
    return "someone@nowhere.test"


def pending(world: SsoWorld) -> str:
    assert world.owner("POST", "/domains", {"domain": "beta.test"}).status == 201
    return "bob@beta.test"


def verified_no_connection(world: SsoWorld) -> str:
    world.verify_domain("beta.test")
    return "bob@beta.test"


def verified_draft_connection(world: SsoWorld) -> str:
    world.verify_domain("beta.test")
    assert world.owner("POST", "/connections", {"domains": ["beta.test"]}).status == 201
    return "bob@beta.test"


def verification_lost(world: SsoWorld) -> str:
    # The record disappears and (grace 0 here) the next check moves the domain back to pending.
    world.dns.store.clear()
    assert world.owner("POST", f"/domains/{world.domain}/verify").json()["status"] == "pending"
    return "alice@acme.test"


def enabled(world: SsoWorld) -> str:
    return "alice@acme.test"


def enabled_password_off(world: SsoWorld) -> str:
    assert world.login().status == 302
    world.invite_and_accept(BREAK_GLASS, role="owner")
    resp = world.owner("PUT", f"/domains/{world.domain}/password-login", {"enabled": False})
    assert resp.status == 200, resp.text
    return "alice@acme.test"


def kill_switch(world: SsoWorld) -> str:
    assert world.owner("PUT", f"/connections/{world.connection_id}/status", {"enabled": False}).status == 200
    return "alice@acme.test"


def kill_switch_after_password_off(world: SsoWorld) -> str:
    enabled_password_off(world)
    return kill_switch(world)


PASSWORD = {"method": "password", "redirect_url": None, "password_allowed": True, "notice": None}
SSO_OFF = {**PASSWORD, "notice": PASSWORD_RESET_NOTICE}


def sso(password_allowed: bool) -> dict[str, Any]:
    return {"method": "sso", "redirect_url": "SIGN_IN", "password_allowed": password_allowed, "notice": None}


ROWS = [
    pytest.param(nothing, PASSWORD, id="unknown domain"),
    pytest.param(pending, PASSWORD, id="domain not verified"),
    pytest.param(verification_lost, PASSWORD, id="verification lost, connection still enabled"),
    pytest.param(verified_no_connection, PASSWORD, id="verified, no connection"),
    pytest.param(verified_draft_connection, PASSWORD, id="verified, draft connection"),
    pytest.param(enabled, sso(True), id="enabled, password on"),
    pytest.param(enabled_password_off, sso(False), id="enabled, password off"),
    pytest.param(kill_switch, SSO_OFF, id="kill switch"),
    pytest.param(kill_switch_after_password_off, SSO_OFF, id="kill switch after password off"),
]


@pytest.fixture
def no_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSO_LOST_GRACE_HOURS", "0")


@pytest.mark.parametrize(("arrange", "expected"), ROWS)
def test_discovery_row(no_grace: None, ready: SsoWorld, arrange: Callable[[SsoWorld], str], expected: dict) -> None:
    email = arrange(ready)
    body = discover(ready, email)
    if expected["redirect_url"] == "SIGN_IN":
        expected = {**expected, "redirect_url": f"{ready.sp['sign_in_url']}?email={email.replace('@', '%40')}"}
    assert body == expected


def test_the_answer_is_the_same_whether_or_not_the_user_exists(ready: SsoWorld) -> None:
    known = discover(ready, "alice@acme.test")
    unknown = discover(ready, "nobody@acme.test")
    assert known["method"] == unknown["method"] == "sso"
    assert known.keys() == unknown.keys()
    assert {k: v for k, v in known.items() if k != "redirect_url"} == {
        k: v for k, v in unknown.items() if k != "redirect_url"
    }
