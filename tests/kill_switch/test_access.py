"""Roles and tenants: only an owner switches SSO and password login or reads the audit log, of their tenant."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import error_code
from tests.support.audit import audit
from tests.support.sso_world import SsoWorld

pytestmark = pytest.mark.integration


def routes(world: SsoWorld) -> list[tuple[str, str, dict | None]]:
    return [
        ("PUT", f"/connections/{world.connection_id}/status", {"enabled": False}),
        ("PUT", f"/domains/{world.domain}/password-login", {"enabled": False}),
        ("GET", "/audit", None),
    ]


@pytest.mark.parametrize("role", ["admin", "member"])
def test_admins_and_members_are_forbidden(ready: SsoWorld, role: str) -> None:
    for method, path, body in routes(ready):
        resp = ready.api.call(method, path, body, tenant=ready.tenant, role=role)
        assert resp.status == 403 and error_code(resp) == "forbidden", (method, path, resp.text)
    assert ready.owner("GET", f"/connections/{ready.connection_id}").json()["status"] == "enabled"


def test_a_token_is_required(ready: SsoWorld) -> None:
    for method, path, body in routes(ready):
        assert ready.api.call(method, path, body).status == 401


def test_another_tenants_connection_domain_and_log_are_out_of_reach(ready: SsoWorld) -> None:
    def globex(method: str, path: str, body: dict | None = None, query: str = "") -> Any:
        return ready.api.call(method, path, body, tenant="globex", role="owner", query=query)

    status = globex("PUT", f"/connections/{ready.connection_id}/status", {"enabled": False})
    assert status.status == 404 and error_code(status) == "connection_not_found"
    password = globex("PUT", f"/domains/{ready.domain}/password-login", {"enabled": False})
    assert password.status == 404 and error_code(password) == "domain_not_found"
    log = globex("GET", "/audit")
    assert log.status == 200 and log.json() == {"entries": [], "next_cursor": None}
    # A cursor made from acme's log reads globex's partition only.
    acme_page = ready.owner("GET", "/audit", query="limit=1").json()
    assert acme_page["next_cursor"]
    other = globex("GET", "/audit", query=f"cursor={acme_page['next_cursor']}")
    assert other.status == 200 and other.json()["entries"] == []
    # Nothing changed for acme, and nothing of globex's refused attempts is in acme's log.
    assert ready.owner("GET", f"/connections/{ready.connection_id}").json()["status"] == "enabled"
    assert ready.owner("GET", f"/domains/{ready.domain}").json()["password_login"] is True
    assert all(e["actor"]["email"] != "owner@globex.example" for e in audit(ready))


@pytest.mark.parametrize(
    "body",
    [{}, {"enabled": "false"}, {"enabled": 0}, {"enabled": True, "extra": 1}],
    ids=["empty", "str", "int", "extra"],
)
def test_malformed_toggles_are_refused(ready: SsoWorld, body: dict) -> None:
    for method, path, _ in routes(ready)[:2]:
        resp = ready.owner(method, path, body)
        assert resp.status == 400 and error_code(resp) == "invalid_request", resp.text


def test_unknown_connection_and_domain(ready: SsoWorld) -> None:
    for path in ("/connections/conn_nope/status", "/connections/not-an-id/status"):
        resp = ready.owner("PUT", path, {"enabled": False})
        assert resp.status == 404 and error_code(resp) == "connection_not_found"
    resp = ready.owner("PUT", "/domains/unknown.test/password-login", {"enabled": True})
    assert resp.status == 404 and error_code(resp) == "domain_not_found"
