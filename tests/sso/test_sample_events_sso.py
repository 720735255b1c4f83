"""The SSO routes' sample events under events/ drive their functions as Lambda would (``sam local invoke -e``).

The events carry placeholders where a value only exists at run time (the connection ID, the IdP certificate, the
SAML response and its login cookie, the code, the client secret): each event is first invoked as it is, then
with the placeholders filled in, as a developer would do by hand.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from lxml import etree

from sso_local.lambda_runtime import invoke
from sso_local.saml_idp import IdpKeys
from sso_local.template import REPO_ROOT, functions
from tests.support.sso_fixtures import store_sp_key
from tests.support.sso_world import CLIENT_SECRET, SsoWorld

pytestmark = pytest.mark.integration

EVENTS = REPO_ROOT / "events"
PLACEHOLDER_ID = "conn_0123456789abcdef0123"
EVENT_IDP = "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/"  # in connections_set_idp.json


def load(name: str, connection_id: str = PLACEHOLDER_ID) -> dict[str, Any]:
    text = (EVENTS / f"{name}.json").read_text()
    return dict(json.loads(text.replace(PLACEHOLDER_ID, connection_id)))


def run(function: str, event: dict[str, Any]) -> dict[str, Any]:
    result = invoke(functions()[function], event)
    assert isinstance(result, dict) and "statusCode" in result, result
    return result


def body(result: dict[str, Any]) -> Any:
    return json.loads(result["body"])


@pytest.fixture
def example(api, dns, tmp_path, acme_idp_keys: IdpKeys, sp_keypair) -> SsoWorld:
    """Tenant acme and domain example.com, as in the events' claims; the IdP the set_idp event names."""
    store_sp_key(*sp_keypair)
    world = SsoWorld(api, dns, tmp_path / "outbox", domain="example.com", idp_entity_id=EVENT_IDP, keys=acme_idp_keys)
    world.verify_domain()
    return world


def test_connection_events_in_order(example: SsoWorld) -> None:
    created = run("ConnectionsFunction", load("connections_create"))
    assert created["statusCode"] == 201
    cid = body(created)["id"]
    listed = run("ConnectionsFunction", load("connections_list"))
    assert [c["id"] for c in body(listed)["connections"]] == [cid]
    assert run("ConnectionsFunction", load("connections_get"))["statusCode"] == 404  # the placeholder
    shown = run("ConnectionsFunction", load("connections_get", cid))
    assert shown["statusCode"] == 200 and body(shown)["status"] == "draft"

    set_idp = load("connections_set_idp", cid)
    refused = run("ConnectionsFunction", set_idp)
    assert (refused["statusCode"], body(refused)["error"]["code"]) == (400, "invalid_certificate")
    set_idp["body"] = set_idp["body"].replace(
        json.loads(set_idp["body"])["certificates"][0], json.dumps(example.keys.cert_pem)[1:-1]
    )
    imported = run("ConnectionsFunction", set_idp)
    assert imported["statusCode"] == 200 and body(imported)["idp"]["entity_id"] == EVENT_IDP

    updated = run("ConnectionsFunction", load("connections_update", cid))
    assert updated["statusCode"] == 200 and body(updated)["binding"] == "redirect"
    enabled = run("KillSwitchFunction", load("connections_status", cid))
    assert enabled["statusCode"] == 200 and body(enabled)["status"] == "enabled"
    logins = run("ConnectionsFunction", load("connections_logins", cid))
    assert logins["statusCode"] == 200 and body(logins) == {"logins": [], "next_cursor": None}

    # Password login cannot go off before a first SSO login has proven the connection.
    password = run("KillSwitchFunction", load("domains_password_login"))
    assert (password["statusCode"], body(password)["error"]["code"]) == (409, "sso_not_proven")

    audit = run("AuditFunction", load("audit_list"))
    assert audit["statusCode"] == 200
    actions = [e["action"] for e in body(audit)["entries"]]
    assert {"connection.created", "connection.idp_changed", "connection.enabled"} <= set(actions)


