"""A tenant without the Enterprise SSO entitlement (``sso_not_available``): the console's SSO pages explain what that
means and who to contact, instead of showing an error; domain verification stays open."""

from __future__ import annotations

import re

import pytest
import requests

from tests.console.test_console_http import _verified_connection
from tests.support.console import ConsoleClient, strict_page, verify_domain

pytestmark = pytest.mark.integration

TITLE = "Enterprise SSO is not part of your plan"


def _h1(html: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", html, re.S)
    return found.group(1).strip() if found else ""


def _explains(page: requests.Response) -> None:
    assert page.status_code == 403 and _h1(page.text) == TITLE, page.text
    assert "account manager or our support team" in page.text and 'role="alert"' not in page.text
    assert strict_page(page)


def test_manage_without_the_entitlement_explains_instead_of_failing(console: ConsoleClient):
    console.sign_in("gamma", "owner@gamma.test", "owner")  # support never granted gamma
    verify_domain(console, "gamma.example")  # a domain is useful without SSO: verification stays open
    _explains(console.post("/console/domains/gamma.example/manage"))
    assert "gamma.example" in console.get("/console/domains").text


def test_revoked_access_explains_on_every_sso_page_and_shows_nothing_of_the_connection(console: ConsoleClient):
    console.sign_in("acme", "owner@acme.test", "owner")
    connection_id = _verified_connection(console, "example.com")
    revoked = requests.post(
        f"{console.stack.url}/_local/access",
        json={"action": "revoke", "tenant_id": "acme", "operator": "tests"},
        timeout=30,
    )
    assert revoked.status_code == 200, revoked.text
    for path in (f"/console/connections/{connection_id}", f"/console/connections/{connection_id}/trace"):
        page = console.get(path)
        _explains(page)
        assert connection_id not in page.text and "example.com" not in page.text, path
    console.get("/console/domains")
    _explains(console.post(f"/console/connections/{connection_id}/status", {"enabled": "true"}))
    _explains(console.post("/console/domains/example.com/manage"))
