"""SSO_PUBLIC_URL with a base path (https://example.com/sso, an API mapping of a custom domain): a whole
SP-initiated login through the demo IdP on the local stack served under /sso, and every URL, link, redirect and
cookie path the service hands out carries /sso."""

from __future__ import annotations

import base64
import os
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree

from tests.support.walk import form_action, hidden_fields, http, make_ready, newest_accept_link

pytestmark = pytest.mark.integration

MD = {"md": "urn:oasis:names:tc:SAML:2.0:metadata"}
SAMLP = {"samlp": "urn:oasis:names:tc:SAML:2.0:protocol"}


def _cookie_paths(resp) -> dict[str, str]:
    paths = {}
    for header in resp.headers.get("set-cookie", []):
        name = header.split("=", 1)[0].strip()
        attributes = {a.split("=", 1)[0].strip().lower(): a.partition("=")[2] for a in header.split(";")[1:]}
        paths[name] = attributes.get("path", "")
    return paths


def test_sp_initiated_login_under_a_base_path(stack_under_base_path):
    stack = stack_under_base_path
    url = stack.url
    root = url[: -len("/sso")]
    assert urlsplit(url).path == "/sso" and os.environ["SSO_PUBLIC_URL"] == url
    token = stack.authority.issue("acme", "owner@acme.test", "owner", ["acct-main"])
    ready = make_ready(url, token, stack.outbox)
    conn = ready.connection_id

    # Outside the base path nothing answers, as behind an API mapping.
    assert http("GET", f"{root}/saml/{conn}/metadata").status == 404
    assert http("GET", f"{root}/connections", token=token).status == 404

    # The invitation mail's accept link.
    assert newest_accept_link(stack.outbox).startswith(f"{url}/invitations/accept?token=")

    # SP details the owner copies into the IdP, and the SP metadata the IdP imports.
    sp = http("GET", f"{url}/connections/{conn}", token=token).json()["sp"]
    base = f"{url}/saml/{conn}"
    assert sp == {
        "entity_id": f"{base}/metadata",
        "acs_url": f"{base}/acs",
        "metadata_url": f"{base}/metadata",
        "sign_in_url": f"{base}/login",
        "certificate_url": f"{base}/certificate",
        "next_certificate": None,
    }
    metadata = etree.fromstring(http("GET", f"{base}/metadata").body)
    assert metadata.get("entityID") == f"{base}/metadata"
    acs_locations = {e.get("Location") for e in metadata.iterfind(".//md:AssertionConsumerService", MD)}
    assert acs_locations == {f"{base}/acs"}
    assert http("GET", f"{base}/certificate").status == 200

    # Discovery's redirect is the sign-in URL under the base path.
    found = http("POST", f"{url}/login/discover", {"email": "alice@example.com"}).json()
    assert found["method"] == "sso" and found["redirect_url"].startswith(f"{base}/login?")

    # Login start: the AuthnRequest names the ACS under /sso, the binding cookie's Path is the ACS path.
    start = http("GET", found["redirect_url"])
    assert start.status == 200, start.text
    assert form_action(start.text) == f"{url}/_local/idp/sso"
    fields = hidden_fields(start.text)
    authn = etree.fromstring(base64.b64decode(fields["SAMLRequest"]))
    assert authn.get("AssertionConsumerServiceURL") == f"{base}/acs"
    assert authn.findtext("{urn:oasis:names:tc:SAML:2.0:assertion}Issuer") == f"{base}/metadata"
    paths = _cookie_paths(start)
    binding = [name for name in paths if name.startswith("sso_rq_")]
    assert binding and {paths[n] for n in binding} == {f"/sso/saml/{conn}/acs"}
    cookies = {n: v.split(";", 1)[0] for n, v in (h.split("=", 1) for h in start.headers["set-cookie"])}

    # The demo IdP signs alice in and posts to the ACS under /sso.
    sign_in = http("POST", form_action(start.text), form=fields)
    assert sign_in.status == 200, sign_in.text
    answer = http(
        "POST",
        f"{url}/_local/idp/login",
        form={**hidden_fields(sign_in.text), "email": "alice@example.com", "password": "alice-demo"},
    )
    assert answer.status == 200 and form_action(answer.text) == f"{base}/acs"
    posted = hidden_fields(answer.text)
    response = etree.fromstring(base64.b64decode(posted["SAMLResponse"]))
    assert response.get("Destination") == f"{base}/acs"

    # The ACS hands the code to the application and expires the binding cookie on the same path.
    acs = http("POST", f"{base}/acs", form=posted, cookies=cookies)
    assert acs.status == 302, acs.text
    callback = acs.header("location") or ""
    assert callback.startswith(f"{url}/_local/app/callback?code=")
    assert {p for n, p in _cookie_paths(acs).items() if n.startswith("sso_rq_")} == {f"/sso/saml/{conn}/acs"}
    profile = http("GET", callback)
    assert profile.status == 200 and "Signed in" in profile.text and "alice@example.com" in profile.text
    assert parse_qs(urlsplit(callback).query)["code"][0] not in profile.text

    # The API description is served under the base path too, naming it as the server.
    described = http("GET", f"{url}/openapi.json")
    assert described.status == 200 and described.json()["servers"] == [{"url": url}]
    assert http("GET", f"{url}/docs").status == 200