def test_public_events(example: SsoWorld) -> None:
    assert run("MetadataFunction", load("metadata_get"))["statusCode"] == 404
    assert run("LoginFunction", load("login_start"))["statusCode"] == 404
    assert body(run("LoginFunction", load("login_discover"))) == {
        "method": "password",
        "redirect_url": None,
        "password_allowed": True,
        "notice": None,
    }

    example.create_connection()
    cid = example.connection_id
    metadata = run("MetadataFunction", load("metadata_get", cid))
    assert metadata["statusCode"] == 200
    assert etree.fromstring(metadata["body"].encode()).get("entityID") == example.sp["entity_id"]
    certificate = run("MetadataFunction", load("metadata_certificate", cid))
    assert certificate["statusCode"] == 200 and "BEGIN CERTIFICATE" in certificate["body"]

    assert example.import_idp().status == 200 and example.enable().status == 200
    discovered = body(run("LoginFunction", load("login_discover")))
    assert discovered["method"] == "sso" and discovered["redirect_url"].startswith(example.sp["sign_in_url"])
    started = run("LoginFunction", load("login_start", cid))
    assert started["statusCode"] == 200 and "SAMLRequest" in started["body"]
    assert started["cookies"] and "HttpOnly" in started["cookies"][0]


def test_acs_and_token_events(example: SsoWorld) -> None:
    acs = run("AcsFunction", load("acs_post"))
    assert acs["statusCode"] == 400 and "SSO auth failed" in acs["body"]  # the placeholder connection

    example.create_connection()
    assert example.import_idp().status == 200 and example.enable().status == 200
    example.invite_and_accept("jane@example.com")
    cid = example.connection_id
    placeholder = run("AcsFunction", load("acs_post", cid))
    assert placeholder["statusCode"] == 400 and "SSO auth failed" in placeholder["body"]
    assert example.trace()[0]["reason"] == "malformed"  # the placeholder is no SAML response

    # Filled in: a real IdP's response to a request this browser started (through the login_start event).
    assert example.owner("PATCH", f"/connections/{cid}", {"binding": "redirect"}).status == 200
    started = run("LoginFunction", load("login_start", cid))
    assert started["statusCode"] == 302
    query = parse_qs(urlsplit(started["headers"]["Location"]).query)
    request_id = etree.fromstring(zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15)).get("ID")
    cookie = started["cookies"][0].split(";", 1)[0]
    event = load("acs_post", cid)
    event["cookies"] = [cookie]
    event["body"] = urlencode(
        {
            "SAMLResponse": example.response_b64(request_id, "jane@example.com"),
            "RelayState": query["RelayState"][0],
        }
    )
    acs = run("AcsFunction", event)
    assert acs["statusCode"] == 302, acs["body"][:300]
    code = parse_qs(urlsplit(acs["headers"]["Location"]).query)["code"][0]

    token = run("TokenFunction", load("token_redeem"))
    assert (token["statusCode"], body(token)["error"]["code"]) == (401, "invalid_client")
    event = load("token_redeem")
    event["headers"]["authorization"] = f"Bearer {CLIENT_SECRET}"
    unknown = run("TokenFunction", event)  # the placeholder code
    assert (unknown["statusCode"], body(unknown)["error"]["code"]) == (400, "invalid_code")
    event["body"] = json.dumps({"code": code})
    redeemed = run("TokenFunction", event)
    assert redeemed["statusCode"] == 200
    profile = body(redeemed)
    assert (profile["user"]["email"], profile["connection_id"], profile["return_to"]) == (
        "jane@example.com",
        cid,
        "/inbox",
    )


def test_delete_and_refresh_events(example: SsoWorld) -> None:
    assert run("ConnectionsFunction", load("connections_delete"))["statusCode"] == 404  # the placeholder
    example.create_connection()
    deleted = run("ConnectionsFunction", load("connections_delete", example.connection_id))
    assert deleted["statusCode"] == 204
    assert run("ConnectionsFunction", load("connections_get", example.connection_id))["statusCode"] == 404
    summary = invoke(functions()["MetadataRefreshFunction"], load("metadata_refresh_schedule"))
    assert summary["due"] == 0 and summary["failed"] == 0  # nothing imported by URL
