"""The console's connection page while a key is staged: the switch date, the fingerprint and the download of the
next certificate, under the strict CSP; gone again after the switch."""

from __future__ import annotations

import pytest

from tests.support.console import ConsoleClient
from tests.support.sp_key_rotation import http_call

pytestmark = pytest.mark.integration


def test_the_connection_page_shows_the_staged_certificate_until_the_switch(stack) -> None:  # type: ignore[no-untyped-def]
    url = stack.url
    assert (
        http_call(url, "POST", "/_local/access", {"action": "grant", "tenant_id": "acme", "plan": "contract"})[0] == 200
    )
    token = stack.authority.issue("acme", "owner@acme.test", "owner")
    record = http_call(url, "POST", "/domains", {"domain": "example.com"}, token)[1]["verification"]
    http_call(
        url, "POST", "/_local/dns", {"name": record["record_name"], "type": "TXT", "value": record["record_value"]}
    )
    assert http_call(url, "POST", "/domains/example.com/verify", token=token)[1]["status"] == "verified"
    conn = http_call(url, "POST", "/connections", {"domains": ["example.com"]}, token)[1]
    console = ConsoleClient(stack)
    console.sign_in("acme", "owner@acme.test", "owner")
    page = f"/console/connections/{conn['id']}"
    assert "Download next certificate" not in console.get(page).text

    status, staged = http_call(url, "POST", "/_local/sp-key", {"action": "stage", "days": 21})
    assert status == 200, staged
    shown = console.get(page)
    assert shown.status_code == 200
    assert staged["sp_key"]["next"]["fingerprint"] in shown.text
    assert f'href="{url}/saml/{conn["id"]}/certificate?which=next"' in shown.text.replace("&amp;", "&")
    assert "Our signing certificate changes on" in shown.text
    assert "script-src" in (shown.headers.get("content-security-policy") or "")

    assert http_call(url, "POST", "/_local/sp-key", {"action": "switch", "force": True})[0] == 200
    assert "Download next certificate" not in console.get(page).text
