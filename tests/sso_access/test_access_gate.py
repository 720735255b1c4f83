"""A tenant without support's grant cannot configure SSO and is told why; granting opens it (issue 16).

Domain verification stays open, and so do the safe directions of the kill switches (SSO off, password login on).
"""

from __future__ import annotations

from typing import Any

import pytest

from sso_core.models.sso_access import SsoNotAvailable
from tests.support.sso_world import SsoWorld

pytestmark = pytest.mark.integration

SOME_CONNECTION = "conn_0123456789abcdef0123"


def error(resp: Any) -> tuple[int, str]:
    return resp.status, resp.json()["error"]["code"]


def test_without_access_every_sso_route_answers_sso_not_available(no_access: SsoWorld) -> None:
    world = no_access
    world.verify_domain()  # domain verification needs no access
    assert world.owner("GET", f"/domains/{world.domain}").status == 200
    refused = [
        ("POST", "/connections", {"domains": [world.domain]}),
        ("GET", "/connections", None),
        ("GET", f"/connections/{SOME_CONNECTION}", None),
        ("PATCH", f"/connections/{SOME_CONNECTION}", {"binding": "redirect"}),
        ("PUT", f"/connections/{SOME_CONNECTION}/idp", {"metadata_xml": "<EntityDescriptor/>"}),
        ("GET", f"/connections/{SOME_CONNECTION}/logins", None),
        ("PUT", f"/connections/{SOME_CONNECTION}/status", {"enabled": True}),
        ("PUT", f"/domains/{world.domain}/password-login", {"enabled": False}),
    ]
    for method, path, body in refused:
        resp = world.owner(method, path, body)
        assert error(resp) == (403, "sso_not_available"), (method, path, resp.text)
        assert "contact our support team" in resp.json()["error"]["message"].lower()
        assert resp.json()["error"]["message"] == SsoNotAvailable.default_message
    # Switching password login on (the safe direction) is never refused.
    assert world.owner("PUT", f"/domains/{world.domain}/password-login", {"enabled": True}).status == 200
    # A member is refused for their role first: the answer never tells them about the tenant's plan.
    member = world.api.call("GET", "/connections", tenant=world.tenant, role="member")
    assert error(member) == (403, "forbidden")
    # Public discovery: password, like any domain without SSO.
    found = world.api.call("POST", "/login/discover", {"email": "alice@acme.test"}).json()
    assert found["method"] == "password" and found["password_allowed"] is True


def test_grant_opens_sso_configuration_and_is_audited(no_access: SsoWorld) -> None:
    world = no_access
    world.verify_domain()
    assert error(world.owner("POST", "/connections", {"domains": [world.domain]})) == (403, "sso_not_available")
    answer = world.support("grant", plan="subscription_bundle")
    assert answer["status"] == 200
    access = answer["access"]
    assert (access["access"], access["plan"], access["granted_by"]) == (
        "granted",
        "subscription_bundle",
        "support@vendor.example",
    )
    assert access["granted_at"]
    world.create_connection()
    assert world.import_idp().status == 200
    assert world.enable().status == 200
    world.invite_and_accept("alice@acme.test")
    assert world.login().status == 302
    assert world.support("show")["access"]["plan"] == "subscription_bundle"
    # The same grant again changes nothing; a new plan is a new grant.
    assert world.support("grant", plan="subscription_bundle")["access"]["message"] == "No change."
    assert world.support("grant", plan="contract")["access"]["plan"] == "contract"
    entries = world.owner("GET", "/audit", query="limit=200").json()["entries"]
    grants = [e for e in entries if e["action"] == "sso_access.granted"]
    assert [(g["before"], g["after"]) for g in grants] == [
        ({"status": "granted", "plan": "subscription_bundle"}, {"status": "granted", "plan": "contract"}),
        (None, {"status": "granted", "plan": "subscription_bundle"}),
    ]
    assert grants[0]["actor"] == {"kind": "support", "email": "support@vendor.example", "role": "support"}


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ({"action": "grant", "plan": "basic"}, "plan_not_eligible"),
        ({"action": "grant"}, "invalid_request"),
        ({"action": "grant", "plan": "contract", "tenant_id": "bad tenant/../x"}, "invalid_request"),
        ({"action": "grant", "plan": "contract", "tenant_id": ""}, "invalid_request"),
        ({"action": "grant", "plan": "contract", "operator": ""}, "invalid_request"),
        ({"action": "delete"}, "invalid_request"),
        ({"action": "grant", "plan": "contract", "extra": 1}, "invalid_request"),
    ],
    ids=["basic-plan", "no-plan", "bad-tenant", "empty-tenant", "no-operator", "unknown-action", "unknown-field"],
)
def test_bad_commands_are_refused_and_change_nothing(no_access: SsoWorld, command: dict[str, Any], code: str) -> None:
    answer = no_access.support(**command)
    assert answer["status"] == 400 and answer["error"]["code"] == code, answer
    assert no_access.support("show")["access"]["access"] == "none"


def test_an_http_event_never_reaches_the_operator_function(no_access: SsoWorld) -> None:
    """Even if a route were wired to it by mistake: an API Gateway event with an owner's JWT claims is refused."""
    from sso_local.http_events import http_event
    from sso_local.lambda_runtime import invoke
    from sso_local.template import functions

    event = http_event(
        "POST",
        "/support/access",
        route_path="/support/access",
        body='{"action": "grant", "tenant_id": "acme", "plan": "contract", "operator": "me"}',
        claims={"tenant_id": "acme", "email": "owner@acme.example", "roles": ["owner"]},
    )
    event.update({"action": "grant", "tenant_id": "acme", "plan": "contract", "operator": "owner@acme.example"})
    answer = invoke(functions()["SupportAccessFunction"], event)
    assert answer["status"] == 403 and answer["error"]["code"] == "forbidden"
    assert invoke(functions()["SupportAccessFunction"], ["grant"])["status"] == 400
    assert no_access.support("show")["access"]["access"] == "none"
