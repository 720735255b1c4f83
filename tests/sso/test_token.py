"""POST /sso/token: the application trades a one-time code, with its client secret, for the profile once.

(The concurrent redemption is in test_races.py.)
"""

from __future__ import annotations

import time

import boto3
import pytest

from sso_core.config import get_settings
from sso_core.dal.logins import sha256
from tests.support.sso_checks import codes_issued
from tests.support.sso_world import CLIENT_SECRET, SsoWorld, code_of

pytestmark = pytest.mark.integration


def error(resp) -> tuple[int, str]:
    return resp.status, resp.json()["error"]["code"]


def test_the_profile_once(ready: SsoWorld) -> None:
    code = code_of(ready.login())
    resp = ready.redeem(code)
    assert resp.status == 200 and resp.header("cache-control") == "no-store"
    body = resp.json()
    assert body["user"] == {
        "user_id": body["user"]["user_id"],
        "email": "alice@acme.test",
        "tenant_id": "acme",
        "role": "member",
        "accounts": ["acct-1"],
    }
    assert body["connection_id"] == ready.connection_id
    assert body["attributes"]["idp_entity_id"] == ready.idp_entity_id
    assert body["attributes"]["name_id"] == "alice@acme.test"
    assert error(ready.redeem(code)) == (400, "invalid_code")


def test_wrong_or_missing_client_secret_consumes_nothing(ready: SsoWorld) -> None:
    code = code_of(ready.login())
    attempts = [
        {"authorization": "Bearer not-the-secret"},
        {"authorization": f"Basic {CLIENT_SECRET}"},
        {"authorization": CLIENT_SECRET},  # no scheme
        {"authorization": "Bearer "},
        {},
    ]
    for headers in attempts:
        resp = ready.api.call("POST", "/sso/token", {"code": code}, headers=headers)
        assert error(resp) == (401, "invalid_client"), headers
    # Even a malformed body learns nothing without the secret.
    assert error(ready.api.call("POST", "/sso/token", {"nonsense": 1})) == (401, "invalid_client")
    assert codes_issued() == 1
    assert ready.redeem(code).status == 200


def test_the_bearer_scheme_is_case_insensitive(ready: SsoWorld) -> None:
    code = code_of(ready.login())
    resp = ready.api.call("POST", "/sso/token", {"code": code}, headers={"authorization": f"bearer {CLIENT_SECRET}"})
    assert resp.status == 200, resp.text


def test_unknown_used_and_malformed_codes(ready: SsoWorld) -> None:
    assert error(ready.redeem("no-such-code")) == (400, "invalid_code")
    assert error(ready.redeem("")) == (400, "invalid_code")
    secret = {"authorization": f"Bearer {CLIENT_SECRET}"}
    for body in ({"code": "x" * 257}, {"code": 12}, {}, {"code": "a", "extra": 1}):
        assert error(ready.api.call("POST", "/sso/token", body, headers=secret)) == (400, "invalid_request"), body
    resp = ready.api.call("POST", "/sso/token", raw_body="{not json", headers=secret)
    assert error(resp) == (400, "invalid_request")


def test_an_expired_code_is_refused(ready: SsoWorld) -> None:
    code = code_of(ready.login())
    client = boto3.client("dynamodb", region_name="us-east-1")
    item_key = {"pk": {"S": f"CODE#{sha256(code)}"}, "sk": {"S": "CODE"}}
    stored = client.get_item(TableName=get_settings().table_name, Key=item_key)["Item"]
    expires = int(stored["expires_at"]["N"])
    assert 30 <= expires - time.time() <= 60  # a minute to redeem
    client.update_item(
        TableName=get_settings().table_name,
        Key=item_key,
        UpdateExpression="SET expires_at = :t",
        ExpressionAttributeValues={":t": {"N": str(int(time.time()))}},  # expires now: "expires_at > now" fails
    )
    assert error(ready.redeem(code)) == (400, "invalid_code")


def test_codes_are_stored_hashed(ready: SsoWorld) -> None:
    code = code_of(ready.login())
    client = boto3.client("dynamodb", region_name="us-east-1")
    items = client.scan(TableName=get_settings().table_name)["Items"]
    assert code not in repr(items)
    assert ready.redeem(code).status == 200
