"""The admin console in headless Chromium: an owner opens the console link and does the setup only by clicking and
typing, a user then signs in through discovery (the application's sign-in page) and the demo IdP, the owner finds
that login in the trace, edits and removes members, and creates a SCIM token; tenant B's owner cannot reach tenant
A's pages or actions. axe-core checks every page the walks visit; screenshots at 1280 and 390 px go to
test-output/screenshots/console/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sso_local.cli import WALK_EMAIL, WALK_PASSWORD
from sso_local.template import REPO_ROOT
from tests.console.test_console_http import _verified_connection
from tests.support.walk import newest_accept_link

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SHOTS = REPO_ROOT / "test-output" / "screenshots" / "console"
BLOCKING = ("serious", "critical")


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


class Visits:
    """axe-core on every page visited (no serious or critical violation), screenshots at both widths."""

    def __init__(self) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        self.seen: list[str] = []
        SHOTS.mkdir(parents=True, exist_ok=True)

    def check(self, page: Any, name: str) -> None:
        results = self.axe.run(page)
        blocking = [v for v in results.response["violations"] if v.get("impact") in BLOCKING]
        assert not blocking, f"{name}: " + json.dumps(
            [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]} for v in blocking],
            indent=1,
        )
        size = page.viewport_size
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=str(SHOTS / f"{len(self.seen):02d}-{name}-{width}.png"), full_page=True)
        page.set_viewport_size(size)
        self.seen.append(name)


def _post_json(page: Any, url: str, data: dict[str, Any]) -> None:
    resp = page.request.post(url, data=json.dumps(data), headers={"content-type": "application/json"})
    assert resp.status == 201, resp.text()


def _txt_record(page: Any, domain: str) -> tuple[str, str]:
    card = page.locator(f'article[id="domain-{domain}"]')
    codes = card.locator("dd code")
    return codes.nth(0).inner_text(), codes.nth(1).inner_text()


def test_owner_sets_up_sso_in_the_console_and_a_user_signs_in(console_stack, browser_context, tmp_path: Path):
    expect = _expect()
    stack = console_stack
    visits = Visits()
    owner = browser_context.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    owner.set_default_timeout(20_000)
    page = owner.new_page()

    # Sign in: the printed link goes through the local issuer and lands on Domains, signed in.
    page.goto(stack.console_link("acme", "owner@acme.test", "owner", ["acct-main"]))
    expect(page.locator("h1")).to_have_text("Domains")
    cookie = next(c for c in owner.cookies() if c["name"] == "__Host-console")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    visits.check(page, "domains-empty")

    # Connect domain -> In Review, with the TXT record to publish.
    page.get_by_label("Domain", exact=True).fill("example.com")
    page.get_by_role("button", name="Submit").click()
    card = page.locator('article[id="domain-example.com"]')
    expect(card.locator(".badge")).to_have_text("In Review")
    visits.check(page, "domains-in-review")

    # A wrong value first: the page says what was found against what was expected.
    name, value = _txt_record(page, "example.com")
    _post_json(page, f"{stack.url}/_local/dns", {"name": name, "value": "sso-domain-verification=wrong"})
    card.get_by_role("button", name="Check DNS").click()
    expect(page.locator('article[id="domain-example.com"] .check')).to_contain_text(
        'found "sso-domain-verification=wrong", but expected'
    )
    visits.check(page, "domains-wrong-record")

    # The right record: "Check DNS" -> Verified.
    page.request.delete(f"{stack.url}/_local/dns")
    _post_json(page, f"{stack.url}/_local/dns", {"name": name, "value": value})
    page.locator('article[id="domain-example.com"]').get_by_role("button", name="Check DNS").click()
    expect(page.locator('article[id="domain-example.com"] .badge')).to_have_text("Verified")

    # Manage -> the SSO configuration, with the values to copy.
    page.locator('article[id="domain-example.com"]').get_by_role("button", name="Manage").click()
    expect(page.locator("h1")).to_have_text("SSO configuration")
    for label in ("Entity ID", "Reply URL (ACS)", "Sign-in URL"):
        expect(page.locator("dt", has_text=label)).to_be_visible()
    expect(page.get_by_label("Signed request (POST)")).to_be_checked()
    visits.check(page, "sso-configuration")
    connection_id = page.url.rsplit("/", 1)[-1]

    # A bad metadata file is refused in words.
    bad = tmp_path / "broken.xml"
    bad.write_text("<EntityDescriptor>not closed")
    page.get_by_label("Federation metadata XML file").set_input_files(str(bad))
    page.get_by_role("button", name="Import identity provider").click()
    expect(page.get_by_role("alert")).to_be_visible()
    visits.check(page, "sso-configuration-bad-metadata")

    # Import the demo IdP by uploading its metadata file.
    metadata = tmp_path / "demo-idp-metadata.xml"
    metadata.write_bytes(page.request.get(f"{stack.url}/_local/idp/metadata").body())
    page.get_by_label("Federation metadata XML file").set_input_files(str(metadata))
    page.get_by_role("button", name="Import identity provider").click()
    expect(page.get_by_role("status")).to_contain_text("The identity provider was imported.")

    # Enable Enterprise SSO.
    page.get_by_role("button", name="Enable Enterprise SSO").click()
    expect(page.get_by_role("button", name="Disable Enterprise SSO")).to_be_visible()
    visits.check(page, "sso-configuration-enabled")

    # Invite a user.
    page.get_by_role("link", name="Users").click()
    expect(page.locator("h1")).to_have_text("Users")
    page.get_by_label("Email").fill(WALK_EMAIL)
    page.get_by_label("Role").select_option("member")
    page.get_by_label("Accounts (comma-separated)").fill("acct-main")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text(f"Invitation sent: {WALK_EMAIL}")
    visits.check(page, "users")

    # The user, in a browser of their own: accepts the invitation from the outbox, signs in through the demo IdP.
    user = browser_context.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    user.set_default_timeout(20_000)
    user_page = user.new_page()
    user_page.goto(newest_accept_link(stack.outbox))
    user_page.get_by_role("button", name="Accept the invitation").click()
    expect(user_page.locator("h1")).to_contain_text("You have joined")
    # Through discovery, as a user would: the application's sign-in page, their email, routed to the demo IdP.
    user_page.goto(f"{stack.url}/_local/app/")
    user_page.get_by_label("Work email").fill(WALK_EMAIL)
    user_page.get_by_role("button", name="Continue").click()
    user_page.wait_for_url("**/_local/idp/sso**")
    user_page.fill("#email", WALK_EMAIL)
    user_page.fill("#password", WALK_PASSWORD)
    user_page.click("button[type=submit]")
    expect(user_page.locator("h1")).to_have_text("Signed in")
    assert user_page.url.startswith(f"{stack.url}/_local/app/callback?")
    user.close()

    # The owner finds that login in the trace.
    page.goto(f"{stack.url}/console/connections/{connection_id}")
    page.get_by_role("link", name="Login trace of this connection").click()
    expect(page.locator("article.trace.ok").first).to_contain_text("Signed in")
    visits.check(page, "login-trace")

    # Edit the user by clicking: member -> admin, and the accounts kept.
    page.get_by_role("link", name="Users").click()
    page.get_by_role("link", name=f"Edit {WALK_EMAIL}").click()
    expect(page.locator("h1")).to_have_text("Edit member")
    page.get_by_label("Role").select_option("admin")
    visits.check(page, "user-edit")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text(f"Saved: {WALK_EMAIL} is admin, accounts acct-main.")

    # Provisioning (SCIM): the base URL to copy, a token created and shown once.
    page.get_by_role("link", name="Provisioning").click()
    expect(page.locator("h1")).to_have_text("Provisioning (SCIM)")
    expect(page.locator("dd code").first).to_have_text(f"{stack.url}/scim/v2")
    page.get_by_role("button", name="Create SCIM token").click()
    expect(page.locator("#token-value")).to_contain_text("scim_")
    expect(page.get_by_role("button", name="Revoke SCIM token")).to_be_visible()
    visits.check(page, "provisioning-token")

    # Security: disable username and password for the domain (the rule is explained before the click).
    page.get_by_role("link", name="Security").click()
    expect(page.locator("h1")).to_have_text("Security")
    expect(page.get_by_text("A break-glass owner:")).to_be_visible()
    page.get_by_role("button", name="Disable username and password").click()
    expect(page.get_by_role("alert")).to_contain_text("owner whose email is outside this domain")
    visits.check(page, "security-refused")
    # The break-glass rule met: a second owner outside example.com, invited and accepted; SSO proven above.
    page.get_by_role("link", name="Users").click()
    page.get_by_label("Email").fill("breakglass@acme.test")
    page.get_by_label("Role").select_option("owner")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text("Invitation sent: breakglass@acme.test")
    other = browser_context.new_context()
    accept = other.new_page()
    accept.goto(newest_accept_link(stack.outbox))
    accept.get_by_role("button", name="Accept the invitation").click()
    expect(accept.locator("h1")).to_contain_text("You have joined")
    other.close()
    page.get_by_role("link", name="Security").click()
    page.get_by_role("button", name="Disable username and password").click()
    expect(page.get_by_role("status")).to_contain_text("switched off")
    expect(page.get_by_role("button", name="Allow username and password again")).to_be_visible()
    visits.check(page, "security")

    # Remove by clicking, with a confirmation step: the last break-glass owner is refused in words, a member goes.
    page.get_by_role("link", name="Users").click()
    page.get_by_role("link", name="Remove breakglass@acme.test").click()
    expect(page.locator("h1")).to_have_text("Remove member")
    visits.check(page, "user-remove-confirm")
    page.get_by_role("button", name="Remove member").click()
    expect(page.get_by_role("alert")).to_contain_text("last owner who signs in with a password")
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("link", name=f"Remove {WALK_EMAIL}").click()
    page.get_by_role("button", name="Remove member").click()
    expect(page.get_by_role("status")).to_contain_text(f"Removed: {WALK_EMAIL}")
    expect(page.get_by_role("link", name=f"Edit {WALK_EMAIL}")).to_have_count(0)
    visits.check(page, "users-removed")

    # The audit log: newest first.
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("tbody tr").first).to_contain_text("user.removed")
    expect(page.locator("tbody")).to_contain_text("password")
    visits.check(page, "audit-log")

    # A tampered form token is refused, and nothing changes.
    page.get_by_role("link", name="Domains").click()
    page.eval_on_selector("form.inline input[name=csrf]", "input => { input.value = 'tampered'; }")
    page.get_by_label("Domain", exact=True).fill("tampered.example")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("h1")).to_have_text("This form has expired")
    visits.check(page, "csrf-refused")
    page.goto(f"{stack.url}/console/domains")
    expect(page.locator('article[id="domain-tampered.example"]')).to_have_count(0)

    # Sign out.
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("h1")).to_have_text("Signed out")
    page.goto(f"{stack.url}/console/domains")
    assert "/oauth2/authorize" in page.url or page.url.startswith(stack.oidc_issuer.url)
    owner.close()
    assert len(visits.seen) >= 15


def test_a_member_sees_a_read_only_page_and_tenant_b_cannot_open_tenant_a_pages(
    console_stack, browser_context, console
):
    expect = _expect()
    stack = console_stack
    visits = Visits()
    # Tenant A (acme), set up over HTTP: a verified domain with its connection, and a member.
    console.sign_in("acme", "owner@acme.test", "owner", ["acct-main"])
    connection_id = _verified_connection(console, "tenant-a.example")
    console.add_member("ann@acme.test", "member", ["acct-main"])
    ann_id = console.member_id("ann@acme.test")

    context = browser_context.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(stack.console_link("acme", "member@acme.test", "member", ["acct-main"]))
    expect(page.locator("h1")).to_have_text("Ask your administrator")
    visits.check(page, "member-read-only")
    page.goto(f"{stack.url}/console/domains")
    expect(page.locator("h1")).to_have_text("Ask your administrator")
    assert page.get_by_role("button", name="Submit").count() == 0
    page.goto(f"{stack.url}/console/connections/conn_does_not_exist")
    expect(page.locator("h1")).to_have_text("Ask your administrator")
    context.close()

    # Tenant B (beta), signed in as its owner: A's pages are "not found" and A's actions change nothing.
    context = browser_context.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(stack.console_link("beta", "owner@beta.test", "owner", ["acct-beta"]))
    expect(page.locator("h1")).to_have_text("Domains")
    expect(page.locator("main")).not_to_contain_text("tenant-a.example")
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    for path in (
        f"/console/connections/{connection_id}",
        f"/console/connections/{connection_id}/trace",
        f"/console/users/{ann_id}",
        f"/console/users/{ann_id}/remove",
    ):
        response = page.goto(f"{stack.url}{path}")
        assert response is not None and response.status == 404, path
        for secret in ("tenant-a.example", "ann@acme.test", "acme"):
            expect(page.locator("body")).not_to_contain_text(secret)
    visits.check(page, "tenant-b-not-found")
    page.goto(f"{stack.url}/console/users")
    expect(page.locator("main")).not_to_contain_text("ann@acme.test")
    for path, data in (
        (f"/console/users/{ann_id}/remove", {}),
        (f"/console/users/{ann_id}", {"role": "admin", "accounts": "acct-beta"}),
        (f"/console/connections/{connection_id}/status", {"enabled": "false"}),
        ("/console/domains/tenant-a.example/manage", {}),
        ("/console/domains/tenant-a.example/check", {}),
    ):
        response = page.request.post(f"{stack.url}{path}", form={"csrf": csrf, **data}, max_redirects=0)
        assert response.status == 404, (path, response.status)
        assert "ann@acme.test" not in response.text() and "tenant-a.example" not in response.text(), path
    # Support revokes B's Enterprise SSO: an SSO page now explains what that means and who to contact.
    revoked = page.request.post(
        f"{stack.url}/_local/access", data=json.dumps({"action": "revoke", "tenant_id": "beta", "operator": "tests"})
    )
    assert revoked.status == 200, revoked.text()
    page.goto(f"{stack.url}/console/connections/{connection_id}")
    expect(page.locator("h1")).to_have_text("Enterprise SSO is not part of your plan")
    expect(page.locator("main")).to_contain_text("account manager or our support team")
    visits.check(page, "sso-not-available")
    context.close()
    # Nothing of A changed.
    assert '<td>ann@acme.test</td><td data-label="Role">member</td>' in console.get("/console/users").text
    assert "Enable Enterprise SSO" in console.get(f"/console/connections/{connection_id}").text
