"""The local stack over HTTP: importing the demo IdP by its metadata URL (allow-listed), refusing a private
address, the daily refresh (run as if days later through /_local/run/metadata-refresh), and deleting a connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sso_core.logic.metadata_refresh import fingerprint
from sso_local.saml_idp import IdpKeys
from tests.support.keys import make_keypair
from tests.support.metadata_server import Answer, MetadataServer, Published
from tests.support.walk import http

pytestmark = pytest.mark.integration

ENTITY = "https://sts.windows.net/local-tenant-id/"
SSO_URL = "https://login.microsoftonline.example/local/saml2"


@pytest.fixture(scope="module")
def keys() -> tuple[IdpKeys, IdpKeys]:
    return make_keypair("rollover-a"), make_keypair("rollover-b")


@pytest.fixture
def published(keys: tuple[IdpKeys, IdpKeys]) -> Published:
    return Published(ENTITY, SSO_URL, keys[0])


@pytest.fixture
def idp_server(published: Published, monkeypatch: pytest.MonkeyPatch) -> Iterator[MetadataServer]:
    """An IdP whose metadata changes between refreshes, on loopback: allow-listed for the stack, like its demo IdP."""
    with MetadataServer({"/federationmetadata.xml": published}) as server:
        monkeypatch.setenv("SSO_METADATA_URL_ALLOW", f"127.0.0.1:{server.port}")
        yield server


@pytest.fixture
def owner(idp_server: MetadataServer, stack: Any) -> tuple[Any, str, str]:
    """(stack, owner token, draft connection id) for example.com, verified in the stack's DNS."""
    token = stack.authority.issue("acme", "owner@acme.test", "owner", ["acct-main"])
    url = stack.url
    record = http("POST", f"{url}/domains", {"domain": "example.com"}, token=token).json()["verification"]
    assert (
        http("POST", f"{url}/_local/dns", {"name": record["record_name"], "value": record["record_value"]}).status
        == 201
    )
    assert http("POST", f"{url}/domains/example.com/verify", token=token).json()["status"] == "verified"
    granted = http("POST", f"{url}/_local/access", {"action": "grant", "tenant_id": "acme", "plan": "contract"})
    assert granted.status == 200, granted.text
    created = http("POST", f"{url}/connections", {"domains": ["example.com"]}, token=token)
    assert created.status == 201, created.text
    return stack, token, created.json()["id"]


def refresh(url: str, days_later: float) -> dict[str, Any]:
    when = (datetime.now(UTC) + timedelta(days=days_later)).strftime("%Y-%m-%dT%H:%M:%SZ")
    resp = http("POST", f"{url}/_local/run/metadata-refresh", {"time": when})
    assert resp.status == 200, resp.text
    return resp.json()


def idp_of(url: str, token: str, cid: str) -> dict[str, Any]:
    resp = http("GET", f"{url}/connections/{cid}", token=token)
    assert resp.status == 200, resp.text
    return resp.json()


def prints(body: dict[str, Any]) -> list[str]:
    return [c["sha256_fingerprint"].replace(":", "").lower() for c in body["idp"]["certificates"]]


def test_the_demo_idp_imports_by_its_metadata_url_and_signs_in(owner) -> None:
    stack, token, cid = owner
    url = f"{stack.url}/_local/idp/metadata"
    resp = http("PUT", f"{stack.url}/connections/{cid}/idp", {"metadata_url": url}, token=token)
    assert resp.status == 200, resp.text
    assert resp.json()["idp"]["source"] == "metadata_url" and resp.json()["idp"]["metadata_url"] == url
    assert resp.json()["idp"]["entity_id"] == f"{stack.url}/_local/idp"
    assert http("PUT", f"{stack.url}/connections/{cid}/status", {"enabled": True}, token=token).status == 200
    assert refresh(stack.url, 1)["unchanged"] == 1  # the demo IdP's metadata does not change


