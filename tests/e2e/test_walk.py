"""The walk `make run` prints works when pasted: its lines, run by bash against `sso-local run`, step by step.

The browser's part (accept link, sign-in) is done here over plain HTTP, cookies carried by hand; the Chromium
test does it with clicks.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree

from sso_local.cli import WALK_EMAIL, WALK_PASSWORD, _walk
from tests.support.walk import form_action, hidden_fields, http, run_walk, set_cookies, walk_script

pytestmark = pytest.mark.integration

NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}


def test_printed_walk_is_in_the_issue_order():
    printed = _walk("http://127.0.0.1:3000", "header.claims.signature", "client-secret", Path("/tmp/my outbox"))
    order = [
        "export TOKEN=",
        "$SSO/domains -H",
        "$SSO/_local/dns",
        "$SSO/domains/example.com/verify",
        "$SSO/connections -H",
        "$SSO/_local/idp/metadata",
        "$SSO/connections/$CONN/status",
        "$SSO/invitations -H",
        "*.eml",
        "$SSO/login/discover",
    ]
    positions = [printed.index(marker) for marker in order]
    assert positions == sorted(positions)
    assert f"{WALK_EMAIL} / {WALK_PASSWORD}" in printed
    script = walk_script(printed)
    assert not re.search(r"<[A-Za-z_]+>", script), "a placeholder to fill in by hand"
    assert "export TOKEN=header.claims.signature\n" in script and "'/tmp/my outbox'/*.eml" in script


def test_pasted_walk_then_http_sign_in_shows_the_profile(sso_local_run, tmp_path):
    url = sso_local_run.url
    walk = run_walk(sso_local_run.printed, tmp_path)

    added = walk.json(2)
    assert added["domain"] == "example.com" and added["status"] == "pending"
    published = walk.json(3)
    assert {"name": "_sso-challenge.example.com", "type": "TXT", "value": added["verification"]["record_value"]} in (
        published["records"]
    )
    assert walk.json(4)["status"] == "verified"
    conn = walk.last_line(5)
    assert conn.startswith("conn_")
    imported = walk.json(6)
    assert imported["id"] == conn and imported["idp"]["entity_id"] == f"{url}/_local/idp"
    assert walk.json(7)["status"] == "enabled"
    invited = walk.json(8)
    assert invited["email"] == WALK_EMAIL and invited["accounts"] == ["acct-main"]
    link = walk.last_line(9)
    assert link.startswith(f"{url}/invitations/accept?token=")
    discovery = walk.json(10)
    assert discovery["method"] == "sso"
    assert discovery["redirect_url"].startswith(f"{url}/saml/{conn}/login?email=")

    # 9. The accept link: a page with a form that posts the token back.
    page = http("GET", link)
    assert page.status == 200 and "Accept the invitation" in page.text
    accepted = http("POST", f"{url}/invitations/accept", form=hidden_fields(page.text))
    assert accepted.status == 200 and "You have joined" in accepted.text

    # 10. The sign-in: login start (auto-POST page + binding cookie) -> demo IdP -> ACS -> callback.
    start = http("GET", discovery["redirect_url"])
    assert start.status == 200
    cookies = set_cookies(start)
    assert [name for name in cookies if name.startswith("sso_rq_")]
    assert form_action(start.text) == f"{url}/_local/idp/sso"
    sign_in = http("POST", form_action(start.text), form=hidden_fields(start.text))
    assert sign_in.status == 200 and "Sign in" in sign_in.text
    pending = hidden_fields(sign_in.text)
    answer = http("POST", f"{url}/_local/idp/login", form={**pending, "email": WALK_EMAIL, "password": WALK_PASSWORD})
    assert answer.status == 200
    assert form_action(answer.text) == f"{url}/saml/{conn}/acs"
    posted = hidden_fields(answer.text)
    _assert_entra_shaped(base64.b64decode(posted["SAMLResponse"]), url, conn)
    acs = http("POST", f"{url}/saml/{conn}/acs", form=posted, cookies=cookies)
    assert acs.status == 302, acs.text
    callback = acs.header("location") or ""
    assert callback.startswith(f"{url}/_local/app/callback?code=")
    profile = http("GET", callback)
    assert profile.status == 200 and "Signed in" in profile.text
    assert WALK_EMAIL in profile.text and "acct-main" in profile.text
    # The code works once.
    assert http("GET", callback).status == 400
    assert parse_qs(urlsplit(callback).query)["code"][0] not in profile.text


def _assert_entra_shaped(xml: bytes, url: str, conn: str) -> None:
    root = etree.fromstring(xml)
    assert root.get("Destination") == f"{url}/saml/{conn}/acs"
    assert root.find("ds:Signature", NS) is None  # Entra signs the assertion, not the Response
    assertion = root.find("saml:Assertion", NS)
    method = assertion.find("ds:Signature/ds:SignedInfo/ds:SignatureMethod", NS)
    assert method.get("Algorithm") == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    name_id = assertion.find("saml:Subject/saml:NameID", NS)
    assert name_id.get("Format") == "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    assert name_id.text == WALK_EMAIL
    names = {a.get("Name") for a in assertion.iterfind("saml:AttributeStatement/saml:Attribute", NS)}
    assert "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress" in names
    assert "http://schemas.microsoft.com/identity/claims/objectidentifier" in names
    assert root.findtext("saml:Issuer", namespaces=NS) == f"{url}/_local/idp"
