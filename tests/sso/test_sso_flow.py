"""The whole SP-initiated login through the API: a real IdP's response ends in a code that redeems once."""

import pytest

from tests.support.sso_world import code_of

pytestmark = pytest.mark.integration


def test_login_ends_in_a_code_that_redeems_for_the_profile(ready):
    resp = ready.login("alice@acme.test")
    code = code_of(resp)
    assert (resp.header("location") or "").startswith("https://app.test/sso/callback?code=")
    profile = ready.redeem(code)
    assert profile.status == 200, profile.text
    body = profile.json()
    assert body["user"]["email"] == "alice@acme.test"
    assert body["user"]["tenant_id"] == "acme"
    assert body["user"]["role"] == "member"
    assert body["user"]["accounts"] == ["acct-1"]
    assert body["connection_id"] == ready.connection_id
    assert body["attributes"]["given_name"] == "Alice"
    assert body["attributes"]["object_id"]
    again = ready.redeem(code)
    assert again.status == 400
    assert again.json()["error"]["code"] == "invalid_code"
    assert ready.trace()[0]["result"] == "success"
