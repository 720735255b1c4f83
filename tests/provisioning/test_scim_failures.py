"""Bad input to the SCIM service: each gets its SCIM status and scimType, nothing is half-written, and the refusal
is in the tenant's provisioning activity."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.support.aws_env import TABLE
from tests.support.provisioning import turn_on

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def items() -> list[dict]:
    """Every item of the table but the activity log (which records refusals on purpose)."""
    found = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=TABLE)["Items"]
    return sorted((i for i in found if not i["sk"]["S"].startswith("SCIMLOG#")), key=json.dumps)


def user(name: str, **extra) -> dict:
    return {"schemas": [CORE], "userName": name, "emails": [{"value": name, "type": "work"}], **extra}


def assert_error(resp, status: int, scim_type: str | None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/scim+json")
    body = resp.json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status)
    assert body.get("scimType") == scim_type, body
    assert body.get("detail")
    return body


@pytest.fixture
def http(world, raw_http):
    return raw_http(turn_on(world)["token"])


@pytest.fixture
def bob(http) -> dict:
    resp = http.post("/Users", json=user("bob@acme.example"))
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        (b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": ', "invalidSyntax"),
        (b"[1, 2]", "invalidSyntax"),
        (b"", "invalidSyntax"),
    ],
    ids=["truncated", "not-an-object", "empty"],
)
def test_malformed_json_is_invalid_syntax_and_writes_nothing(http, body, scim_type):
    before = items()
    resp = http.post("/Users", content=body, headers={"content-type": "application/scim+json"})
    assert_error(resp, 400, scim_type)
    assert items() == before


def test_unknown_attributes_are_refused(http):
    before = items()
    assert_error(http.post("/Users", json=user("carol@acme.example", favouriteColour="blue")), 400, "invalidSyntax")
    assert items() == before


def test_a_missing_userName_is_refused(http):
    assert_error(
        http.post("/Users", json={"schemas": [CORE], "emails": [{"value": "x@acme.example"}]}), 400, "invalidValue"
    )


def test_users_outside_the_verified_domains_are_refused(http):
    before = items()
    body = assert_error(http.post("/Users", json=user("mallory@elsewhere.example")), 400, "invalidValue")
    assert "not a verified domain" in body["detail"]
    assert items() == before


@pytest.mark.parametrize(
    ("filter_", "scim_type"),
    [
        ("userName eq", "invalidFilter"),  # syntax
        ('userName eq "a" and (', "invalidFilter"),
        ('favouriteColour eq "blue"', "invalidFilter"),  # an attribute no schema declares
        ("active gt 3", "invalidFilter"),  # an operator the attribute does not take
    ],
)
def test_unsupported_filters_are_invalid_filter(http, filter_, scim_type):
    assert_error(http.get("/Users", params={"filter": filter_}), 400, scim_type)


def test_sorting_is_refused_as_the_config_says(http):
    assert_error(http.get("/Users", params={"sortBy": "userName"}), 400, "invalidValue")


def test_huge_pages_are_capped_and_pagination_is_one_based(http):
    for n in range(5):
        assert http.post("/Users", json=user(f"user{n}@acme.example")).status_code == 201
    page = http.get("/Users", params={"count": "100000"}).json()
    assert page["totalResults"] == 5 and page["itemsPerPage"] == 5
    second = http.get("/Users", params={"startIndex": "3", "count": "2"}).json()
    assert second["startIndex"] == 3 and second["itemsPerPage"] == 2 and second["totalResults"] == 5
    names = [r["userName"] for r in second["Resources"]]
    assert names == ["user2@acme.example", "user3@acme.example"]
    assert http.get("/Users", params={"count": "0"}).json()["itemsPerPage"] == 0
    assert_error(http.get("/Users", params={"count": "lots"}), 400, "invalidValue")


def test_a_page_never_holds_more_than_the_advertised_maximum(http):
    config = http.get("/ServiceProviderConfig").json()
    assert config["filter"]["maxResults"] == 200


def test_duplicate_userName_is_409_uniqueness_and_writes_nothing(http, bob):
    before = items()
    # Same userName in another case, another email: still the same userName.
    body = user("BOB@acme.example")
    body["emails"] = [{"value": "robert@acme.example", "type": "work"}]
    assert_error(http.post("/Users", json=body), 409, "uniqueness")
    # Another userName, but the email of an existing member: one membership per email.
    other = user("robert@acme.example")
    other["emails"] = [{"value": "bob@acme.example", "type": "work"}]
    assert_error(http.post("/Users", json=other), 409, "uniqueness")
    assert items() == before


def test_renaming_onto_a_taken_userName_is_409_and_writes_nothing(http, bob):
    carol = http.post("/Users", json=user("carol@acme.example")).json()
    before = items()
    op = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "userName", "value": "bob@acme.example"}]}
    assert_error(http.patch(f"/Users/{carol['id']}", json=op), 409, "uniqueness")
    assert items() == before


def test_a_stale_if_match_is_412_and_a_current_one_applies(http, bob):
    op = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "Bob"}]}
    first = http.patch(f"/Users/{bob['id']}", json=op, headers={"If-Match": bob["meta"]["version"]})
    assert first.status_code == 200 and first.headers["etag"] == 'W/"1"'
    before = items()
    stale = http.put(f"/Users/{bob['id']}", json=user("bob@acme.example"), headers={"If-Match": bob["meta"]["version"]})
    assert_error(stale, 412, None)
    assert_error(http.delete(f"/Users/{bob['id']}", headers={"If-Match": 'W/"0"'}), 412, None)
    assert items() == before
    assert http.delete(f"/Users/{bob['id']}", headers={"If-Match": 'W/"1"'}).status_code == 204


def test_a_patch_that_cannot_apply_writes_nothing(http, bob):
    before = items()
    bad_path = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "favouriteColour", "value": "x"}]}
    assert http.patch(f"/Users/{bob['id']}", json=bad_path).status_code == 400
    bad_op = {"schemas": [PATCH], "Operations": [{"op": "Merge", "path": "displayName", "value": "x"}]}
    assert_error(http.patch(f"/Users/{bob['id']}", json=bad_op), 400, "invalidValue")
    # The first operation is fine, the second is not: neither applies.
    half = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "replace", "path": "displayName", "value": "Half"},
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "bob@elsewhere.example"},
        ],
    }
    assert_error(http.patch(f"/Users/{bob['id']}", json=half), 400, "invalidValue")
    assert items() == before


def test_unknown_ids_are_404(http):
    assert_error(http.get("/Users/usr_00000000000000000000000000000000"), 404, None)
    assert_error(http.delete("/Groups/grp_nope"), 404, None)
    assert_error(http.get("/Widgets"), 404, None)


def test_groups_refuse_unknown_members_and_duplicates_and_write_nothing(http, bob):
    before = items()
    unknown = {"schemas": [GROUP], "displayName": "Ops", "members": [{"value": "usr_00000000000000000000000000000000"}]}
    assert_error(http.post("/Groups", json=unknown), 400, "invalidValue")
    assert items() == before
    assert http.post("/Groups", json={"schemas": [GROUP], "displayName": "Ops"}).status_code == 201
    assert_error(http.post("/Groups", json={"schemas": [GROUP], "displayName": "ops"}), 409, "uniqueness")


def test_owners_are_not_deactivated_or_deleted_by_scim(world, http):
    owner = world.invite_and_accept("olga@acme.example", role="owner")
    op = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    before = items()
    assert_error(http.patch(f"/Users/{owner['user_id']}", json=op), 403, None)
    assert_error(http.delete(f"/Users/{owner['user_id']}"), 403, None)
    assert items() == before


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer scim_not-a-real-token", "Basic c2NpbTpzY2lt", "scim_bare-token-without-scheme"],
)
def test_requests_without_a_valid_token_are_401(world, server, authorization):
    import httpx2

    turn_on(world)
    headers = {"Authorization": authorization} if authorization else {}
    with httpx2.Client(base_url=f"{server.url}/scim/v2", headers=headers) as http:
        resp = http.get("/Users")
        assert_error(resp, 401, None)
        assert resp.headers["www-authenticate"].startswith("Bearer")
        assert_error(http.post("/Users", json=user("eve@acme.example")), 401, None)
    assert world.owner("GET", "/users").json()["users"] == []


def test_refusals_are_in_the_provisioning_activity(world, http, bob):
    http.post("/Users", json=user("bob@acme.example"))
    http.get("/Users", params={"filter": "userName eq"})
    entries = world.owner("GET", "/provisioning/activity").json()["entries"]
    assert [(e["outcome"], e["status"], e["scim_type"]) for e in entries[:2]] == [
        ("refused", 400, "invalidFilter"),
        ("refused", 409, "uniqueness"),
    ]
    assert entries[1]["operation"] == "POST /Users"
    assert entries[2]["outcome"] == "applied" and entries[2]["operation"] == "user.created"
    assert entries[2]["target"] == bob["id"] and entries[2]["summary"] == "bob@acme.example"
