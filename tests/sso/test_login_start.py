"""Public login: POST /login/discover (which way an email signs in) and GET /saml/{id}/login (the start).

Discovery answers in one shape whoever asks; only the domain's configuration decides. A body that is not
``{"email": <string of 3 to 320 characters>}`` is a 400 like on every route; any such string is an answer, never
an error: one that is no address, or whose domain is not routed to an enabled connection, gets "password".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from sso_core.logic.login_start import REQUEST_LIFETIME
from tests.support.sso_checks import refused, stored_items
from tests.support.sso_world import SsoWorld

pytestmark = pytest.mark.integration
KEYS = {"method", "redirect_url", "password_allowed", "notice"}


def discover(world: SsoWorld, email: object):
    return world.api.call("POST", "/login/discover", {"email": email})


# Discovery ------------------------------------------------------------------------------------------


def test_verified_domain_with_an_enabled_connection_goes_to_sso(ready: SsoWorld) -> None:
    resp = discover(ready, "Alice@ACME.test")
    assert resp.status == 200 and resp.header("cache-control") == "no-store"
    body = resp.json()
    assert set(body) == KEYS and body["method"] == "sso" and body["password_allowed"] is True
    url = urlsplit(body["redirect_url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == ready.sp["sign_in_url"]
    assert parse_qs(url.query) == {"email": ["Alice@ACME.test"]}
    follow = ready.api.call("GET", url.path, query=url.query)
    assert follow.status == 200 and "SAMLRequest" in follow.text


def test_the_same_shape_whether_the_user_exists_or_not(ready: SsoWorld) -> None:
    known, unknown = discover(ready, "alice@acme.test").json(), discover(ready, "nobody@acme.test").json()
    assert set(known) == set(unknown) == KEYS
    assert {k: v for k, v in known.items() if k != "redirect_url"} == {
        k: v for k, v in unknown.items() if k != "redirect_url"
    }
    assert known["redirect_url"].replace("alice", "nobody") == unknown["redirect_url"]


def test_everything_else_goes_to_password(world: SsoWorld) -> None:
    world.owner("POST", "/domains", {"domain": "pending.test"})
    world.verify_domain()
    world.create_connection()  # draft
    for email in (
        "a@pending.test",
        "a@unknown.test",
        "a@acme.test",
        "a@sub.acme.test",
        "no-at-sign",
        "a@b",
        "@acme",
        "a@127.0.0.1",
    ):
        body = discover(world, email).json()
        assert body == {"method": "password", "redirect_url": None, "password_allowed": True, "notice": None}, email
    assert world.import_idp().status == 200 and world.enable().status == 200
    assert discover(world, "a@acme.test").json()["method"] == "sso"
    assert discover(world, "a@sub.acme.test").json()["method"] == "password"  # a domain never covers another

    world.owner("PUT", f"/connections/{world.connection_id}/status", {"enabled": False})
    body = discover(world, "a@acme.test").json()
    assert set(body) == KEYS and (body["method"], body["redirect_url"]) == ("password", None)
    assert body["notice"]  # SSO switched off: how to get a password


def test_discovery_bad_bodies(world: SsoWorld) -> None:
    for body in ({}, {"email": 7}, {"email": "ab"}, {"email": "a" * 321}, {"email": "a@b.c", "x": 1}, ["a@b.c"]):
        resp = world.api.call("POST", "/login/discover", body)
        assert resp.status == 400 and resp.json()["error"]["code"] == "invalid_request", body


# Login start ----------------------------------------------------------------------------------------


def cookie_attributes(header: str) -> dict[str, str]:
    parts = [p.strip() for p in header.split(";")]
    return {p.split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else "") for p in parts[1:]}


def test_start_binds_the_request_to_the_browser(ready: SsoWorld) -> None:
    started = ready.start()
    resp = started.response
    assert resp.status == 200 and (resp.header("content-type") or "").startswith("text/html")
    (header,) = resp.header_all("set-cookie")
    attributes = cookie_attributes(header)
    assert attributes == {
        "path": f"/saml/{ready.connection_id}/acs",
        "max-age": "600",
        "httponly": "",
        "secure": "",
        "samesite": "None",
    }
    (name, value), *_ = started.cookies.items()
    assert name.startswith("sso_rq_") and len(value) >= 43  # 256 bits
    (stored,) = stored_items("authn_request")
    assert stored["pk"] == f"AUTHNREQ#{started.request_id}" and stored["connection_id"] == ready.connection_id
    assert value not in repr(stored)  # only its hash is kept
    assert stored["expires_at"] - datetime.fromisoformat(stored["created_at"]).timestamp() == 600
    assert stored["ttl"] == stored["expires_at"]
    assert resp.header("cache-control") == "no-store" and resp.header("referrer-policy") == "no-referrer"


def test_post_binding_page_is_strict(ready: SsoWorld) -> None:
    resp = ready.start().response
    csp = resp.header("content-security-policy") or ""
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src 'sha256-" in csp
    assert "unsafe-inline" not in csp
    assert '<button type="submit">' in resp.text
    assert 'name="RelayState"' in resp.text


def test_the_sign_in_url_without_an_email_starts_sso(ready: SsoWorld) -> None:
    started = ready.start(None)
    assert started.response.status == 200 and started.cookies
    assert ready.post_acs(ready.response_b64(started.request_id), started.cookies).status == 302


def _page(resp, status: int) -> None:
    assert resp.status == status, resp.text[:200]
    assert (resp.header("content-type") or "").startswith("text/html")
    assert "Single sign-on unavailable" in resp.text
    assert resp.header("content-security-policy") and not resp.header_all("set-cookie")


def test_start_refusals_are_pages(ready: SsoWorld) -> None:
    def start(cid: str, query: str = ""):
        return ready.api.call("GET", f"/saml/{cid}/login", query=query)

    _page(start("conn_0123456789abcdef0123"), 404)
    _page(start("not-a-connection"), 404)
    _page(start(ready.connection_id, "email=gina%40globex.test"), 400)  # outside the connection's domains
    _page(start(ready.connection_id, "email=not-an-email"), 400)
    ready.owner("PUT", f"/connections/{ready.connection_id}/status", {"enabled": False})
    _page(start(ready.connection_id), 404)
    assert not stored_items("authn_request")


def test_start_of_a_draft_connection_is_unavailable(world: SsoWorld) -> None:
    world.verify_domain()
    world.create_connection()
    _page(world.api.call("GET", f"/saml/{world.connection_id}/login"), 404)


def test_the_request_expires_after_ten_minutes(ready: SsoWorld, acs_clock) -> None:
    clock = acs_clock()

    def post_after(lifetime_used: timedelta):
        started = ready.start()
        (stored,) = [i for i in stored_items("authn_request") if i["pk"] == f"AUTHNREQ#{started.request_id}"]
        clock.now = datetime.fromisoformat(stored["created_at"]) + lifetime_used
        return ready.post_acs(ready.response_b64(started.request_id), started.cookies)

    assert post_after(REQUEST_LIFETIME - timedelta(seconds=1)).status == 302
    refused(ready, post_after(REQUEST_LIFETIME), "request_expired")
