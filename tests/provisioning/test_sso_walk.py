"""The issue's "done when": provisioning on, a SCIM-created user signs in through the real pysaml2 IdP without any
invitation, the client deactivates it, the next login is refused with the reason in the trace; plus what follows
from it (codes not yet redeemed, reactivation, hard delete) and invited users linked rather than duplicated."""

from __future__ import annotations

import pytest
from scim2_models import ListResponse, PatchOp, SearchRequest, UniquenessException

from tests.support.provisioning import ScimUser, turn_on
from tests.support.sso_world import code_of, reference_of

EMAIL = "erin@acme.example"


def deactivate(client, user_id: str, active: bool = False) -> None:
    client.modify(
        ScimUser,
        user_id,
        PatchOp[ScimUser](operations=[{"op": "replace", "path": "active", "value": active}]),
    )


def test_provisioned_user_signs_in_without_invitation_until_deactivated(world, scim_client):
    client = scim_client(turn_on(world)["token"])
    user = client.create(ScimUser(user_name=EMAIL, emails=[{"value": EMAIL, "type": "work", "primary": True}]))
    assert world.owner("GET", "/invitations").json()["invitations"] == []  # nobody was invited

    # Signs in through the IdP: a code, redeemed for the profile of the provisioned member.
    code = code_of(world.login(EMAIL))
    profile = world.redeem(code)
    assert profile.status == 200, profile.text
    assert profile.json()["user"]["user_id"] == user.id
    assert profile.json()["user"]["email"] == EMAIL

    deactivate(client, user.id)

    refused = world.login(EMAIL)
    assert refused.status != 302
    reference = reference_of(refused)
    entry = next(e for e in world.trace() if e["reference"] == reference)
    assert entry["reason"] == "user_deactivated"
    assert "deactivated" in entry["detail"]

    # The deactivation is in the audit log, written with the change.
    audit = world.owner("GET", "/audit").json()["entries"]
    assert audit[0]["action"] == "scim.user.deactivated" and audit[0]["target"] == user.id
    assert audit[0]["before"]["status"] == "active" and audit[0]["after"]["status"] == "suspended"

    # Reactivated, the user signs in again.
    deactivate(client, user.id, active=True)
    assert world.redeem(code_of(world.login(EMAIL))).status == 200


def test_a_code_issued_before_deactivation_is_refused_at_redemption(world, scim_client):
    client = scim_client(turn_on(world)["token"])
    user = client.create(ScimUser(user_name=EMAIL, emails=[{"value": EMAIL}]))
    code = code_of(world.login(EMAIL))
    deactivate(client, user.id)
    refused = world.redeem(code)
    assert refused.status == 400
    assert refused.json()["error"]["code"] == "invalid_code"


def test_a_code_issued_before_a_hard_delete_is_refused_and_the_next_login_too(world, scim_client):
    client = scim_client(turn_on(world)["token"])
    user = client.create(ScimUser(user_name=EMAIL, emails=[{"value": EMAIL}]))
    code = code_of(world.login(EMAIL))
    client.delete(ScimUser, user.id)
    assert world.redeem(code).status == 400
    reference = reference_of(world.login(EMAIL))
    assert next(e for e in world.trace() if e["reference"] == reference)["reason"] == "user_not_invited"


def test_a_scim_create_for_an_invited_email_links_the_invitation(world, scim_client):
    world.invite_only(EMAIL)
    client = scim_client(turn_on(world)["token"])
    user = client.create(ScimUser(user_name=EMAIL, emails=[{"value": EMAIL}]))

    members = world.owner("GET", "/users").json()["users"]
    assert [(m["id"], m["email"], m["role"], m["accounts"]) for m in members] == [
        (user.id, EMAIL, "member", ["acct-1"])  # one membership, with the grant of the invitation
    ]
    invitations = world.owner("GET", "/invitations").json()["invitations"]
    assert [i["status"] for i in invitations] == ["accepted"]
    # The invitation's link no longer works: the membership exists once.
    assert world.redeem(code_of(world.login(EMAIL))).status == 200


def test_a_member_invited_before_provisioning_is_found_by_userName_and_updated_not_duplicated(world, scim_client):
    accepted = world.invite_and_accept(EMAIL)
    client = scim_client(turn_on(world)["token"])

    found = client.query(ScimUser, query_parameters=SearchRequest(filter=f'userName eq "{EMAIL.upper()}"'))
    assert isinstance(found, ListResponse) and found.total_results == 1
    member = found.resources[0]
    assert member.id == accepted["user_id"] and member.active is True

    # A create for the same email is a uniqueness conflict: the client links by the query above instead.
    with pytest.raises(UniquenessException):
        client.create(ScimUser(user_name=EMAIL, emails=[{"value": EMAIL}]))

    # The client's update links it: its userName is now the member's.
    client.modify(
        ScimUser, member.id, PatchOp[ScimUser](operations=[{"op": "replace", "path": "displayName", "value": "Erin"}])
    )
    again = client.query(ScimUser, member.id)
    assert again.display_name == "Erin"
    assert len(world.owner("GET", "/users").json()["users"]) == 1
