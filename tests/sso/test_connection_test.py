"""Test connection (POST /connections/{id}/test): a real login through the connection, whatever its status, that
shows the administrator what the IdP sent and signs nobody in."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape

import pytest

from sso_core.clock import utcnow
from sso_core.config import get_settings
from sso_core.dal.logins import LoginStateRepository
from sso_core.dal.table import Table
from sso_local.lambda_runtime import invoke
from sso_local.template import REPO_ROOT, functions
from tests.support.api import error_code
from tests.support.audit import audit
from tests.support.connection_tests import (
    ADMIN_EMAIL,
    ENTRA_50105,
    ask_link,
    idp_error,
    link_of,
    open_link,
    run_test,
    started_test,
)
from tests.support.sso_checks import codes_issued, refused, stored_items, trace_entry
from tests.support.sso_world import BREAK_GLASS, SsoWorld, reference_of

pytestmark = pytest.mark.integration

REQUEST_DENIED = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"


@pytest.fixture
def draft(world: SsoWorld) -> SsoWorld:
    """A connection with its IdP imported, never enabled, and nobody invited."""
    world.verify_domain()
    world.create_connection()
    assert world.import_idp().status == 200
    return world


def passed(resp) -> str:  # type: ignore[no-untyped-def]
    assert resp.status == 200, resp.text[:500]
    assert "Connection test passed" in resp.text
    assert resp.header("location") is None
    csp = resp.header("content-security-policy") or ""
    assert "default-src 'none'" in csp and "script-src" not in csp
    return unescape(resp.text)


# ---- the link ---------------------------------------------------------------------------------------------


def test_a_draft_connection_with_an_idp_can_be_tested(draft: SsoWorld) -> None:
    resp = ask_link(draft)
    assert resp.status == 200, resp.text
    body = resp.json()
    assert body["expires_in"] == 300
    assert re.fullmatch(
        rf"https?://[^/]+/saml/{draft.connection_id}/test\?token=[A-Za-z0-9_-]{{40,}}", body["redirect_url"]
    )


def test_no_idp_is_409_idp_not_configured(world: SsoWorld) -> None:
    world.verify_domain()
    world.create_connection()
    resp = ask_link(world)
    assert (resp.status, error_code(resp)) == (409, "idp_not_configured")


def test_a_member_may_not_and_another_tenant_sees_nothing(draft: SsoWorld) -> None:
    member = ask_link(draft, role="member")
    assert (member.status, error_code(member)) == (403, "forbidden")
    other = ask_link(draft, tenant="globex")
    assert other.status in (403, 404), other.text  # no SSO access, or no such connection: never the link
    assert "redirect_url" not in other.text
    unknown = draft.api.call("POST", "/connections/conn_00000000000000000000/test", tenant="acme", role="admin")
    assert (unknown.status, error_code(unknown)) == (404, "connection_not_found")
    assert draft.api.call("POST", f"/connections/{draft.connection_id}/test").status == 401


def test_asking_is_audited_with_who_asked(draft: SsoWorld) -> None:
    assert ask_link(draft, role="owner", email="olivia@acme.example").status == 200
    entry = next(e for e in audit(draft) if e["action"] == "connection.test_started")
    assert entry["target"] == draft.connection_id
    assert entry["actor"] == {"kind": "user", "email": "olivia@acme.example", "role": "owner"}
    assert entry["after"] == {"status": "draft"}


def test_the_link_works_once(draft: SsoWorld) -> None:
    url = link_of(draft)
    first = open_link(draft, url)
    assert first.status == 200 and "SAMLRequest" in first.text
    names = {c.split("=", 1)[0] for c in first.header_all("set-cookie")}
    assert "sso_test" in names and any(n.startswith("sso_rq_") for n in names)
    again = open_link(draft, url)
    assert again.status == 400
    assert "Connection test not started" in again.text and "SAMLRequest" not in again.text


@pytest.mark.parametrize("query", ["", "token=", "token=nope", "token=" + "x" * 101])
def test_a_bad_link_starts_nothing(draft: SsoWorld, query: str) -> None:
    resp = draft.api.call("GET", f"/saml/{draft.connection_id}/test", query=query)
    assert resp.status == 400, resp.text
    assert "Connection test not started" in resp.text
    assert not resp.header_all("set-cookie")


def test_a_link_is_for_its_connection_and_expires(draft: SsoWorld) -> None:
    url = link_of(draft)
    token = url.rpartition("token=")[2]
    other = draft.api.call("GET", "/saml/conn_00000000000000000000/test", query=f"token={token}")
    assert other.status == 400  # the wrong connection does not use it up either...
    repo = LoginStateRepository(Table(get_settings().table_name))
    assert repo.take_test_start(token, draft.connection_id, utcnow() + timedelta(minutes=5, seconds=1)) is None
    assert open_link(draft, url).status == 200  # ...nor does an expired read: the real one still works now


# ---- the test login ---------------------------------------------------------------------------------------


def test_a_draft_connection_passes_and_shows_what_the_idp_sent(draft: SsoWorld) -> None:
    text = passed(run_test(draft, "alice@acme.test"))  # alice was never invited: a test does not need her
    assert "alice@acme.test" in text
    assert "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" in text
    assert "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname</span>: Alice" in text
    assert draft.idp_entity_id in text
    connection = draft.owner("GET", f"/connections/{draft.connection_id}").json()
    fingerprint = connection["idp"]["certificates"][0]["sha256_fingerprint"]
    assert fingerprint in text and connection["idp"]["certificates"][0]["subject"] in text
    assert f"Started by {ADMIN_EMAIL}" in text
    assert codes_issued() == 0
    assert connection["status"] == "draft" and connection["test_success_at"] and connection["first_success_at"] is None
    entry = trace_entry(draft, reference_of(run_test(draft)))
    assert (entry["result"], entry["test"], entry["started_by"]) == ("success", True, ADMIN_EMAIL)
    assert "no code issued" in entry["detail"]


def test_a_disabled_connection_passes_and_issues_no_code(ready: SsoWorld) -> None:
    assert ready.owner("PUT", f"/connections/{ready.connection_id}/status", {"enabled": False}).status == 200
    before = codes_issued()
    resp = run_test(ready)
    passed(resp)
    assert codes_issued() == before
    # The binding cookie and the test mark are expired, nothing else is set.
    assert all("Max-Age=0" in c for c in resp.header_all("set-cookie"))
    assert {c.split("=", 1)[0] for c in resp.header_all("set-cookie")} >= {"sso_test"}
    # A real sign-in still cannot even start: the connection is off.
    assert ready.api.call("GET", f"/saml/{ready.connection_id}/login").status == 404


def test_attribute_values_are_escaped_and_bounded(draft: SsoWorld) -> None:
    claims = {f"urn:test:claim:{i:03}": ["<b>x</b>" * 100] for i in range(45)}
    claims["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"] = ["alice@acme.test"]
    resp = run_test(draft, claims=claims)
    assert "<b>x</b>" not in resp.text and "&lt;b&gt;x&lt;/b&gt;" in resp.text
    assert "and 6 more, not shown" in resp.text
    assert len(resp.text) < 40_000


def test_a_test_in_another_browser_is_refused_like_any_login(draft: SsoWorld) -> None:
    started = started_test(draft)
    response = draft.response_b64(started.request_id)
    stranger = {name: value for name, value in started.cookies.items() if name == "sso_test"}  # no binding cookie
    resp = draft.post_acs(response, stranger)
    assert resp.status == 403 and "SSO auth failed" in resp.text  # the disabled-connection refusal, no detail
    assert "Connection test" not in resp.text
    elsewhere = draft.post_acs(response, {"sso_test": started.request_id, **{k: "forged" for k in started.cookies}})
    assert "Connection test" not in elsewhere.text and "SSO auth failed" in elsewhere.text
    assert draft.owner("GET", f"/connections/{draft.connection_id}").json()["test_success_at"] is None
    # The browser that started it still completes it: nothing was burned.
    passed(draft.post_acs(response, started.cookies, started.relay_state))


def test_an_enabled_connections_test_from_another_browser_names_the_binding(ready: SsoWorld) -> None:
    started = started_test(ready)
    resp = ready.post_acs(ready.response_b64(started.request_id), {})
    refused(ready, resp, "browser_binding_missing")


def test_a_forged_test_mark_does_not_open_a_disabled_connection(ready: SsoWorld) -> None:
    real = ready.start()  # a real sign-in's request, started while the connection was on
    assert ready.owner("PUT", f"/connections/{ready.connection_id}/status", {"enabled": False}).status == 200
    cookies = {**real.cookies, "sso_test": real.request_id}
    resp = ready.post_acs(ready.response_b64(real.request_id), cookies)
    refused(ready, resp, "connection_disabled", 403)


def test_a_replayed_test_response_is_refused(draft: SsoWorld) -> None:
    started = started_test(draft)
    response = draft.response_b64(started.request_id)
    passed(draft.post_acs(response, started.cookies))
    again = draft.post_acs(response, started.cookies)
    assert again.status == 403 and "Connection test failed" in again.text
    assert "already used once" in again.text


def test_a_refused_test_shows_the_reason_and_its_fix(draft: SsoWorld) -> None:
    resp = run_test(draft, "bob@elsewhere.test")
    assert resp.status == 403
    assert "Connection test failed" in resp.text and "SSO auth failed" not in resp.text
    assert "The email&#x27;s domain is not a verified domain of this connection." in resp.text
    assert "Verify the domain" in resp.text
    entry = trace_entry(draft, reference_of(resp))
    assert (entry["reason"], entry["test"], entry["started_by"]) == ("domain_not_verified", True, ADMIN_EMAIL)
    assert draft.owner("GET", f"/connections/{draft.connection_id}").json()["test_success_at"] is None


def test_an_entra_error_is_explained_and_its_text_never_kept(draft: SsoWorld) -> None:
    started = started_test(draft)
    resp = idp_error(draft, started, REQUEST_DENIED, ENTRA_50105)
    assert resp.status == 400 and "Connection test failed" in resp.text
    text = unescape(resp.text)
    assert "AADSTS50105" in text and "Users and groups" in text  # the table's fix
    assert "RequestDenied" in text and "Responder" in text
    assert "victim" not in text and "acme-app" not in text  # the StatusMessage's free text is not shown
    entry = trace_entry(draft, reference_of(resp))
    assert (entry["reason"], entry["test"]) == ("status_not_success", True)  # one by one, not counted
    assert entry["idp_status"]["code"] == "urn:oasis:names:tc:SAML:2.0:status:Responder"
    assert entry["idp_status"]["second_code"] == REQUEST_DENIED
    assert entry["idp_status"]["aadsts"] == "AADSTS50105"
    assert [g["code"] for g in entry["idp_status"]["guidance"]] == ["AADSTS50105", "RequestDenied", "Responder"]
    stored = [i for i in stored_items("login_trace") if i["reference"] == entry["reference"]]
    assert stored and all("victim" not in str(i) and "acme-app" not in str(i) for i in stored)


def test_a_sign_in_refused_by_the_idp_is_counted_with_its_codes(ready: SsoWorld) -> None:
    started = ready.start()
    entry = refused(ready, idp_error(ready, started, REQUEST_DENIED, ENTRA_50105), "status_not_success")
    assert entry["test"] is False
    assert entry["idp_status"]["aadsts"] == "AADSTS50105"
    assert "(AADSTS50105)" in entry["detail"] and "victim" not in entry["detail"]


# ---- SSO proven -------------------------------------------------------------------------------------------


def test_a_successful_test_proves_sso_for_password_login(ready: SsoWorld) -> None:
    ready.invite_and_accept(BREAK_GLASS, role="owner")
    path = f"/domains/{ready.domain}/password-login"
    blocked = ready.owner("PUT", path, {"enabled": False})
    assert (blocked.status, error_code(blocked)) == (409, "sso_not_proven")
    assert run_test(ready, "stranger@elsewhere.test").status == 403  # a refused test proves nothing
    assert error_code(ready.owner("PUT", path, {"enabled": False})) == "sso_not_proven"
    passed(run_test(ready, "stranger@acme.test"))  # nobody invited under that name: the IdP and SP agree
    assert ready.owner("PUT", path, {"enabled": False}).status == 200


def test_a_tenant_whose_sso_access_ends_can_neither_start_nor_finish_a_test(draft: SsoWorld) -> None:
    unopened = link_of(draft)
    started = started_test(draft)
    assert draft.support("revoke", reason="contract ended")["status"] == 200
    assert open_link(draft, unopened).status == 400  # the link starts nothing any more
    resp = draft.post_acs(draft.response_b64(started.request_id), started.cookies)
    assert resp.status == 403 and "Connection test failed" in resp.text
    assert "no access to Enterprise SSO" in resp.text
    asked = ask_link(draft)
    assert (asked.status, error_code(asked)) == (403, "sso_not_available")


def test_the_sample_event_asks_for_a_link(draft: SsoWorld) -> None:
    """events/connections_test.json, as `sam local invoke -e` runs it, with the connection's real id."""
    text = (REPO_ROOT / "events" / "connections_test.json").read_text()
    event = json.loads(text.replace("conn_0123456789abcdef0123", draft.connection_id))
    result = invoke(functions()["ConnectionsFunction"], event)
    assert result["statusCode"] == 200, result
    assert f"/saml/{draft.connection_id}/test?token=" in json.loads(result["body"])["redirect_url"]
