"""The application's sign-in page the local stack plays (`/_local/app/`), in headless Chromium (issue 16).

The help pages end with: in a clean browser session, go to the application, enter an assigned user's email and
click Continue. This is that, with real clicks, through discovery, the demo IdP and the callback's profile.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sso_local.cli import WALK_EMAIL, WALK_PASSWORD
from tests.support.browser import screenshot
from tests.support.walk import Ready, http, make_ready

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


@pytest.fixture
def ready(stack: Any) -> Ready:
    token = stack.authority.issue("acme", "owner@acme.test", "owner", ["acct-main"])
    return make_ready(stack.url, token, stack.outbox)


def _csp_violations(page: Any) -> list[str]:
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    return found


def test_from_the_app_sign_in_page_to_the_profile(ready: Ready, page: Any) -> None:
    violations = _csp_violations(page)
    response = page.goto(f"{ready.url}/_local/app/")
    assert response is not None and response.status == 200
    csp = response.header_value("content-security-policy") or ""
    assert "default-src 'none'" in csp and "script-src" not in csp and "unsafe-inline" not in csp
    # Accessible: the field is found by its label, the button by its role and name.
    email = page.get_by_label("Work email")
    _expect()(email).to_have_attribute("type", "email")
    email.fill(WALK_EMAIL)
    screenshot(page, "10-app-sign-in")
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/_local/idp/sso")  # discovery said sso: the service's start page posted to the IdP
    _expect()(page.locator("h1")).to_have_text("Sign in")
    page.fill("#email", WALK_EMAIL)
    page.fill("#password", WALK_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{ready.url}/_local/app/callback?code=*")
    _expect()(page.locator("h1")).to_have_text("Signed in")
    screenshot(page, "11-app-profile")
    profile = json.loads(page.inner_text("#profile"))
    assert profile["user"]["email"] == WALK_EMAIL and profile["user"]["tenant_id"] == "acme"
    assert profile["connection_id"] == ready.connection_id
    assert violations == []


def test_an_email_without_sso_gets_the_password_step(ready: Ready, page: Any) -> None:
    page.goto(f"{ready.url}/_local/app/")
    page.get_by_label("Work email").fill("someone@elsewhere.example")
    page.get_by_role("button", name="Continue").click()
    _expect()(page.locator("h1")).to_have_text("Password sign-in")
    assert "password sign-in would follow here" in page.inner_text("#method")
    assert page.locator("#notice").count() == 0


def test_after_sso_is_switched_off_the_page_shows_the_notice(ready: Ready, page: Any) -> None:
    revoked = http("POST", f"{ready.url}/_local/access", {"action": "revoke", "tenant_id": "acme"})
    assert revoked.status == 200, revoked.text
    page.goto(f"{ready.url}/_local/app/")
    page.get_by_label("Work email").fill(WALK_EMAIL)
    page.get_by_role("button", name="Continue").click()
    _expect()(page.locator("h1")).to_have_text("Password sign-in")
    assert "Forgot password" in page.inner_text("#notice")
    screenshot(page, "12-app-password-after-revoke")


@pytest.mark.parametrize("body", [b"", b"email=", b"email=not-an-address", b"email=" + b"a" * 400 + b"@x.example"])
def test_bad_input_gets_the_form_back_with_a_400(ready: Ready, body: bytes) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{ready.url}/_local/app/",
        data=body,
        method="POST",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 400
    page = raised.value.read().decode()
    assert "role='alert'" in page and "Work email" in page and "Traceback" not in page
