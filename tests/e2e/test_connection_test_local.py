"""Test connection over HTTP against the local stack, through the demo IdP as a browser would: a test while the
connection is off succeeds and issues no code; a test cannot be finished in another browser; a refused test shows
its reason; a successful test lets the owner switch password login off."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sso_core.models.login_outcomes import REFUSALS, Refusal
from sso_core.saml.certificates import generate_sp_keypair
from sso_local.cli import WALK_EMAIL, WALK_PASSWORD
from tests.support.walk import (
    Http,
    Ready,
    form_action,
    hidden_fields,
    http,
    make_ready,
    newest_accept_link,
    set_cookies,
)

pytestmark = pytest.mark.integration

ADMIN = "admin@acme.test"


@pytest.fixture
def ready(stack: Any) -> Ready:
    token = stack.authority.issue("acme", "owner@acme.test", "owner", ["acct-main"])
    return make_ready(stack.url, token, stack.outbox)


def _admin(stack: Any) -> str:
    return str(stack.authority.issue("acme", ADMIN, "admin", ["acct-main"]))


class Browser:
    """One browser's cookies for the service (the binding cookie and the test mark), as it would keep them."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def open_test(self, stack: Any, ready: Ready) -> dict[str, str]:
        """Ask for a test link (as the admin), open it: the auto-POST fields for the IdP."""
        link = http("POST", f"{ready.url}/connections/{ready.connection_id}/test", token=_admin(stack))
        assert link.status == 200, link.text
        page = http("GET", link.json()["redirect_url"])
        assert page.status == 200, page.text
        assert form_action(page.text) == f"{ready.url}/_local/idp/sso"
        self.cookies.update(set_cookies(page))
        return hidden_fields(page.text)


def _sign_in_at_idp(ready: Ready, fields: dict[str, str], email: str, password: str) -> dict[str, str]:
    """The demo IdP's part: the sign-in form, then the auto-POST fields for the ACS (SAMLResponse)."""
    pending = hidden_fields(http("POST", f"{ready.url}/_local/idp/sso", form=fields).text)
    answer = http("POST", f"{ready.url}/_local/idp/login", form={**pending, "email": email, "password": password})
    assert answer.status == 200, answer.text
    assert form_action(answer.text) == f"{ready.url}/saml/{ready.connection_id}/acs"
    return hidden_fields(answer.text)


def _post_acs(ready: Ready, posted: dict[str, str], browser: Browser) -> Http:
    return http("POST", f"{ready.url}/saml/{ready.connection_id}/acs", form=posted, cookies=browser.cookies)


def _status(ready: Ready, enabled: bool) -> None:
    path = f"{ready.url}/connections/{ready.connection_id}/status"
    assert http("PUT", path, {"enabled": enabled}, token=ready.token).status == 200


def _trace_of(ready: Ready, resp: Http) -> dict[str, Any]:
    reference = re.search(r"SSO-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}", resp.text)
    assert reference, resp.text[:500]
    return ready.trace(reference.group(0))


def test_a_test_while_disabled_shows_success_and_issues_no_code(stack: Any, ready: Ready) -> None:
    _status(ready, False)
    browser = Browser()
    fields = browser.open_test(stack, ready)
    assert {"sso_test"} <= set(browser.cookies) and any(n.startswith("sso_rq_") for n in browser.cookies)
    resp = _post_acs(ready, _sign_in_at_idp(ready, fields, WALK_EMAIL, WALK_PASSWORD), browser)
    assert resp.status == 200, resp.text[:500]
    assert "Connection test passed" in resp.text and WALK_EMAIL in resp.text
    assert resp.header("location") is None and "code=" not in resp.text
    assert all("Max-Age=0" in c for c in resp.headers.get("set-cookie", []))
    entry = _trace_of(ready, resp)
    assert (entry["result"], entry["test"], entry["started_by"]) == ("success", True, ADMIN)
    conn = http("GET", f"{ready.url}/connections/{ready.connection_id}", token=ready.token).json()
    assert conn["status"] == "disabled" and conn["test_success_at"]


def test_a_test_started_in_one_browser_cannot_be_finished_in_another(stack: Any, ready: Ready) -> None:
    first, second = Browser(), Browser()
    posted = _sign_in_at_idp(ready, first.open_test(stack, ready), WALK_EMAIL, WALK_PASSWORD)
    second.open_test(stack, ready)  # another admin's browser, with a test of its own
    elsewhere = _post_acs(ready, posted, second)
    assert "Connection test passed" not in elsewhere.text
    entry = _trace_of(ready, elsewhere)
    assert entry["reason"] in (Refusal.BROWSER_BINDING_MISSING, Refusal.REQUEST_OTHER_BROWSER)
    nowhere = _post_acs(ready, posted, Browser())  # a browser with no cookie at all
    assert nowhere.status == 400 and "SSO auth failed" in nowhere.text
    # Nothing was used up: the browser that started the test finishes it.
    finished = _post_acs(ready, posted, first)
    assert finished.status == 200 and "Connection test passed" in finished.text


def test_a_refused_test_shows_the_reason(stack: Any, ready: Ready) -> None:
    # The connection holds another certificate than the demo IdP signs with: a classic set-up mistake.
    _, other_cert = generate_sp_keypair("not-the-idp", datetime.now(UTC))
    idp = http("GET", f"{ready.url}/connections/{ready.connection_id}", token=ready.token).json()["idp"]
    fields = {"entity_id": idp["entity_id"], "sso_url": idp["sso_url"], "certificates": [other_cert]}
    changed = http("PUT", f"{ready.url}/connections/{ready.connection_id}/idp", fields, token=ready.token)
    assert changed.status == 200, changed.text
    browser = Browser()
    resp = _post_acs(ready, _sign_in_at_idp(ready, browser.open_test(stack, ready), WALK_EMAIL, WALK_PASSWORD), browser)
    assert resp.status == 400 and "Connection test failed" in resp.text
    entry = _trace_of(ready, resp)
    reason = Refusal(entry["reason"])
    assert reason in (Refusal.UNKNOWN_CERTIFICATE, Refusal.SIGNATURE_INVALID)
    text = unescape(resp.text)
    assert REFUSALS[reason].sentence in text and REFUSALS[reason].fix in text
    assert (entry["test"], entry["started_by"]) == (True, ADMIN)


def test_a_successful_test_lets_the_owner_switch_password_login_off(stack: Any, ready: Ready) -> None:
    invited = http(
        "POST",
        f"{ready.url}/invitations",
        {"email": "boss@acme.test", "role": "owner", "accounts": ["acct-main"]},
        token=ready.token,
    )
    assert invited.status == 201, invited.text
    token_value = parse_qs(urlsplit(newest_accept_link(stack.outbox)).query)["token"][0]
    assert http("POST", f"{ready.url}/invitations/accept", {"token": token_value}).status == 200
    switch = f"{ready.url}/domains/example.com/password-login"
    blocked = http("PUT", switch, {"enabled": False}, token=ready.token)
    assert blocked.status == 409 and blocked.json()["error"]["code"] == "sso_not_proven"
    browser = Browser()
    resp = _post_acs(
        ready, _sign_in_at_idp(ready, browser.open_test(stack, ready), "bob@example.com", "bob-demo"), browser
    )
    assert resp.status == 200 and "Connection test passed" in resp.text  # bob was never invited
    allowed = http("PUT", switch, {"enabled": False}, token=ready.token)
    assert allowed.status == 200, allowed.text
    assert allowed.json()["password_login"] is False
