"""The console's "Test connection" button: a form POST that sends the browser on to the test's single-use link,
and in headless Chromium the whole test through the demo IdP to the result page (axe-core on it)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.axe import assert_accessible
from tests.support.browser import screenshot
from tests.support.console import ConsoleClient

pytestmark = pytest.mark.integration


def _verified_connection(client: ConsoleClient, domain: str) -> str:
    client.get("/console/domains")
    page = client.post("/console/domains", {"domain": domain})
    name = re.search(r"<code>(_sso-challenge\.[^<]+)</code>", page.text).group(1)  # type: ignore[union-attr]
    value = re.search(r"<code>(sso-domain-verification=[^<]+)</code>", page.text).group(1)  # type: ignore[union-attr]
    client.stack.dns.store.add(name, "TXT", value)
    client.post(f"/console/domains/{domain}/check")
    managed = client.post(f"/console/domains/{domain}/manage")
    assert managed.status_code == 200, managed.text
    return managed.url.rsplit("/", 1)[-1]


def _import_demo_idp(client: ConsoleClient, connection_id: str) -> None:
    metadata = requests.get(f"{client.stack.url}/_local/idp/metadata", timeout=30).content
    client.get(f"/console/connections/{connection_id}")
    imported = client.request(
        "POST",
        f"/console/connections/{connection_id}/idp",
        data={"csrf": client.csrf()},
        files={"metadata": ("idp.xml", metadata, "text/xml")},
    )
    assert "The identity provider was imported." in imported.text


def test_the_button_appears_with_an_idp_and_sends_the_browser_to_the_link(console: ConsoleClient) -> None:
    console.sign_in("acme", "owner@acme.test", "owner", ["acct-main"])
    connection_id = _verified_connection(console, "example.com")
    assert "Test connection" not in console.get(f"/console/connections/{connection_id}").text  # no IdP yet
    _import_demo_idp(console, connection_id)
    assert "Test connection" in console.last.text  # type: ignore[union-attr]
    resp = console.post(f"/console/connections/{connection_id}/test", follow=False)
    assert resp.status_code == 303 and resp.headers["cache-control"] == "no-store"
    link = urlsplit(resp.headers["location"])
    assert link.path == f"/saml/{connection_id}/test" and link.query.startswith("token=")
    started = requests.get(resp.headers["location"], timeout=30, allow_redirects=False)
    assert started.status_code == 200 and "SAMLRequest" in started.text  # on to the IdP


def test_the_button_needs_the_form_token(console: ConsoleClient) -> None:
    console.sign_in("acme", "owner@acme.test", "owner", ["acct-main"])
    connection_id = _verified_connection(console, "example.com")
    _import_demo_idp(console, connection_id)
    refused = console.post(f"/console/connections/{connection_id}/test", {"csrf": "tampered"}, follow=False)
    assert refused.status_code == 403 and "This form has expired" in refused.text


@pytest.mark.browser
def test_an_owner_tests_a_draft_connection_in_chromium(console_stack, browser_context, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    stack = console_stack
    context = browser_context.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(stack.console_link("acme", "owner@acme.test", "owner", ["acct-main"]))
    expect(page.locator("h1")).to_have_text("Domains")

    # Connect and verify example.com, open its SSO configuration, import the demo IdP (never enabled: a draft).
    page.get_by_label("Domain", exact=True).fill("example.com")
    page.get_by_role("button", name="Submit").click()
    codes = page.locator('article[id="domain-example.com"] dd code')
    record = {"name": codes.nth(0).inner_text(), "value": codes.nth(1).inner_text()}
    posted = page.request.post(
        f"{stack.url}/_local/dns", data=json.dumps(record), headers={"content-type": "application/json"}
    )
    assert posted.status == 201, posted.text()
    page.locator('article[id="domain-example.com"]').get_by_role("button", name="Check DNS").click()
    expect(page.locator('article[id="domain-example.com"] .badge')).to_have_text("Verified")
    page.locator('article[id="domain-example.com"]').get_by_role("button", name="Manage").click()
    expect(page.locator("h1")).to_have_text("SSO configuration")
    connection_id = page.url.rsplit("/", 1)[-1]
    metadata = tmp_path / "demo-idp-metadata.xml"
    metadata.write_bytes(page.request.get(f"{stack.url}/_local/idp/metadata").body())
    page.get_by_label("Federation metadata XML file").set_input_files(str(metadata))
    page.get_by_role("button", name="Import identity provider").click()
    expect(page.get_by_role("status")).to_contain_text("The identity provider was imported.")

    # Test connection: on to the demo IdP, sign in as bob (never invited: a test does not need him).
    page.get_by_role("button", name="Test connection").click()
    page.wait_for_url("**/_local/idp/sso")
    page.fill("#email", "bob@example.com")
    page.fill("#password", "bob-demo")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Connection test passed")
    expect(page.locator("#sent")).to_contain_text("bob@example.com")
    expect(page.locator("#attributes")).to_contain_text("Nguyen")
    expect(page.get_by_text("SHA-256 fingerprint")).to_be_visible()
    assert_accessible(page, "connection-test-passed")
    screenshot(page, "connection-test-passed")

    # Nobody was signed in: the trace shows a test, started by the owner, and the connection is still a draft.
    page.goto(f"{stack.url}/console/connections/{connection_id}/trace")
    entry = page.locator("article.trace.ok").first
    expect(entry).to_contain_text("Connection test passed")
    expect(entry).to_contain_text("test started by owner@acme.test")
    assert_accessible(page, "trace-with-a-test")
    page.goto(f"{stack.url}/console/connections/{connection_id}")
    expect(page.get_by_role("button", name="Enable Enterprise SSO")).to_be_visible()
    context.close()
