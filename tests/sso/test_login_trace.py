"""GET /connections/{id}/logins: every ACS outcome of a connection (time, reference, result, reason, detail, the
asserted email's domain), owner only, newest first, paginated, searchable by reference, never the message."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.support.sso_checks import post, stored_items
from tests.support.sso_world import SsoWorld, reference_of

pytestmark = pytest.mark.integration


def logins(world: SsoWorld, query: str = "", **kwargs):
    return world.owner("GET", f"/connections/{world.connection_id}/logins", query=query, **kwargs)


@pytest.fixture
def five_outcomes(ready: SsoWorld) -> list[str]:
    """References of five logins, oldest first: success, not invited, unsolicited, success, replayed."""
    references = []
    resp = ready.login()
    references.append(_reference_of_success(ready, resp))
    started = ready.start("nobody@acme.test")
    references.append(reference_of(post(ready, ready.response_xml(started.request_id, "nobody@acme.test"), started)))
    references.append(reference_of(post(ready, ready.response_xml(None), ready.start())))
    started = ready.start()
    message = ready.response_xml(started.request_id)
    references.append(_reference_of_success(ready, post(ready, message, started)))
    references.append(reference_of(post(ready, message, started)))
    return references


def _reference_of_success(world: SsoWorld, resp) -> str:
    assert resp.status == 302
    return str(world.trace()[0]["reference"])  # a success shows no page: its reference is only in the trace


def test_newest_first_with_every_field(ready: SsoWorld, five_outcomes: list[str]) -> None:
    entries = logins(ready).json()["logins"]
    assert [e["reference"] for e in entries] == five_outcomes[::-1]
    assert [e["result"] for e in entries] == ["replayed", "success", "unsolicited", "user_not_invited", "success"]
    assert [e["reason"] for e in entries] == [e["result"] for e in entries]
    assert [e["email_domain"] for e in entries] == ["acme.test", "acme.test", None, "acme.test", "acme.test"]
    for entry in entries:
        assert set(entry) == {
            *("time", "reference", "result", "reason", "detail", "email_domain", "explanation", "fix"),
            *("test", "started_by", "idp_status", "warnings", "certificate"),
        }
        assert datetime.fromisoformat(entry["time"]).tzinfo is not None and entry["detail"]
        # Sign-ins, not connection tests; no IdP error status, warning or named certificate among these outcomes.
        assert (entry["test"], entry["started_by"], entry["idp_status"]) == (False, None, None)
        assert (entry["warnings"], entry["certificate"]) == ([], None)


def test_pages_follow_the_cursor(ready: SsoWorld, five_outcomes: list[str]) -> None:
    seen, cursor, pages = [], None, 0
    while True:
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = logins(ready, query).json()
        assert len(body["logins"]) <= 2
        seen += [e["reference"] for e in body["logins"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == five_outcomes[::-1] and pages >= 3
    for query in ("limit=0", "limit=201", "limit=ten", "cursor=not-a-cursor", "cursor=%FF%FE"):
        resp = logins(ready, query)
        assert resp.status == 400 and resp.json()["error"]["code"] == "invalid_request", query


def test_search_by_reference(ready: SsoWorld, five_outcomes: list[str]) -> None:
    oldest = five_outcomes[0]
    for query in (f"reference={oldest}", f"reference={oldest}&limit=1"):
        body = logins(ready, query).json()
        assert [e["reference"] for e in body["logins"]] == [oldest], query
        assert body["next_cursor"] is None
    assert logins(ready, "reference=SSO-0000-0000-0000").json() == {"logins": [], "next_cursor": None}


def test_owner_only_and_own_tenant_only(ready: SsoWorld, globex: SsoWorld, five_outcomes: list[str]) -> None:
    path = f"/connections/{ready.connection_id}/logins"
    for role in ("admin", "member"):
        resp = ready.api.call("GET", path, tenant="acme", role=role)
        assert resp.status == 403 and "SSO-" not in resp.text
    resp = globex.owner("GET", path)
    assert resp.status == 404 and resp.json()["error"]["code"] == "connection_not_found"
    assert globex.trace() == []  # globex's connection has seen nothing


def test_the_trace_never_holds_the_message_or_the_address(ready: SsoWorld, five_outcomes: list[str]) -> None:
    started = ready.start()  # and a tampered one, whose refusal could be tempted to quote it
    root_xml = ready.response_xml(started.request_id).replace("Success", "Requester")
    post(ready, root_xml, started)
    raw = stored_items("login_trace") + stored_items("login_trace_aggregate")  # junk is counted, not listed
    assert len(raw) == 6
    raw += stored_items("login_trace_ref")
    text = repr(raw) + logins(ready).text
    assert "<" not in text and "alice" not in text and "nobody" not in text and "@" not in text
    assert "SAMLResponse" not in text and "Assertion ID" not in text
