"""The owner's side: the SCIM token (shown once, stored hashed, rotated, revoked, audited), the group mappings that
give roles and accounts, and the activity log."""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest

from tests.support.aws_env import TABLE
from tests.support.provisioning import turn_on
from tests.support.sso_world import code_of

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def user(name: str) -> dict:
    return {"schemas": [CORE], "userName": name, "emails": [{"value": name, "type": "work"}]}


def all_items() -> list[dict]:
    return boto3.client("dynamodb", region_name="us-east-1").scan(TableName=TABLE)["Items"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/provisioning/scim-token"),
        ("DELETE", "/provisioning/scim-token"),
        ("GET", "/provisioning/settings"),
        ("PUT", "/provisioning/settings"),
        ("GET", "/provisioning/activity"),
    ],
)
def test_only_the_owner_manages_provisioning(world, method, path):
    resp = world.api.call(method, path, {} if method == "PUT" else None, tenant=world.tenant, role="admin")
    assert resp.status == 403
    assert resp.json()["error"]["code"] == "forbidden"


def test_the_token_is_shown_once_and_stored_only_hashed(world, raw_http, server):
    on = turn_on(world)
    assert on["base_url"] == f"{server.url}/scim/v2"
    assert on["token"].startswith("scim_") and len(on["token"]) > 40
    settings = world.owner("GET", "/provisioning/settings").json()
    assert settings["enabled"] is True and "token" not in settings and settings["base_url"] == on["base_url"]
    stored = json.dumps(all_items())
    assert on["token"] not in stored
    assert f"SCIMTOKEN#{hashlib.sha256(on['token'].encode()).hexdigest()}" in stored
    assert raw_http(on["token"]).get("/Users").status_code == 200


def test_a_new_token_replaces_the_old_and_revocation_ends_access(world, raw_http):
    first = turn_on(world)["token"]
    second = turn_on(world)["token"]
    assert first != second
    assert raw_http(first).get("/Users").status_code == 401
    assert raw_http(second).get("/Users").status_code == 200

    revoked = world.owner("DELETE", "/provisioning/scim-token")
    assert revoked.status == 204
    assert raw_http(second).get("/Users").status_code == 401
    again = world.owner("DELETE", "/provisioning/scim-token")
    assert again.status == 404 and again.json()["error"]["code"] == "scim_token_not_found"
    assert world.owner("GET", "/provisioning/settings").json()["enabled"] is False

    actions = [e["action"] for e in world.owner("GET", "/audit").json()["entries"]]
    assert actions[:3] == ["provisioning.token_revoked", "provisioning.token_rotated", "provisioning.token_created"]
    assert first not in json.dumps(world.owner("GET", "/audit").json())


@pytest.mark.parametrize(
    ("settings", "code"),
    [
        ({"group_mappings": [{"group": "Owners", "role": "owner", "accounts": []}]}, "invalid_group_mapping"),
        ({"group_mappings": [{"group": "A", "role": "boss", "accounts": []}]}, "invalid_group_mapping"),
        (
            {"group_mappings": [{"group": "Sales", "role": "member"}, {"group": "SALES", "role": "admin"}]},
            "invalid_group_mapping",
        ),
        ({"default_role": "owner"}, "invalid_group_mapping"),
        ({"group_mappings": [{"group": "A", "role": "admin", "accounts": ["acct-9"]}]}, "invalid_accounts"),
        ({"default_accounts": ["someone-elses"]}, "invalid_accounts"),
        ({"group_mappings": [], "surprise": True}, "invalid_request"),
    ],
)
def test_settings_refuse_what_scim_may_not_grant(world, settings, code):
    resp = world.owner("PUT", "/provisioning/settings", settings)
    assert resp.status == 400, resp.text
    assert resp.json()["error"]["code"] == code
    assert world.owner("GET", "/provisioning/settings").json()["group_mappings"] == []


def owner_with_accounts(world):
    return world.api.authority.issue(world.tenant, "owner@acme.example", "owner", ["acct-1", "acct-2"])


def test_group_mappings_give_roles_and_accounts_and_take_them_back(world, raw_http):
    token = owner_with_accounts(world)
    saved = world.api.call(
        "PUT",
        "/provisioning/settings",
        {
            "group_mappings": [{"group": "MessageMedia Admins", "role": "admin", "accounts": ["acct-1", "acct-2"]}],
            "default_role": "member",
            "default_accounts": ["acct-1"],
        },
        token=token,
    )
    assert saved.status == 200, saved.text
    http = raw_http(turn_on(world)["token"])
    frank = http.post("/Users", json=user("frank@acme.example")).json()
    members = {u["email"]: u for u in world.owner("GET", "/users").json()["users"]}
    assert (members["frank@acme.example"]["role"], members["frank@acme.example"]["accounts"]) == ("member", ["acct-1"])

    group = http.post("/Groups", json={"schemas": [GROUP], "displayName": "messagemedia admins"}).json()
    add = {"schemas": [PATCH], "Operations": [{"op": "Add", "path": "members", "value": [{"value": frank["id"]}]}]}
    assert http.patch(f"/Groups/{group['id']}", json=add).status_code == 200
    profile = world.redeem(code_of(world.login("frank@acme.example"))).json()["user"]
    assert (profile["role"], profile["accounts"]) == ("admin", ["acct-1", "acct-2"])

    remove = {
        "schemas": [PATCH],
        "Operations": [{"op": "Remove", "path": "members", "value": [{"value": frank["id"]}]}],
    }
    assert http.patch(f"/Groups/{group['id']}", json=remove).status_code == 200
    member = next(u for u in world.owner("GET", "/users").json()["users"] if u["id"] == frank["id"])
    assert (member["role"], member["accounts"]) == ("member", ["acct-1"])


def test_a_group_write_touching_too_many_members_is_refused_whole(world, raw_http, monkeypatch):
    from sso_core.logic import scim

    monkeypatch.setattr(scim, "MAX_MEMBER_CHANGES", 2)
    http = raw_http(turn_on(world)["token"])
    ids = [http.post("/Users", json=user(f"u{n}@acme.example")).json()["id"] for n in range(3)]
    group = http.post("/Groups", json={"schemas": [GROUP], "displayName": "Big"}).json()
    add = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}]}
    resp = http.patch(f"/Groups/{group['id']}", json=add)
    assert resp.status_code == 400 and resp.json()["scimType"] == "invalidValue"
    assert "members" not in http.get(f"/Groups/{group['id']}").json()


def test_activity_is_newest_first_and_paginated(world, raw_http):
    http = raw_http(turn_on(world)["token"])
    for n in range(3):
        http.post("/Users", json=user(f"p{n}@acme.example"))
    first = world.owner("GET", "/provisioning/activity", query="limit=2").json()
    assert [e["summary"] for e in first["entries"]] == ["p2@acme.example", "p1@acme.example"]
    rest = world.owner("GET", "/provisioning/activity", query=f"limit=2&cursor={first['next_cursor']}").json()
    assert [e["summary"] for e in rest["entries"]] == ["p0@acme.example"]
    bad = world.owner("GET", "/provisioning/activity", query="cursor=QVVESVQjeA")
    assert bad.status == 400
