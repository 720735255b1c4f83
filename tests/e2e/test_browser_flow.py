"""The whole flow in headless Chromium: what unit tests cannot prove about the browser's part.

The auto-submitting POST forms (the service's to the IdP, the IdP's to the ACS), the binding cookie
(``Secure; HttpOnly; SameSite=None``) set at the login start and presented at the ACS, the redirects, and the
pages a browser shows when something is refused. Screenshots go to ``test-output/screenshots/``.

Chromium treats http://127.0.0.1 as a potentially trustworthy origin: it stores and sends ``Secure`` cookies
there, so the local stack needs no TLS for the binding cookie (checked below on every login).
"""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import parse_qs

import pytest

from sso_local.cli import WALK_EMAIL, WALK_PASSWORD
from tests.support.browser import screenshot
from tests.support.walk import Ready, http, make_ready, run_walk

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _binding_cookies(page: Any) -> list[dict[str, Any]]:
    return [c for c in page.context.cookies() if c["name"].startswith("sso_rq_")]


def _to_idp_sign_in(page: Any, sign_in_url: str) -> None:
    """The sign-in URL: the service's page auto-POSTs the AuthnRequest to the demo IdP, which asks who you are."""
    page.goto(sign_in_url)
    page.wait_for_url("**/_local/idp/sso")
    _expect()(page.locator("h1")).to_have_text("Sign in")


def _sign_in(page: Any, email: str = WALK_EMAIL, password: str = WALK_PASSWORD) -> None:
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")


def _failure_page(page: Any) -> str:
    """The ACS's refusal page: "SSO auth failed" and a reference, never a stack trace. Returns the reference."""
    _expect()(page.locator("h1")).to_have_text("SSO auth failed")
    body = page.inner_text("body")
    assert "Traceback" not in body and "Error:" not in body and 'File "' not in body
    reference = page.inner_text("#reference")
    assert reference.startswith("SSO-")
    return reference


def test_newcomer_walk_signs_in_through_the_demo_idp(sso_local_run, page, tmp_path):
    """`sso-local run`'s printed walk pasted into bash, then its browser steps with real clicks."""
    url = sso_local_run.url
    walk = run_walk(sso_local_run.printed, tmp_path)
    conn = walk.last_line(5)
    accept_link = walk.last_line(9)
    discovery = walk.json(10)
    assert discovery["method"] == "sso"

    # 9. The accept link from the outbox, in the browser.
    page.goto(accept_link)
    _expect()(page.locator("h1")).to_have_text("Join acme")
    page.click("text=Accept the invitation")
    _expect()(page.locator("h1")).to_have_text("You have joined acme")
    screenshot(page, "00-invitation-accepted")

    # 10. The sign-in URL from discovery: login start -> demo IdP -> ACS -> the application's callback.
    starts: list[Any] = []
    acs_requests: list[Any] = []
    page.on("response", lambda r: starts.append(r) if f"/saml/{conn}/login" in r.url else None)
    page.on("request", lambda r: acs_requests.append(r) if r.url == f"{url}/saml/{conn}/acs" else None)
    _to_idp_sign_in(page, discovery["redirect_url"])
    assert len(_binding_cookies(page)) == 1
    cookie = _binding_cookies(page)[0]
    assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (True, True, "None")
    assert cookie["path"] == f"/saml/{conn}/acs"
    set_cookie = starts[0].header_value("set-cookie") or ""
    assert "SameSite=None" in set_cookie and "Secure" in set_cookie and "HttpOnly" in set_cookie
    screenshot(page, "01-idp-sign-in")

    _sign_in(page, WALK_EMAIL, "not-the-password")
    _expect()(page.locator(".error")).to_have_text("Wrong email or password.")
    _sign_in(page)
    page.wait_for_url(f"{url}/_local/app/callback?code=*")
    _expect()(page.locator("h1")).to_have_text("Signed in")
    screenshot(page, "02-callback-profile")
    profile = json.loads(page.inner_text("#profile"))
    assert profile["user"]["email"] == WALK_EMAIL
    assert profile["user"]["tenant_id"] == "acme"
    assert profile["user"]["role"] == "member"
    assert profile["user"]["accounts"] == ["acct-main"]
    assert profile["connection_id"] == conn
    assert profile["attributes"]["given_name"] == "Alice"
    assert profile["attributes"]["idp_entity_id"] == f"{url}/_local/idp"
    # The IdP's form posted cross-site with the binding cookie, and the ACS expired it once used.
    assert len(acs_requests) == 1
    posted = acs_requests[0]
    assert posted.method == "POST" and cookie["name"] + "=" in (posted.header_value("cookie") or "")
    assert _binding_cookies(page) == []

    # A replayed POST: the same SAMLResponse form submitted again by the browser.
    fields = {k: v[0] for k, v in parse_qs(posted.post_data or "").items()}
    assert set(fields) == {"SAMLResponse", "RelayState"}
    inputs = "".join(f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in fields.items())
    page.goto("about:blank")
    page.set_content(f'<form method="post" action="{url}/saml/{conn}/acs">{inputs}<button>Post again</button></form>')
    page.click("button")
    reference = _failure_page(page)
    screenshot(page, "04-error-replayed")
    ready = Ready(url, sso_local_run.owner_token, conn)
    assert ready.trace(reference)["reason"] == "replayed"


@pytest.fixture
def ready(stack) -> Ready:
    token = stack.authority.issue("acme", "owner@acme.test", "owner", ["acct-main"])
    return make_ready(stack.url, token, stack.outbox)


def test_login_without_its_binding_cookie_is_refused(ready, page):
    _to_idp_sign_in(page, ready.sign_in_url)
    assert len(_binding_cookies(page)) == 1
    page.context.clear_cookies()  # as if another browser, or a forged cross-site login, reached the ACS
    _sign_in(page)
    reference = _failure_page(page)
    assert "/_local/app/callback" not in page.url
    screenshot(page, "03-error-missing-cookie")
    assert ready.trace(reference)["reason"] == "browser_binding_missing"


def test_disabled_connection_refuses_in_flight_logins_and_new_ones(ready, page):
    _to_idp_sign_in(page, ready.sign_in_url)  # started while enabled
    disabled = http(
        "PUT", f"{ready.url}/connections/{ready.connection_id}/status", {"enabled": False}, token=ready.token
    )
    assert disabled.status == 200 and disabled.json()["status"] == "disabled"
    _sign_in(page)
    reference = _failure_page(page)
    screenshot(page, "05-error-connection-disabled")
    assert ready.trace(reference)["reason"] == "connection_disabled"

    page.context.clear_cookies()
    response = page.goto(ready.sign_in_url)
    assert response is not None and response.status >= 400
    _expect()(page.locator("h1")).to_have_text("Single sign-on unavailable")
    assert "Traceback" not in page.inner_text("body")
    screenshot(page, "06-sso-unavailable-disabled")
    assert _binding_cookies(page) == []  # no login started
    discovery = http("POST", f"{ready.url}/login/discover", {"email": WALK_EMAIL})
    assert discovery.status == 200 and discovery.json()["method"] == "password"
