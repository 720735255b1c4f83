"""The kill switch is enforced at discovery, at login start and at the ACS, from the very next request.

There is no cache: every request reads the connection from the table, so no test waits for anything.
"""

from __future__ import annotations

import pytest

from tests.support.sso_world import BREAK_GLASS, SsoWorld, code_of, reference_of

pytestmark = pytest.mark.integration


def set_sso(world: SsoWorld, enabled: bool) -> dict:
    resp = world.owner("PUT", f"/connections/{world.connection_id}/status", {"enabled": enabled})
    assert resp.status == 200, resp.text
    return dict(resp.json())


def method(world: SsoWorld, email: str = "alice@acme.test") -> str:
    return str(world.api.call("POST", "/login/discover", {"email": email}).json()["method"])


def test_discovery_goes_to_password_at_the_next_request_and_back(ready: SsoWorld) -> None:
    assert method(ready) == "sso"
    assert set_sso(ready, False) == {
        "id": ready.connection_id,
        "status": "disabled",
        "password_login_restored": [],
        "message": "",
    }
    assert method(ready) == "password"
    assert set_sso(ready, True)["status"] == "enabled"
    assert method(ready) == "sso"


def test_login_start_shows_the_unavailable_page(ready: SsoWorld) -> None:
    set_sso(ready, False)
    resp = ready.api.call("GET", f"/saml/{ready.connection_id}/login", query="email=alice%40acme.test")
    assert resp.status == 404
    assert (resp.header("content-type") or "").startswith("text/html")
    assert "Single sign-on unavailable" in resp.text
    assert not resp.header_all("set-cookie")  # no AuthnRequest was issued
    assert "SAMLRequest" not in resp.text


def test_a_response_issued_before_the_switch_is_refused_after_it(ready: SsoWorld) -> None:
    started = ready.start("alice@acme.test")
    in_flight = ready.response_b64(started.request_id, "alice@acme.test")  # the IdP answered; not posted yet
    set_sso(ready, False)
    resp = ready.post_acs(in_flight, started.cookies, started.relay_state)
    assert resp.status == 403
    assert "SSO auth failed" in resp.text
    latest = ready.trace()[0]
    assert latest["reason"] == "connection_disabled"
    assert latest["reference"] == reference_of(resp)


def test_re_enabling_lets_the_next_login_through(ready: SsoWorld) -> None:
    set_sso(ready, False)
    assert ready.api.call("GET", f"/saml/{ready.connection_id}/login", query="email=alice%40acme.test").status == 404
    set_sso(ready, True)
    code = code_of(ready.login())
    assert ready.redeem(code).json()["user"]["email"] == "alice@acme.test"
    assert ready.trace()[0]["result"] == "success"


def test_switching_sso_off_says_password_login_was_restored(ready: SsoWorld) -> None:
    assert ready.login().status == 302
    ready.invite_and_accept(BREAK_GLASS, role="owner")
    off = ready.owner("PUT", f"/domains/{ready.domain}/password-login", {"enabled": False})
    assert off.status == 200 and off.json()["password_login"] is False
    assert ready.owner("GET", f"/domains/{ready.domain}").json()["password_login"] is False

    out = set_sso(ready, False)
    assert out["status"] == "disabled"
    assert out["password_login_restored"] == [ready.domain]
    assert ready.domain in out["message"]
    assert ready.owner("GET", f"/domains/{ready.domain}").json()["password_login"] is True
    body = ready.api.call("POST", "/login/discover", {"email": "alice@acme.test"}).json()
    assert body["method"] == "password" and body["password_allowed"] is True and body["notice"]
    # Re-enabling SSO leaves password login on: switching it off again is a decision of its own.
    set_sso(ready, True)
    assert ready.owner("GET", f"/domains/{ready.domain}").json()["password_login"] is True


def test_switching_to_the_current_state_changes_nothing(ready: SsoWorld) -> None:
    out = set_sso(ready, True)
    assert out["status"] == "enabled" and out["message"] == "No change."
    same = ready.owner("PUT", f"/domains/{ready.domain}/password-login", {"enabled": True})
    assert same.status == 200 and same.json() == {
        "domain": ready.domain,
        "password_login": True,
        "message": "No change.",
    }


def test_a_response_refused_while_off_stays_refused_after_re_enabling(ready: SsoWorld) -> None:
    """The login started before the switch: once SSO is back on, the same response must not become good."""
    started = ready.start()
    saml_response = ready.response_b64(started.request_id)
    set_sso(ready, False)
    first = ready.post_acs(saml_response, started.cookies, started.relay_state)
    assert ready.trace()[0] | {"reference": reference_of(first)} == ready.trace()[0]
    assert ready.trace()[0]["reason"] == "connection_disabled"
    set_sso(ready, True)
    again = ready.post_acs(saml_response, started.cookies, started.relay_state)
    assert again.status in (400, 403)
    assert "SSO auth failed" in again.text
    assert ready.trace()[0]["reference"] == reference_of(again)
    assert ready.trace()[0]["reason"] == "request_before_enable"
    assert code_of(ready.login()).strip()  # a login started now works


def test_a_code_issued_before_the_switch_is_not_redeemed_after_it(ready: SsoWorld) -> None:
    code = code_of(ready.login())
    set_sso(ready, False)
    resp = ready.redeem(code)
    assert resp.status == 400
    assert resp.json()["error"]["code"] == "invalid_code"
