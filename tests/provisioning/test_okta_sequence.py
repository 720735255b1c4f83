"""Okta's SCIM 2.0 provisioning, replayed with scim2-client's own models over HTTP: a paged userName query
(startIndex=1&count=100) before create, full replacement with PUT for profile pushes, deactivation by a path-less
replace of active, and Push Groups (create with members, replace the name, add and remove members)."""

from __future__ import annotations

from scim2_models import Group, GroupMember, ListResponse, Name, PatchOp, SearchRequest

from tests.support.provisioning import ScimUser, turn_on
from tests.support.sso_world import code_of, reference_of


def lookup(client, user_name: str) -> ListResponse:
    found = client.query(
        ScimUser, query_parameters=SearchRequest(filter=f'userName eq "{user_name}"', start_index=1, count=100)
    )
    assert isinstance(found, ListResponse)
    return found


def test_okta_user_push_profile_update_and_deactivation(world, scim_client):
    client = scim_client(turn_on(world)["token"])
    assert lookup(client, "heidi@acme.example").total_results == 0
    heidi = client.create(
        ScimUser(
            user_name="heidi@acme.example",
            name=Name(given_name="Heidi", family_name="Klum"),
            emails=[{"value": "heidi@acme.example", "type": "work", "primary": True}],
            display_name="Heidi Klum",
            locale="en-US",
            external_id="00u1abcdEFGH",
            active=True,
        )
    )
    assert lookup(client, "heidi@acme.example").resources[0].id == heidi.id

    # Okta pushes profile changes as a full PUT of the resource it read.
    current = client.query(ScimUser, heidi.id)
    current.name = Name(given_name="Heidi", family_name="Schmidt")
    current.title = "Director"
    replaced = client.replace(current)
    assert replaced.name.family_name == "Schmidt" and replaced.title == "Director"
    assert replaced.meta.version == 'W/"1"'
    assert world.redeem(code_of(world.login("heidi@acme.example"))).status == 200

    # Deactivation: {"op": "replace", "value": {"active": false}}.
    client.modify(ScimUser, heidi.id, PatchOp[ScimUser](operations=[{"op": "replace", "value": {"active": False}}]))
    assert client.query(ScimUser, heidi.id).active is False
    reference = reference_of(world.login("heidi@acme.example"))
    assert next(e for e in world.trace() if e["reference"] == reference)["reason"] == "user_deactivated"


def test_okta_push_groups(world, scim_client):
    client = scim_client(turn_on(world)["token"])
    ivan = client.create(ScimUser(user_name="ivan@acme.example", emails=[{"value": "ivan@acme.example"}]))
    judy = client.create(ScimUser(user_name="judy@acme.example", emails=[{"value": "judy@acme.example"}]))

    group = client.create(Group(display_name="Engineering", members=[GroupMember(value=ivan.id)]))
    assert [m.value for m in group.members] == [ivan.id]

    client.modify(
        Group,
        group.id,
        PatchOp[Group](
            operations=[
                {"op": "replace", "value": {"id": group.id, "displayName": "Engineering EU"}},
                {"op": "add", "path": "members", "value": [{"value": judy.id, "display": "judy@acme.example"}]},
            ]
        ),
    )
    current = client.query(Group, group.id)
    assert current.display_name == "Engineering EU"
    assert {m.value for m in current.members} == {ivan.id, judy.id}

    client.modify(
        Group, group.id, PatchOp[Group](operations=[{"op": "remove", "path": f'members[value eq "{ivan.id}"]'}])
    )
    assert [m.value for m in client.query(Group, group.id).members] == [judy.id]

    # Okta also replaces a group whole.
    current = client.query(Group, group.id)
    current.members = [GroupMember(value=ivan.id)]
    replaced = client.replace(current)
    assert [m.value for m in replaced.members] == [ivan.id]
    client.delete(Group, group.id)
    found = client.query(Group, query_parameters=SearchRequest(filter='displayName eq "Engineering EU"'))
    assert found.total_results == 0
