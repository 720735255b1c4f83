"""The sample events under events/ drive the handlers as Lambda would (HTTP API v2.0, authorizer claims)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from sso_local.lambda_runtime import invoke
from sso_local.template import REPO_ROOT, routes
from tests.support.admins import Admin, accept
from tests.support.api import Api
from tests.support.mail import sent_mail

EVENTS = REPO_ROOT / "events"
INVITATIONS = REPO_ROOT / "functions" / "invitations"
USERS = REPO_ROOT / "functions" / "users"


def load(name: str, **path_id: str) -> dict[str, Any]:
    event = json.loads((EVENTS / f"{name}.json").read_text())
    if path_id:
        old = event["pathParameters"]["id"]
        new = path_id["id"]
        event["pathParameters"]["id"] = new
        event["rawPath"] = event["rawPath"].replace(old, new)
        event["requestContext"]["http"]["path"] = event["rawPath"]
    return copy.deepcopy(event)


@pytest.fixture
def acme(api: Api, ses: None) -> Admin:
    # The same tenant, role and accounts as the claims in the sample events.
    return Admin(api, "acme", accounts=["acct-1", "acct-2"])


def test_create_event(acme: Admin) -> None:
    result = invoke(INVITATIONS, load("invitations_create"))
    assert result["statusCode"] == 201
    body = json.loads(result["body"])
    assert body["email"] == "new.user@acme.example" and body["status"] == "pending"
    mail = sent_mail("new.user@acme.example")
    assert len(mail) == 1 and "Acme Corp" in mail[0].body  # the event's tenant_name claim
    # The event carries an Idempotency-Key: invoking it again answers the same and mails nothing.
    again = invoke(INVITATIONS, load("invitations_create"))
    assert again["statusCode"] == 201 and json.loads(again["body"]) == body
    assert len(sent_mail()) == 1


def test_list_event(acme: Admin) -> None:
    acme.invite("jane@example.com")
    result = invoke(INVITATIONS, load("invitations_list"))
    assert result["statusCode"] == 200
    assert [i["email"] for i in json.loads(result["body"])["invitations"]] == ["jane@example.com"]


def test_revoke_and_resend_events(acme: Admin) -> None:
    invitation_id = acme.invite("jane@example.com").json()["id"]
    assert invoke(INVITATIONS, load("invitations_resend", id=invitation_id))["statusCode"] == 200
    assert len(sent_mail()) == 2
    assert invoke(INVITATIONS, load("invitations_revoke", id=invitation_id))["statusCode"] == 204
    assert invoke(INVITATIONS, load("invitations_resend"))["statusCode"] == 404  # the placeholder id


def test_accept_event(acme: Admin) -> None:
    acme.invite("jane@example.com")
    event = load("invitations_accept")
    assert "authorizer" not in event["requestContext"]  # a public route
    assert invoke(INVITATIONS, event)["statusCode"] == 410  # the placeholder token
    event["body"] = json.dumps({"token": sent_mail()[0].token})
    result = invoke(INVITATIONS, event)
    assert result["statusCode"] == 200 and json.loads(result["body"])["email"] == "jane@example.com"


def test_user_events(acme: Admin) -> None:
    acme.invite("jane@example.com")
    user_id = accept(acme.api, sent_mail()[0].token).json()["user_id"]
    listed = invoke(USERS, load("users_list"))
    assert listed["statusCode"] == 200 and json.loads(listed["body"])["users"][0]["id"] == user_id
    patched = invoke(USERS, load("users_patch", id=user_id))
    assert patched["statusCode"] == 200 and json.loads(patched["body"])["role"] == "admin"
    assert invoke(USERS, load("users_delete", id=user_id))["statusCode"] == 204
    assert invoke(USERS, load("users_delete", id=user_id))["statusCode"] == 404


def test_template_routes() -> None:
    found = {(r.method, r.path): (r.function, r.public) for r in routes()}
    expected = {
        ("POST", "/invitations"): ("InvitationsFunction", False),
        ("GET", "/invitations"): ("InvitationsFunction", False),
        ("DELETE", "/invitations/{id}"): ("InvitationsFunction", False),
        ("POST", "/invitations/{id}/resend"): ("InvitationsFunction", False),
        ("POST", "/invitations/accept"): ("InvitationsFunction", True),
        ("GET", "/invitations/accept"): ("InvitationsFunction", True),
        ("GET", "/users"): ("UsersFunction", False),
        ("PATCH", "/users/{id}"): ("UsersFunction", False),
        ("DELETE", "/users/{id}"): ("UsersFunction", False),
    }
    assert {k: found.get(k) for k in expected} == expected


def test_every_sample_event_is_used() -> None:
    names = {p.stem for p in EVENTS.glob("*.json") if p.stem.startswith(("invitations_", "users_"))}
    source = Path(__file__).read_text()
    assert names and all(f'"{name}"' in source for name in names)
