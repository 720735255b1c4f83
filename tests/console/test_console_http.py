"""The admin console over HTTP, through the local stack: sign-in with the local OIDC issuer (code flow, PKCE),
sessions (idle and absolute expiry, sign-out), CSRF, roles, tenant isolation, and every page rendering."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from sso_local.lambda_runtime import load_handler_module
from sso_local.template import REPO_ROOT
from tests.support.clock import FakeClock
from tests.support.console import ConsoleClient

pytestmark = pytest.mark.integration

CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _h1(html: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", html, re.S)
    return found.group(1).strip() if found else ""


def _verified_connection(client: ConsoleClient, domain: str) -> str:
    """Connect ``domain``, publish its record in the embedded DNS, "Check DNS", "Manage": the connection id."""
    client.get("/console/domains")
    page = client.post("/console/domains", {"domain": domain})
    assert page.status_code == 200, page.text
    name = re.search(r"<code>(_sso-challenge\.[^<]+)</code>", page.text).group(1)
    value = re.search(r"<code>(sso-domain-verification=[^<]+)</code>", page.text).group(1)
    client.stack.dns.store.add(name, "TXT", value)
    checked = client.post(f"/console/domains/{domain}/check")
    assert f"{domain}: Verified." in checked.text
    managed = client.post(f"/console/domains/{domain}/manage")
    assert managed.status_code == 200 and _h1(managed.text) == "SSO configuration"
    return managed.url.rsplit("/", 1)[-1]


@pytest.fixture
def session_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    monkeypatch.setattr(load_handler_module(REPO_ROOT / "functions/console"), "clock", clock)
    return clock


def test_sign_in_runs_the_code_flow_with_pkce_and_sets_a_host_only_session_cookie(console):
    start = console.get(console.stack.console_link("acme", "owner@acme.test", "owner", ["acct-main"]), follow=False)
    assert start.status_code == 303
    authorize = urlsplit(start.headers["location"])
    assert f"{authorize.scheme}://{authorize.netloc}" == console.stack.oidc_issuer.url
    query = parse_qs(authorize.query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["nonce"] and query["state"] and query["response_type"] == ["code"]
    assert "code_verifier" not in query  # the verifier never leaves the server

    to_callback = console.get(start.headers["location"], follow=False)
    callback_url = to_callback.headers["location"]
    assert callback_url.startswith(f"{console.stack.url}/console/callback?")
    landed = console.get(callback_url, follow=False)
    assert landed.status_code == 303 and landed.headers["location"] == "/console/domains"
    cookie = next(c for c in landed.headers["set-cookie"].split(", __Host") if c.startswith("__Host-console="))
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in cookie
    assert "Domain=" not in cookie

    page = console.get("/console/domains")
    assert page.status_code == 200 and "owner@acme.test · owner · acme" in page.text
    # The same callback again: its state is used up.
    again = console.get(callback_url)
    assert again.status_code == 400 and "already used" in again.text


def test_a_callback_in_another_browser_than_the_one_that_started_is_refused(console, other_console):
    """Login CSRF: a victim opening the attacker's callback URL is not signed in as the attacker."""
    start = console.get(console.stack.console_link("acme", "attacker@acme.test", "owner"), follow=False)
    assert "__Host-console-signin=" in start.headers["set-cookie"]
    callback_url = console.get(start.headers["location"], follow=False).headers["location"]
    victim = other_console.get(callback_url)
    assert victim.status_code == 400 and "another browser" in victim.text
    assert other_console.session is None


def test_an_unreachable_issuer_is_a_page_not_a_crash(console):
    console.stack.oidc_issuer.stop()
    page = console.get("/console/login")
    assert page.status_code == 503 and _h1(page.text) == "Sign-in unavailable"


