"""The console's SSO configuration page shows each IdP certificate's expiry date, marks one that expires soon or
has expired, and repeats the API's warning in words."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.support.console import ConsoleClient
from tests.support.keys import make_keypair

pytestmark = pytest.mark.integration


def test_the_page_shows_expiry_dates_and_warns(console: ConsoleClient) -> None:
    console.sign_in("acme", "owner@acme.test", "owner", ["acct-main"])
    console.get("/console/domains")
    page = console.post("/console/domains", {"domain": "example.com"})
    name = re.search(r"<code>(_sso-challenge\.[^<]+)</code>", page.text).group(1)  # type: ignore[union-attr]
    value = re.search(r"<code>(sso-domain-verification=[^<]+)</code>", page.text).group(1)  # type: ignore[union-attr]
    console.stack.dns.store.add(name, "TXT", value)
    console.post("/console/domains/example.com/check")
    connection_id = console.post("/console/domains/example.com/manage").url.rsplit("/", 1)[-1]

    now = datetime.now(UTC)
    soon = make_keypair("idp-soon", not_before=now - timedelta(days=300), not_after=now + timedelta(days=12, hours=1))
    later = make_keypair("idp-later", not_before=now - timedelta(days=1), not_after=now + timedelta(days=400))
    token = console.stack.authority.issue("acme", "owner@acme.test", "owner", ["acct-main"])
    imported = requests.put(
        f"{console.stack.url}/connections/{connection_id}/idp",
        json={
            "entity_id": "https://idp.example.com/",
            "sso_url": "https://idp.example.com/sso",
            "certificates": [soon.cert_pem, later.cert_pem],
        },
        headers={"authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert imported.status_code == 200, imported.text

    html = console.get(f"/console/connections/{connection_id}").text
    assert f"valid until {(now + timedelta(days=12, hours=1)):%Y-%m-%d}" in html
    assert f"valid until {(now + timedelta(days=400)):%Y-%m-%d}" in html
    assert "Expires in 12 days" in html
    assert html.count("Expires in") == 1  # the one a year away is not marked
    assert re.search(r'class="alert notice">The IdP certificate CN=idp-soon .*expires on', html)
