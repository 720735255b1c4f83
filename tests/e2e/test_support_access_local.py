"""Support's access switch on the local stack: `sso-local access`, and no customer token reaching it (issue 16)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sso_local import cli
from sso_local.template import load_template, routes
from tests.support.walk import http

pytestmark = pytest.mark.integration


def test_the_operator_function_has_no_route_an_owner_token_could_use(stack: Any) -> None:
    assert "SupportAccessFunction" in load_template()["Resources"]
    assert not load_template()["Resources"]["SupportAccessFunction"]["Properties"].get("Events")
    assert all(r.function != "SupportAccessFunction" for r in routes())
    token = stack.authority.issue("acme", "owner@acme.test", "owner", ["acct-main"])
    command = {"action": "grant", "tenant_id": "acme", "plan": "contract", "operator": "owner@acme.test"}
    for path in ("/support/access", "/access", "/sso-access", "/tenants/acme/sso-access"):
        for method in ("POST", "PUT"):
            resp = stack.gateway.handle(
                method, path, headers={"authorization": f"Bearer {token}"}, body=json.dumps(command)
            )
            assert resp.status == 404, (method, path)
    # Nothing was granted: the owner still cannot configure SSO.
    listed = http("GET", f"{stack.url}/connections", token=token)
    assert (listed.status, listed.json()["error"]["code"]) == (403, "sso_not_available")


def test_sso_local_access_grants_and_revokes(stack: Any, capsys: pytest.CaptureFixture[str]) -> None:
    token = stack.authority.issue("acme", "owner@acme.test", "owner", ["acct-main"])
    assert cli.main(["access", "--tenant", "acme", "--grant", "--plan", "subscription_bundle", "--url", stack.url]) == 0
    granted = json.loads(capsys.readouterr().out)
    assert granted["access"]["access"] == "granted" and granted["access"]["plan"] == "subscription_bundle"
    assert http("GET", f"{stack.url}/connections", token=token).status == 200

    assert cli.main(["access", "--tenant", "acme", "--grant", "--plan", "basic", "--url", stack.url]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "plan_not_eligible"

    assert cli.main(["access", "--tenant", "acme", "--revoke", "--operator", "jane", "--url", stack.url]) == 0
    revoked = json.loads(capsys.readouterr().out)["access"]
    assert revoked["access"] == "revoked" and revoked["revoked_by"] == "jane"
    assert http("GET", f"{stack.url}/connections", token=token).status == 403
    assert cli.main(["access", "--tenant", "acme", "--url", stack.url]) == 0  # show
    assert json.loads(capsys.readouterr().out)["access"]["access"] == "revoked"


def test_sso_local_access_without_a_stack_says_how_to_start_one(capsys: pytest.CaptureFixture[str]) -> None:
    from sso_local.dns_server import free_port

    assert cli.main(["access", "--tenant", "acme", "--grant", "--url", f"http://127.0.0.1:{free_port()}"]) == 1
    assert "make run" in capsys.readouterr().err
    assert cli.main(["access", "--tenant", "acme", "--grant", "--url", "file:///etc/passwd"]) == 2


def test_bad_bodies_at_the_local_access_route(stack: Any) -> None:
    import urllib.error
    import urllib.request

    for body in (b"{", b"[1]", b'"grant"'):
        request = urllib.request.Request(
            f"{stack.url}/_local/access", data=body, method="POST", headers={"content-type": "application/json"}
        )
        try:
            urllib.request.urlopen(request, timeout=10)
            status = 200
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert status == 400, body