def test_the_issuer_refuses_a_code_without_the_matching_verifier(console):
    """The local issuer checks PKCE, so the console's verifier is really what redeems the code."""
    import requests

    issuer = console.stack.oidc_issuer.url
    hint = console.stack.console_link("acme", "owner@acme.test", "owner").split("login_hint=")[1]
    start = console.get(f"/console/login?login_hint={hint}", follow=False)
    code = parse_qs(urlsplit(console.get(start.headers["location"], follow=False).headers["location"]).query)["code"]
    refused = requests.post(
        f"{issuer}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code[0],
            "code_verifier": "x" * 48,
            "redirect_uri": f"{console.stack.url}/console/callback",
        },
        auth=("sso-console-local", "any"),
        timeout=10,
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_next_is_kept_but_never_leaves_the_console(console):
    console.sign_in("acme", "owner@acme.test", "owner")
    signed_out = ConsoleClient(console.stack)
    first = signed_out.get("/console/audit", follow=False)
    assert first.status_code == 303 and first.headers["location"] == "/console/login?next=/console/audit"
    console.stack.console_link("acme", "owner@acme.test", "owner")
    hint = "acme%3Aowner%40acme.test"
    assert signed_out.get(f"/console/login?next=/console/audit&login_hint={hint}").url.endswith("/console/audit")
    evil = ConsoleClient(console.stack).get(f"/console/login?next=//evil.example/x&login_hint={hint}")
    assert evil.url == f"{console.stack.url}/console/domains"


