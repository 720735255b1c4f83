"""The provisioning routes' sample events under events/ drive their functions as Lambda would
(``sam local invoke -e``): the owner turns provisioning on, saves mappings, reads the activity, and the SCIM
function answers the list event once the placeholder token is replaced by the one just issued."""

from __future__ import annotations

import json

from sso_local.lambda_runtime import invoke
from sso_local.template import REPO_ROOT, functions

EVENTS = REPO_ROOT / "events"


def load(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def test_provisioning_events_in_order(aws):
    created = invoke(functions()["ProvisioningFunction"], load("provisioning_token_create"))
    assert created["statusCode"] == 201, created
    token = json.loads(created["body"])["token"]

    saved = invoke(functions()["ProvisioningFunction"], load("provisioning_settings_put"))
    assert saved["statusCode"] == 200, saved
    assert json.loads(saved["body"])["group_mappings"][0]["role"] == "admin"

    listing = load("scim_users_list")
    refused = invoke(functions()["ScimFunction"], listing)
    assert refused["statusCode"] == 401  # the placeholder is not a token

    listing["headers"]["authorization"] = f"Bearer {token}"
    answered = invoke(functions()["ScimFunction"], listing)
    assert answered["statusCode"] == 200, answered
    assert answered["headers"]["Content-Type"] == "application/scim+json"
    assert json.loads(answered["body"])["totalResults"] == 0

    activity = invoke(functions()["ProvisioningFunction"], load("provisioning_activity"))
    assert activity["statusCode"] == 200
    assert json.loads(activity["body"])["entries"] == []  # a 401 names no tenant, so it is nobody's activity
