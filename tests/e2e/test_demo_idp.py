"""The demo IdP at /_local/idp, over HTTP: it honours the SP's signed AuthnRequest as Entra does, and refuses
what Entra would refuse (unsigned when the SP signs, a broken signature, an ACS the SP metadata does not list)."""

from __future__ import annotations

import base64
import dataclasses
import re
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from lxml import etree

from sso_core.config import get_settings
from sso_core.logic.login_start import sp_identity
from sso_core.saml import IdpSettings, build_authn_request
from sso_local.demo_idp import load_or_create_keys, load_users
from sso_local.template import REPO_ROOT
from tests.support.walk import Ready, form_action, hidden_fields, http, make_ready

pytestmark = pytest.mark.integration

MD = {"md": "urn:oasis:names:tc:SAML:2.0:metadata", "ds": "http://www.w3.org/2000/09/xmldsig#"}


@pytest.fixture
def ready(stack) -> Ready:
    token = stack.authority.issue("acme", "owner@acme.test", "owner", ["acct-main"])
    return make_ready(stack.url, token, stack.outbox)


def _start(ready: Ready) -> dict[str, str]:
    """The login start's auto-POST form fields (SAMLRequest, RelayState)."""
    page = http("GET", ready.sign_in_url)
    assert page.status == 200, page.text
    assert form_action(page.text) == f"{ready.url}/_local/idp/sso"
    return hidden_fields(page.text)


def _refusal(page: str) -> str:
    match = re.search(r"class='error'[^>]*>([^<]*)<", page)
    assert match, page[:800]
    return match.group(1)


def _signed_request(ready: Ready, **sp_changes: str) -> str:
    """An AuthnRequest signed with the SP's real key, for an SP identity changed as given."""
    sp = dataclasses.replace(sp_identity(get_settings(), ready.connection_id), **sp_changes)
    idp = IdpSettings(f"{ready.url}/_local/idp", f"{ready.url}/_local/idp/sso", (), "post", True)
    return build_authn_request(sp, idp, "relay", datetime.now(UTC)).form_fields["SAMLRequest"]


def test_metadata_names_the_sso_url_and_the_generated_certificate(stack):
    resp = http("GET", f"{stack.url}/_local/idp/metadata")
    assert resp.status == 200 and "xml" in (resp.header("content-type") or "")
    root = etree.fromstring(resp.body)
    assert root.get("entityID") == f"{stack.url}/_local/idp"
    services = {
        (s.get("Binding").rsplit(":", 1)[-1], s.get("Location"))
        for s in root.iterfind("md:IDPSSODescriptor/md:SingleSignOnService", MD)
    }
    assert services == {("HTTP-POST", f"{stack.url}/_local/idp/sso"), ("HTTP-Redirect", f"{stack.url}/_local/idp/sso")}
    published = root.findtext(
        "md:IDPSSODescriptor/md:KeyDescriptor/ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=MD
    )
    keys = load_or_create_keys(stack.state_dir / "demo-idp")  # made at first start, kept
    assert "".join(keys.cert_pem.splitlines()[1:-1]) == published.strip()
    assert (stack.state_dir / "demo-idp" / "signing-key.pem").stat().st_mode & 0o077 == 0
    fixtures = REPO_ROOT / "shared" / "sso_local" / "fixtures"
    assert not [p for p in fixtures.iterdir() if "PRIVATE KEY" in p.read_text(errors="ignore")]
    assert "alice@example.com" in load_users()


def test_signed_post_request_gets_the_sign_in_form(ready):
    resp = http("POST", f"{ready.url}/_local/idp/sso", form=_start(ready))
    assert resp.status == 200
    csp = resp.header("content-security-policy") or ""
    assert "default-src 'none'" in csp and "form-action 'self'" in csp and "script-src" not in csp
    assert "<script" not in resp.text
    assert form_action(resp.text) == "login"
    assert set(hidden_fields(resp.text)) == {"request"}
    assert "id='email'" in resp.text and "type='password'" in resp.text