@pytest.mark.parametrize(
    ("target", "code"),
    [
        ("https://169.254.169.254/latest/meta-data/", "metadata_url_private_address"),
        ("https://10.20.30.40/federationmetadata.xml", "metadata_url_private_address"),
        ("https://localhost:{port}/_local/idp/metadata", "metadata_url_private_address"),
        ("http://127.0.0.1:1/federationmetadata.xml", "metadata_url_not_https"),  # not the allow-listed origin
    ],
)
def test_a_url_to_a_private_address_is_refused(owner, target: str, code: str) -> None:
    stack, token, cid = owner
    body = {"metadata_url": target.format(port=stack.port)}
    resp = http("PUT", f"{stack.url}/connections/{cid}/idp", body, token=token)
    assert resp.status == 400 and resp.json()["error"]["code"] == code, resp.text
    assert idp_of(stack.url, token, cid)["idp"] is None


def test_refresh_adds_then_retires_after_the_grace_and_a_failure_keeps_the_config(
    owner, idp_server: MetadataServer, published: Published, keys
) -> None:
    stack, token, cid = owner
    url = idp_server.url("/federationmetadata.xml", host="127.0.0.1")
    assert http("PUT", f"{stack.url}/connections/{cid}/idp", {"metadata_url": url}, token=token).status == 200
    a, b = (fingerprint(k.cert_pem) for k in keys)

    published.keys = list(keys)
    assert refresh(stack.url, 1)["certificates_added"] == 1
    assert prints(idp_of(stack.url, token, cid)) == [a, b]

    published.keys = [keys[1]]
    assert refresh(stack.url, 2)["changed"] == 1  # a is missing: kept through the grace period
    assert refresh(stack.url, 8)["certificates_retired"] == 0
    assert prints(idp_of(stack.url, token, cid)) == [b, a]

    published.failure = Answer(500, b"down")
    before = idp_of(stack.url, token, cid)
    assert refresh(stack.url, 9.5)["failed"] == 1
    after = idp_of(stack.url, token, cid)
    assert prints(after) == prints(before) and after["idp"]["entity_id"] == before["idp"]["entity_id"]
    assert after["idp"]["refresh_error"] and after["warnings"]

    published.failure = None
    assert refresh(stack.url, 10.5)["certificates_retired"] == 1  # past the 7 days since day 2
    final = idp_of(stack.url, token, cid)
    assert prints(final) == [b] and final["idp"]["refresh_error"] is None
    actions = [e["action"] for e in http("GET", f"{stack.url}/audit", token=token).json()["entries"]]
    assert actions.count("connection.idp_refreshed") == 3


def test_delete_is_refused_while_enabled_and_accepted_after_disable(owner) -> None:
    stack, token, cid = owner
    metadata = f"{stack.url}/_local/idp/metadata"
    assert http("PUT", f"{stack.url}/connections/{cid}/idp", {"metadata_url": metadata}, token=token).status == 200
    assert http("PUT", f"{stack.url}/connections/{cid}/status", {"enabled": True}, token=token).status == 200
    discover = http("POST", f"{stack.url}/login/discover", {"email": "alice@example.com"}).json()
    assert discover["method"] == "sso"

    refused = http("DELETE", f"{stack.url}/connections/{cid}", token=token)
    assert refused.status == 409 and refused.json()["error"]["code"] == "connection_enabled"
    assert "disable" in refused.json()["error"]["message"].lower()

    assert http("PUT", f"{stack.url}/connections/{cid}/status", {"enabled": False}, token=token).status == 200
    assert http("DELETE", f"{stack.url}/connections/{cid}", token=token).status == 204
    assert http("GET", f"{stack.url}/connections/{cid}", token=token).status == 404
    assert http("POST", f"{stack.url}/login/discover", {"email": "alice@example.com"}).json()["method"] == "password"
    assert refresh(stack.url, 2)["due"] == 0
    again = http("POST", f"{stack.url}/connections", {"domains": ["example.com"]}, token=token)
    assert again.status == 201, again.text


@pytest.mark.parametrize("body", [b"[1]", b"not json", b'"text"'])
def test_the_local_refresh_route_refuses_a_body_that_is_not_an_object(stack: Any, body: bytes) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{stack.url}/_local/run/metadata-refresh", data=body, method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 400