def test_a_session_ends_after_the_idle_time(console, session_clock):
    console.sign_in("acme", "owner@acme.test", "owner")
    session_clock.advance(minutes=29)
    assert console.get("/console/domains").status_code == 200  # activity restarts the idle clock
    session_clock.advance(minutes=29)
    assert console.get("/console/domains").status_code == 200
    session_clock.advance(minutes=31)
    gone = console.get("/console/domains", follow=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/console/login")


def test_a_session_ends_at_the_absolute_limit_however_active(console, session_clock):
    console.sign_in("acme", "owner@acme.test", "owner")
    for _ in range(8 * 60 // 25):
        session_clock.advance(minutes=25)
        assert console.get("/console/domains", follow=False).status_code == 200
    session_clock.advance(minutes=25)  # past 8 hours since sign-in, never idle
    gone = console.get("/console/domains", follow=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/console/login")


def test_sign_out_deletes_the_session(console):
    console.sign_in("acme", "owner@acme.test", "owner")
    old = console.session
    out = console.post("/console/logout")
    assert out.status_code == 200 and _h1(out.text) == "Signed out"
    assert console.session is None  # the cookie is cleared
    console.session = old  # a copy of the old cookie is worth nothing: the session is gone from the table
    again = console.get("/console/domains", follow=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/console/login")


@pytest.mark.parametrize("token", ["tampered", "", None])
def test_a_form_without_this_sessions_token_is_refused_and_changes_nothing(console, token):
    console.sign_in("acme", "owner@acme.test", "owner")
    data = {"domain": "example.com"} if token is None else {"domain": "example.com", "csrf": token}
    refused = console.post("/console/domains", data, csrf=False)
    assert refused.status_code == 403 and _h1(refused.text) == "This form has expired"
    assert "No domain yet" in console.get("/console/domains").text


def test_another_sessions_token_is_refused(console, other_console):
    console.sign_in("acme", "owner@acme.test", "owner")
    other_console.sign_in("acme", "other-owner@acme.test", "owner")
    other_console.get("/console/domains")
    console.get("/console/domains")
    refused = console.post("/console/domains", {"domain": "example.com", "csrf": other_console.csrf()})
    assert refused.status_code == 403


def test_a_member_sees_ask_your_administrator_and_can_change_nothing(console):
    landed = console.sign_in("acme", "member@acme.test", "member", ["acct-main"])
    assert landed.url.endswith("/console/readonly") and _h1(landed.text) == "Ask your administrator"
    for path in ("/console/domains", "/console/users", "/console/security", "/console/audit"):
        page = console.get(path)
        assert page.status_code == 403 and _h1(page.text) == "Ask your administrator", path
    refused = console.post("/console/domains", {"domain": "example.com"})
    assert refused.status_code == 403
    invite = console.post("/console/users/invite", {"email": "x@acme.test", "role": "member"})
    assert invite.status_code == 403


def test_an_admin_manages_users_but_not_domains(console):
    landed = console.sign_in("acme", "admin@acme.test", "admin", ["acct-main"])
    assert landed.url.endswith("/console/users") and _h1(landed.text) == "Users"
    assert console.get("/console/domains").status_code == 403


def test_tenant_a_cannot_reach_tenant_b_connection(console, other_console):
    other_console.sign_in("beta", "owner@beta.test", "owner")
    connection_id = _verified_connection(other_console, "beta.example")
    console.sign_in("acme", "owner@acme.test", "owner")
    for path in (f"/console/connections/{connection_id}", f"/console/connections/{connection_id}/trace"):
        page = console.get(path)
        assert page.status_code == 404 and "beta.example" not in page.text, path
    console.get("/console/domains")
    enable = console.post(f"/console/connections/{connection_id}/status", {"enabled": "true"})
    assert enable.status_code == 404 and "beta.example" not in enable.text
    manage = console.post("/console/domains/beta.example/manage")
    assert manage.status_code == 404
    assert "beta.example" in other_console.get(f"/console/connections/{connection_id}").text


def test_every_page_renders_with_the_strict_policy(console):
    console.sign_in("acme", "owner@acme.test", "owner", ["acct-main"])
    connection_id = _verified_connection(console, "example.com")
    pages = {
        "/console/domains": "Domains",
        f"/console/connections/{connection_id}": "SSO configuration",
        f"/console/connections/{connection_id}/trace": "Login trace",
        "/console/users": "Users",
        "/console/security": "Security",
        "/console/audit": "Audit log",
    }
    for path, title in pages.items():
        page = console.get(path)
        assert page.status_code == 200 and _h1(page.text) == title, path
        assert page.headers["content-security-policy"] == CONSOLE_CSP
        assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
        assert "<script>" not in page.text and "style=" not in page.text
    conn = console.get(f"/console/connections/{connection_id}").text
    for label in (
        "Entity ID",
        "Reply URL (ACS)",
        "Sign-in URL",
        "Download metadata",
        "Download certificate",
        "Signed request (POST)",
        "Enable Enterprise SSO",
    ):
        assert label in conn
    assert "domain.verified" in console.get("/console/audit").text
    for name, kind in (("console.css", "text/css"), ("console.js", "text/javascript")):
        static = console.get(f"/console/static/{name}")
        assert static.status_code == 200 and static.headers["content-type"].startswith(kind)
    assert console.get("/console/static/..%2Fconsole.py").status_code == 404


def test_refusals_are_shown_in_words_on_the_page_that_caused_them(console):
    console.sign_in("acme", "owner@acme.test", "owner")
    console.get("/console/domains")
    bad = console.post("/console/domains", {"domain": "not a domain"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in bad.text and _h1(bad.text) == "Domains" and '"error"' not in bad.text

    connection_id = _verified_connection(console, "example.com")
    broken = console.request(
        "POST",
        f"/console/connections/{connection_id}/idp",
        data={"csrf": console.csrf()},
        files={"metadata": ("idp.xml", b"<EntityDescriptor>not closed", "text/xml")},
    )
    assert broken.status_code == 400 and 'role="alert"' in broken.text and _h1(broken.text) == "SSO configuration"
    enable = console.post(f"/console/connections/{connection_id}/status", {"enabled": "true"})
    assert enable.status_code == 409 and 'role="alert"' in enable.text

    console.get("/console/security")
    refused = console.post("/console/security/example.com/password", {"enabled": "false"})
    assert refused.status_code == 409 and 'role="alert"' in refused.text and _h1(refused.text) == "Security"


def test_sign_in_survives_the_issuer_rotating_its_signing_key(console):
    """A key set cached before the issuer rotated its key (here: a set of keys the issuer never used) does not lock
    administrators out until the cache expires: the console reads the set again once and the sign-in goes on."""
    import time

    from authlib.jose import JsonWebKey

    from sso_core.gateways import oidc

    issuer = console.stack.oidc_issuer.url.rstrip("/")
    console.sign_in("acme", "owner@acme.test", "owner", ["acct-main"])  # the real set is cached now
    config = oidc._discovery[issuer][1]
    stale = JsonWebKey.import_key_set({"keys": [JsonWebKey.generate_key("RSA", 2048, is_private=False).as_dict()]})
    oidc._discovery[issuer] = (time.monotonic() + 300, config, stale)

    other = ConsoleClient(console.stack)
    other.sign_in("acme", "admin@acme.test", "admin", ["acct-main"])
    assert other.get("/console/users").status_code == 200
    assert oidc._discovery[issuer][2] is not stale  # the issuer's current set replaced the stale one