def test_wrong_password_shows_the_form_again_escaped_and_keeps_the_request(ready):
    pending = hidden_fields(http("POST", f"{ready.url}/_local/idp/sso", form=_start(ready)).text)
    hostile = "\"'><script>alert(1)</script>@example.com"
    wrong = http("POST", f"{ready.url}/_local/idp/login", form={**pending, "email": hostile, "password": "x"})
    assert wrong.status == 401 and "Wrong email or password." in wrong.text
    assert "<script>alert" not in wrong.text and "&lt;script&gt;" in wrong.text
    right = http(
        "POST",
        f"{ready.url}/_local/idp/login",
        form={**pending, "email": "alice@example.com", "password": "alice-demo"},
    )
    assert right.status == 200 and form_action(right.text) == f"{ready.url}/saml/{ready.connection_id}/acs"
    # One sign-in per request: the same pending request cannot answer twice.
    again = http(
        "POST",
        f"{ready.url}/_local/idp/login",
        form={**pending, "email": "alice@example.com", "password": "alice-demo"},
    )
    assert again.status == 400 and "already used" in again.text


def test_unsigned_request_is_refused_when_the_sp_metadata_says_it_signs(ready):
    patched = http(
        "PATCH", f"{ready.url}/connections/{ready.connection_id}", {"signed_requests": False}, token=ready.token
    )
    assert patched.status == 200, patched.text
    fields = _start(ready)
    assert b"Signature" not in base64.b64decode(fields["SAMLRequest"])
    resp = http("POST", f"{ready.url}/_local/idp/sso", form=fields)
    assert resp.status == 403
    assert "not signed" in _refusal(resp.text)


def test_tampered_request_is_refused(ready):
    fields = _start(ready)
    xml = base64.b64decode(fields["SAMLRequest"])
    forged = xml.replace(b"/acs", b"/acs?x=1")
    assert forged != xml
    resp = http(
        "POST", f"{ready.url}/_local/idp/sso", form={**fields, "SAMLRequest": base64.b64encode(forged).decode()}
    )
    assert resp.status == 403
    assert "does not verify" in _refusal(resp.text)


def test_acs_url_not_in_the_sp_metadata_is_refused(ready):
    saml_request = _signed_request(ready, acs_url="https://evil.example/acs")
    resp = http("POST", f"{ready.url}/_local/idp/sso", form={"SAMLRequest": saml_request})
    assert resp.status == 400
    assert "AssertionConsumerServiceURL" in _refusal(resp.text)


def test_unknown_issuer_is_refused(ready):
    saml_request = _signed_request(ready, entity_id="https://evil.example/saml/conn_x/metadata")
    resp = http("POST", f"{ready.url}/_local/idp/sso", form={"SAMLRequest": saml_request})
    assert resp.status == 400
    assert "not a connection of this local stack" in _refusal(resp.text)


def test_doctype_is_refused_before_parsing(stack):
    xml = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>'
    resp = http("POST", f"{stack.url}/_local/idp/sso", form={"SAMLRequest": base64.b64encode(xml).decode()})
    assert resp.status == 400 and "DOCTYPE" in _refusal(resp.text)
    assert http("POST", f"{stack.url}/_local/idp/sso", form={}).status == 400
    assert http("POST", f"{stack.url}/_local/idp/login", form={"request": "nope"}).status == 400


def test_redirect_binding_request_is_verified_over_the_query_string(ready):
    patched = http(
        "PATCH", f"{ready.url}/connections/{ready.connection_id}", {"binding": "redirect"}, token=ready.token
    )
    assert patched.status == 200, patched.text
    start = http("GET", ready.sign_in_url)
    assert start.status == 302
    location = start.header("location") or ""
    assert location.startswith(f"{ready.url}/_local/idp/sso?SAMLRequest=") and "&Signature=" in location
    assert http("GET", location).status == 200
    signature = re.search(r"Signature=([^&]+)", location).group(1)
    forged = location.replace(signature, quote(base64.b64encode(b"\0" * 384).decode(), safe=""))
    resp = http("GET", forged)
    assert resp.status == 403 and "does not verify" in _refusal(resp.text)
    unsigned = re.sub(r"&SigAlg=[^&]+&Signature=[^&]+", "", location)
    resp = http("GET", unsigned)
    assert resp.status == 403 and "not signed" in _refusal(resp.text)
