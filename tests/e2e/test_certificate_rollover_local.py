"""IdP certificate rollover and the certificate watch on the local stack, over HTTP: the demo IdP's connection
gets the next certificate, the IdP signs with the new key, the old certificate goes, a response still signed with
it is refused and the trace names it; and the watch, run on demand, mails the owner once."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree

from sso_local.saml_idp import RealIdp
from tests.support.keys import make_keypair
from tests.support.walk import Ready, hidden_fields, http, make_ready, newest_accept_link, set_cookies

pytestmark = pytest.mark.integration

USER = "alice@example.com"


def sign_in(ready: Ready, idp: RealIdp) -> Any:
    """A browser's login with a response from ``idp`` (the demo IdP's entity, whatever key it holds)."""
    started = http("GET", ready.sign_in_url)
    assert started.status == 200, started.text
    fields = hidden_fields(started.text)
    request_id = etree.fromstring(base64.b64decode(fields["SAMLRequest"])).get("ID")
    xml = idp.response_xml(
        sp_entity_id=f"{ready.url}/saml/{ready.connection_id}/metadata",
        acs_url=f"{ready.url}/saml/{ready.connection_id}/acs",
        in_response_to=request_id,
        name_id=USER,
    )
    form = {"SAMLResponse": base64.b64encode(xml.encode()).decode(), "RelayState": fields.get("RelayState", "")}
    return http("POST", f"{ready.url}/saml/{ready.connection_id}/acs", form=form, cookies=set_cookies(started))


def signed_in(resp: Any) -> bool:
    location = resp.header("location") or ""
    return resp.status == 302 and "code" in parse_qs(urlsplit(location).query)


def test_rollover_on_the_local_stack(stack: Any, tmp_path: Path) -> None:
    token = stack.authority.issue("acme", "owner@acme.test", "owner", ["acct-main"])
    ready = make_ready(stack.url, token, tmp_path / "outbox", USER)
    demo = stack.demo_idp
    sp_metadata = http("GET", f"{ready.url}/saml/{ready.connection_id}/metadata").text
    key1 = RealIdp(demo.entity_id, demo.sso_url, demo.keys, sp_metadata)
    key2_pair = make_keypair("demo-idp-next")
    key2 = RealIdp(demo.entity_id, demo.sso_url, key2_pair, sp_metadata)
    certs = f"{ready.url}/connections/{ready.connection_id}/idp/certificates"

    assert not signed_in(sign_in(ready, key2))  # not yet held
    added = http("POST", certs, {"certificate": key2_pair.cert_pem}, token=token)
    assert added.status == 201, added.text
    old = added.json()["idp"]["certificates"][0]["sha256_fingerprint"]
    assert signed_in(sign_in(ready, key2)) and signed_in(sign_in(ready, key1))

    assert http("DELETE", f"{certs}/{old.replace(':', '')}", token=token).status == 200
    assert signed_in(sign_in(ready, key2))
    refused = sign_in(ready, key1)
    assert refused.status == 400
    trace = http("GET", f"{ready.url}/connections/{ready.connection_id}/logins", token=token).json()["logins"]
    [entry] = [e for e in trace if e["reason"] == "unknown_certificate"]
    assert entry["certificate"]["sha256_fingerprint"] == old


def test_the_certificate_watch_mails_the_owner_once(stack: Any, tmp_path: Path) -> None:
    token = stack.authority.issue("acme", "owner@acme.test", "owner", ["acct-main"])
    outbox = tmp_path / "outbox"
    ready = make_ready(stack.url, token, outbox, USER)
    invitation = {"email": "olivia@example.com", "role": "owner", "accounts": ["acct-main"]}
    assert http("POST", f"{stack.url}/invitations", invitation, token=token).status == 201
    link = parse_qs(urlsplit(newest_accept_link(outbox)).query)["token"][0]
    assert http("POST", f"{stack.url}/invitations/accept", {"token": link}).status == 200
    now = datetime.now(UTC)
    soon = make_keypair(
        "demo-idp-soon", not_before=now - timedelta(days=300), not_after=now + timedelta(days=10, hours=12)
    )
    certs = f"{ready.url}/connections/{ready.connection_id}/idp/certificates"
    assert http("POST", certs, {"certificate": soon.cert_pem}, token=token).status == 201

    for _ in range(3):
        ran = http("POST", f"{stack.url}/_local/run/certificate-watch")
        assert ran.status == 200, ran.text
    subjects = [
        str(message_from_bytes(p.read_bytes())["Subject"])
        for p in outbox.glob("*.eml")
        if "olivia@example.com" in str(message_from_bytes(p.read_bytes())["To"])
    ]
    assert [s for s in subjects if "SSO certificate" in s] == ["An SSO certificate of acme expires in 10 days"]
