"""Microsoft Entra's provisioning service, replayed with a SCIM client library over HTTP.

Payloads are the shapes Entra's documentation shows for its SCIM client (capitalised ops, ``emails[type eq "work"]
.value`` paths, ``active`` as the string "False", members added and removed by value, a random userName probe),
sent as Entra sends them (``check_request_payload=False``: the client library would otherwise normalise them).
"""

from __future__ import annotations

import uuid

from scim2_models import Context, Group, ListResponse, SearchRequest
from scim2_models import EnterpriseUser as EnterpriseUserField

from tests.support.provisioning import ScimUser, turn_on

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def entra_user(upn: str, mail: str | None = None) -> dict:
    return {
        "schemas": [CORE, ENTERPRISE],
        "externalId": str(uuid.uuid4()),
        "userName": upn,
        "active": True,
        "displayName": "Test User",
        "emails": [{"primary": True, "type": "work", "value": mail or upn}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Test User", "familyName": "User", "givenName": "Test"},
        "roles": [],
        ENTERPRISE: {"department": "Sales", "employeeNumber": "4711"},
    }


def _read(url: str, body: dict, ctx: Context):
    """The response read as the resource it must be (the library returns unread payloads as dicts)."""
    model = ScimUser if url.startswith("/Users") else Group
    return model.model_validate(body, scim_ctx=ctx)


def post(client, url: str, payload: dict):
    """A POST of a payload as the provisioning service writes it (the library sends it untouched)."""
    body = client.create(resource=payload, check_request_payload=False, url=url)
    return _read(url, body, Context.RESOURCE_CREATION_RESPONSE)


def post_user(client, payload: dict) -> ScimUser:
    return post(client, "/Users", payload)


def patch(client, url: str, payload: dict):
    kind, _, resource_id = url.strip("/").partition("/")
    body = client.modify(ScimUser if kind == "Users" else Group, resource_id, payload, check_request_payload=False)
    return _read(url, body, Context.RESOURCE_PATCH_RESPONSE) if isinstance(body, dict) else body


def query(client, model, filter_: str, **extra) -> ListResponse:
    response = client.query(model, query_parameters=SearchRequest(filter=filter_, **extra))
    assert isinstance(response, ListResponse)
    return response


def test_entra_user_lifecycle_from_probe_to_hard_delete(world, scim_client):
    client = scim_client(turn_on(world)["token"])

    # 1. Entra checks the endpoint and credentials by querying a user that cannot exist: an empty list, not a 404.
    probe = query(client, ScimUser, f'userName eq "{uuid.uuid4()}"')
    assert probe.total_results == 0 and probe.resources in (None, [])

    # 2. Before every create, Entra looks the user up by its matching attribute.
    assert query(client, ScimUser, 'userName eq "Test_User_1@acme.example"').total_results == 0
    created = post_user(client, entra_user("Test_User_1@acme.example"))
    assert isinstance(created, ScimUser)
    assert created.id and created.active is True and created.meta.version == 'W/"0"'
    assert created.user_name == "Test_User_1@acme.example"
    assert created[EnterpriseUserField].department == "Sales"

    # ... and finds it afterwards, whatever the case of the userName (userName is not caseExact).
    again = query(client, ScimUser, 'userName eq "test_user_1@ACME.example"')
    assert again.total_results == 1 and again.resources[0].id == created.id

    # 3. Attribute updates: capitalised ops, a filtered path on emails, a sub-attribute path, an Add.
    patched = patch(
        client,
        f"/Users/{created.id}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "test.user.1@acme.example"},
                {"op": "Replace", "path": "name.familyName", "value": "Renamed"},
                {"op": "Add", "path": "title", "value": "Engineer"},
                {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Support"},
            ],
        },
    )
    assert patched.emails[0].value == "test.user.1@acme.example"
    assert patched.name.family_name == "Renamed" and patched.title == "Engineer"
    assert patched[EnterpriseUserField].department == "Support"
    assert patched.meta.version == 'W/"1"'
    # The member's email (what SSO matches) followed the work email.
    users = world.owner("GET", "/users").json()["users"]
    assert [u["email"] for u in users] == ["test.user.1@acme.example"]

    # 4. Soft delete: active sent as the string "False".
    patch(
        client,
        f"/Users/{created.id}",
        {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
    )
    assert client.query(ScimUser, created.id).active is False
    assert world.owner("GET", "/users").json()["users"][0]["status"] == "suspended"

    # ... and back, as a boolean in a path-less Replace.
    patch(
        client,
        f"/Users/{created.id}",
        {"schemas": [PATCH], "Operations": [{"op": "Replace", "value": {"active": True}}]},
    )
    assert client.query(ScimUser, created.id).active is True

    # 5. Hard delete: the membership is gone.
    client.delete(ScimUser, created.id)
    assert world.owner("GET", "/users").json()["users"] == []
    assert query(client, ScimUser, 'userName eq "Test_User_1@acme.example"').total_results == 0


def test_entra_group_membership_add_and_remove_by_value(world, scim_client):
    client = scim_client(turn_on(world)["token"])
    alice = post_user(client, entra_user("alice@acme.example"))
    bob = post_user(client, entra_user("bob@acme.example"))

    # Entra queries groups by displayName, without members, before creating them.
    none = query(client, Group, 'displayName eq "MessageMedia Admins"', excluded_attributes=["members"])
    assert none.total_results == 0
    group = post(
        client,
        "/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "MessageMedia Admins",
            "externalId": str(uuid.uuid4()),
            "members": [],
        },
    )

    patch(
        client,
        f"/Groups/{group.id}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "Add", "path": "members", "value": [{"value": alice.id}, {"value": bob.id}]}],
        },
    )
    listed = query(client, Group, 'displayName eq "messagemedia admins"', excluded_attributes=["members"])
    assert listed.total_results == 1 and listed.resources[0].members is None  # excluded as asked
    assert {m.value for m in client.query(Group, group.id).members} == {alice.id, bob.id}

    # Entra removes by value (a list under "value", no filter in the path).
    patch(
        client,
        f"/Groups/{group.id}",
        {"schemas": [PATCH], "Operations": [{"op": "Remove", "path": "members", "value": [{"value": alice.id}]}]},
    )
    assert [m.value for m in client.query(Group, group.id).members] == [bob.id]

    # The RFC's own form: a filtered path.
    patch(
        client,
        f"/Groups/{group.id}",
        {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{bob.id}"]'}]},
    )
    assert client.query(Group, group.id).members is None

    # Rename, then hard delete.
    patch(
        client,
        f"/Groups/{group.id}",
        {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "displayName", "value": "Admins"}]},
    )
    assert query(client, Group, 'displayName eq "Admins"').total_results == 1
    assert query(client, Group, 'displayName eq "MessageMedia Admins"').total_results == 0
    client.delete(Group, group.id)
    assert query(client, Group, 'displayName eq "Admins"').total_results == 0


def test_deleting_a_user_takes_it_out_of_its_groups(world, scim_client):
    client = scim_client(turn_on(world)["token"])
    carol = post_user(client, entra_user("carol@acme.example"))
    group = client.create(Group(display_name="Sales", members=[{"value": carol.id}]))
    client.delete(ScimUser, carol.id)
    assert client.query(Group, group.id).members is None


def test_the_client_discovers_the_service_from_its_own_documents(world, server):
    import httpx2
    from scim2_client.engines.httpx2 import SyncSCIMClient

    token = turn_on(world)["token"]
    with httpx2.Client(base_url=f"{server.url}/scim/v2", headers={"Authorization": f"Bearer {token}"}) as http:
        client = SyncSCIMClient(http)
        client.discover()
        config = client.provider.config
        assert config.patch.supported and config.filter.supported and config.filter.max_results == 200
        assert not config.bulk.supported and config.etag.supported
        user_model = client.provider.model_for("User")
        # The models rebuilt from our Schemas endpoint are good enough for the client to create a user with.
        created = client.create(user_model(user_name="dora@acme.example", emails=[{"value": "dora@acme.example"}]))
        assert created.id.startswith("usr_")
