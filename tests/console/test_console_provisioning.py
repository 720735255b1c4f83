"""The console's Provisioning (SCIM) page over HTTP, through the local stack: the token shown once and working
against the SCIM API, replaced and revoked, the settings with their refusals in words, the activity, owner only."""

from __future__ import annotations

import re

import pytest
import requests

from tests.support.console import ConsoleClient, strict_page, verify_domain

pytestmark = pytest.mark.integration

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


def _h1(html: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", html, re.S)
    return found.group(1).strip() if found else ""


def _alert(html: str) -> str:
    found = re.search(r'role="alert"><strong>That did not work.</strong> (.*?)</div>', html, re.S)
    return found.group(1).strip() if found else ""


def _token(html: str) -> str:
    found = re.search(r'<code id="token-value">(scim_[\w-]+)</code>', html)
    assert found, "no token on the page"
    return found.group(1)


def _scim(console: ConsoleClient, token: str, method: str = "GET", json: object = None) -> requests.Response:
    return requests.request(
        method,
        f"{console.stack.url}/scim/v2/Users",
        json=json,
        headers={"authorization": f"Bearer {token}", "content-type": "application/scim+json"},
        timeout=30,
    )


@pytest.fixture
def owner(console: ConsoleClient) -> ConsoleClient:
    console.sign_in("acme", "owner@acme.test", "owner", ["acct-main", "acct-eu"])
    return console


def test_the_token_is_shown_once_works_and_a_replacement_stops_the_old_one(owner):
    page = owner.get("/console/provisioning")
    assert page.status_code == 200 and _h1(page.text) == "Provisioning (SCIM)"
    assert f"<code>{owner.stack.url}/scim/v2</code>" in page.text and "Create SCIM token" in page.text
    created = owner.post("/console/provisioning/token")
    assert created.status_code == 200 and "shown only this once" in created.text and strict_page(created)
    first = _token(created.text)
    assert _scim(owner, first).status_code == 200
    again = owner.get("/console/provisioning")
    assert first not in again.text and 'id="token-value"' not in again.text  # never shown twice
    assert "Replace SCIM token" in again.text and "Revoke SCIM token" in again.text

    second = _token(owner.post("/console/provisioning/token").text)
    assert second != first
    assert _scim(owner, first).status_code == 401 and _scim(owner, second).status_code == 200
    audit = owner.get("/console/audit").text
    assert "provisioning.token_created" in audit and "provisioning.token_rotated" in audit
    assert first not in audit and second not in audit


def test_revoking_turns_provisioning_off_and_a_second_revoke_is_refused_in_words(owner):
    owner.get("/console/provisioning")
    token = _token(owner.post("/console/provisioning/token").text)
    revoked = owner.post("/console/provisioning/token/revoke")
    assert revoked.status_code == 200 and "automatic provisioning is off" in revoked.text
    assert _scim(owner, token).status_code == 401
    again = owner.post("/console/provisioning/token/revoke", {"csrf": owner.csrf()})
    assert again.status_code == 404 and "no SCIM token to revoke" in _alert(again.text)
    assert _h1(again.text) == "Provisioning (SCIM)"


def test_settings_are_saved_and_refusals_keep_what_was_typed(owner):
    owner.get("/console/provisioning")
    saved = owner.post(
        "/console/provisioning/settings",
        {
            "default_role": "member",
            "default_accounts": "acct-main",
            "group_1": "Engineering",
            "role_1": "admin",
            "accounts_1": "acct-main, acct-eu",
            "group_2": "",
            "role_2": "member",
            "accounts_2": "",
        },
    )
    assert saved.status_code == 200 and "Provisioning settings saved" in saved.text
    assert 'value="Engineering"' in saved.text and 'value="acct-main,acct-eu"' in saved.text
    twice = owner.post(
        "/console/provisioning/settings",
        {"default_role": "member", "group_1": "Sales", "role_1": "member", "group_2": "sales", "role_2": "admin"},
    )
    assert twice.status_code == 400 and "mapped twice" in _alert(twice.text)
    assert 'value="sales"' in twice.text  # what was typed stays on the page
    foreign = owner.post(
        "/console/provisioning/settings",
        {"default_role": "member", "group_1": "Ops", "role_1": "member", "accounts_1": "acct-of-another-tenant"},
    )
    assert foreign.status_code == 400 and _alert(foreign.text)
    owner_role = owner.post("/console/provisioning/settings", {"default_role": "owner"})
    assert owner_role.status_code == 400 and "member or admin" in _alert(owner_role.text)
    kept = owner.get("/console/provisioning").text
    assert 'value="Engineering"' in kept and 'value="Sales"' not in kept and 'value="Ops"' not in kept


def test_the_activity_lists_what_the_identity_provider_did(owner):
    verify_domain(owner, "acme.example")  # SCIM provisions people of a verified domain only
    owner.get("/console/provisioning")
    token = _token(owner.post("/console/provisioning/token").text)
    user = {
        "schemas": [CORE],
        "userName": "dora@acme.example",
        "active": True,
        "emails": [{"value": "dora@acme.example"}],
    }
    created = _scim(owner, token, "POST", user)
    assert created.status_code == 201, created.text
    assert _scim(owner, token, "POST", user).status_code == 409  # the same userName again: refused
    page = owner.get("/console/provisioning").text
    assert "user.created" in page and "dora@acme.example" in page
    assert "refused (409 uniqueness)" in page
    assert "dora@acme.example" in owner.get("/console/users").text  # the provisioned member, on the Users page


def test_only_an_owner_reaches_provisioning(console, other_console):
    console.sign_in("acme", "admin@acme.test", "admin", ["acct-main"])
    page = console.get("/console/provisioning")
    assert page.status_code == 403 and _h1(page.text) == "Ask your administrator"
    assert 'href="/console/provisioning"' not in console.get("/console/users").text  # not in the menu either
    assert console.post("/console/provisioning/token").status_code == 403
    other_console.sign_in("acme", "owner@acme.test", "owner", ["acct-main"])
    assert "Create SCIM token" in other_console.get("/console/provisioning").text  # the admin created nothing


def test_a_token_form_without_the_session_token_creates_nothing(owner):
    owner.get("/console/provisioning")
    refused = owner.post("/console/provisioning/token", {"csrf": "tampered"})
    assert refused.status_code == 403 and "scim_" not in refused.text
    assert "Create SCIM token" in owner.get("/console/provisioning").text
