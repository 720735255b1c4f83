"""A SCIM token of tenant A never reads or writes tenant B: ids of B are 404 to A, lists of A hold only A, and A
cannot provision an email of B's verified domain."""

from __future__ import annotations

from tests.support.provisioning import turn_on

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def user(name: str) -> dict:
    return {"schemas": [CORE], "userName": name, "emails": [{"value": name, "type": "work"}]}


def test_a_token_of_one_tenant_never_reaches_another(world, globex, raw_http):
    acme = raw_http(turn_on(world)["token"])
    other = raw_http(turn_on(globex)["token"])
    gina = other.post("/Users", json=user("gina@globex.example")).json()
    team = other.post("/Groups", json={"schemas": [GROUP], "displayName": "Team", "members": [{"value": gina["id"]}]})
    team_id = team.json()["id"]
    acme.post("/Users", json=user("alice@acme.example"))

    # Reads: 404 by id, nothing by filter or list.
    assert acme.get(f"/Users/{gina['id']}").status_code == 404
    assert acme.get(f"/Groups/{team_id}").status_code == 404
    assert acme.get("/Users", params={"filter": 'userName eq "gina@globex.example"'}).json()["totalResults"] == 0
    assert [u["userName"] for u in acme.get("/Users").json()["Resources"]] == ["alice@acme.example"]
    assert acme.get("/Groups", params={"filter": 'displayName eq "Team"'}).json()["totalResults"] == 0
    assert acme.get("/Groups").json()["totalResults"] == 0

    # Writes: 404, and B is unchanged.
    deactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    assert acme.patch(f"/Users/{gina['id']}", json=deactivate).status_code == 404
    assert acme.put(f"/Users/{gina['id']}", json=user("gina@globex.example")).status_code == 404
    assert acme.delete(f"/Users/{gina['id']}").status_code == 404
    assert acme.delete(f"/Groups/{team_id}").status_code == 404
    remove = {"schemas": [PATCH], "Operations": [{"op": "remove", "path": "members"}]}
    assert acme.patch(f"/Groups/{team_id}", json=remove).status_code == 404
    # A's group cannot take B's user as a member either.
    mine = {"schemas": [GROUP], "displayName": "Mine", "members": [{"value": gina["id"]}]}
    assert acme.post("/Groups", json=mine).status_code == 400

    # Provisioning B's domain from A's token is refused (not a verified domain of A).
    assert acme.post("/Users", json=user("greg@globex.example")).status_code == 400

    current = other.get(f"/Users/{gina['id']}").json()
    assert current["active"] is True and current["meta"]["version"] == 'W/"1"'  # 1: added to Team
    assert [m["value"] for m in other.get(f"/Groups/{team_id}").json()["members"]] == [gina["id"]]
    assert [u["email"] for u in globex.owner("GET", "/users").json()["users"]] == ["gina@globex.example"]

    # Each tenant's activity holds only its own requests.
    acme_activity = world.owner("GET", "/provisioning/activity").json()["entries"]
    assert gina["id"] not in {e["target"] for e in acme_activity if e["outcome"] == "applied"}
    globex_activity = globex.owner("GET", "/provisioning/activity").json()["entries"]
    assert {e["outcome"] for e in globex_activity} == {"applied"}
