"""Connections (owner) through the gateway: create for verified domains, the SP details, importing the IdP from
metadata or fields with its validation, settings, enabling, and who may touch what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sso_core.config import get_settings
from sso_local.saml_idp import RealIdp
from tests.support.keys import make_keypair
from tests.support.sso_world import SsoWorld, code_of
from tests.support.tampering import cert_body

pytestmark = pytest.mark.integration

ENTRA_ENTITY_ID = "https://sts.windows.net/acme-tenant-id/"
ENTRA_SSO_URL = "https://login.microsoftonline.example/acme/saml2"


def error(resp: Any) -> tuple[int, str]:
    return resp.status, resp.json()["error"]["code"]


def fields(cert: str, entity_id: str = ENTRA_ENTITY_ID, sso_url: str = ENTRA_SSO_URL) -> dict[str, Any]:
    return {"entity_id": entity_id, "sso_url": sso_url, "certificates": [cert]}


@pytest.fixture
def draft(world: SsoWorld) -> SsoWorld:
    world.verify_domain()
    world.create_connection()
    return world


# Create, show ---------------------------------------------------------------------------------------


def test_create_for_a_verified_domain(world: SsoWorld) -> None:
    world.verify_domain()
    resp = world.owner("POST", "/connections", {"domains": ["ACME.test."]})
    assert resp.status == 201, resp.text
    body = resp.json()
    cid = body["id"]
    assert cid.startswith("conn_")
    base = f"https://sso.test/saml/{cid}"
    contract = {
        "id": cid,
        "status": "draft",
        "sp": {
            "entity_id": f"{base}/metadata",
            "acs_url": f"{base}/acs",
            "metadata_url": f"{base}/metadata",
            "sign_in_url": f"{base}/login",
            "certificate_url": f"{base}/certificate",
            "next_certificate": None,  # no SP key rotation staged
        },
        "idp": None,
        "signed_requests": True,
        "binding": "post",
    }
    assert {k: body[k] for k in contract} == contract
    assert body["domains"] == ["acme.test"]  # normalised
    shown = world.owner("GET", f"/connections/{cid}")
    assert shown.status == 200 and {k: shown.json()[k] for k in contract} == contract
    listed = world.owner("GET", "/connections").json()["connections"]
    assert [c["id"] for c in listed] == [cid]


def test_create_refuses_domains_not_verified_by_the_tenant(world: SsoWorld, globex: SsoWorld) -> None:
    world.owner("POST", "/domains", {"domain": "pending.test"})  # added, never verified
    for domain in ("pending.test", "unknown.test", "globex.test"):  # globex.test is another tenant's
        resp = world.owner("POST", "/connections", {"domains": [domain]})
        assert error(resp) == (409, "domain_not_verified"), domain
    world.verify_domain()
    resp = world.owner("POST", "/connections", {"domains": ["acme.test", "pending.test"]})
    assert error(resp) == (409, "domain_not_verified")
    assert world.owner("GET", "/connections").json()["connections"] == []


def test_a_domain_routes_to_one_connection(draft: SsoWorld) -> None:
    resp = draft.owner("POST", "/connections", {"domains": [draft.domain]})
    assert error(resp) == (409, "domain_has_connection")
    assert len(draft.owner("GET", "/connections").json()["connections"]) == 1


def test_create_bad_bodies(world: SsoWorld) -> None:
    world.verify_domain()
    bodies = [
        {},
        {"domains": []},
        {"domains": "acme.test"},
        {"domains": [7]},
        {"domains": ["acme.test"], "x": 1},
        {"domains": ["not a domain"]},
        ["acme.test"],
    ]
    for body in bodies:
        assert error(world.owner("POST", "/connections", body)) == (400, "invalid_request"), body
    resp = world.api.call(
        "POST", "/connections", tenant="acme", raw_body="{", headers={"content-type": "application/json"}
    )
    assert error(resp) == (400, "invalid_request")
    assert world.owner("GET", "/connections").json()["connections"] == []


def test_unknown_connection(draft: SsoWorld) -> None:
    for cid in ("conn_0000", "nope", "conn_" + "x" * 200):
        assert error(draft.owner("GET", f"/connections/{cid}")) == (404, "connection_not_found"), cid


# Who may --------------------------------------------------------------------------------------------


def _every_route(cid: str) -> list[tuple[str, str, Any]]:
    return [
        ("POST", "/connections", {"domains": ["acme.test"]}),
        ("GET", "/connections", None),
        ("GET", f"/connections/{cid}", None),
        ("PATCH", f"/connections/{cid}", {"binding": "redirect"}),
        ("PUT", f"/connections/{cid}/idp", fields("x")),
        ("PUT", f"/connections/{cid}/status", {"enabled": False}),
        ("GET", f"/connections/{cid}/logins", None),
    ]


def test_admins_and_members_may_not(ready: SsoWorld) -> None:
    for role in ("admin", "member"):
        for method, path, body in _every_route(ready.connection_id):
            resp = ready.api.call(method, path, body, tenant="acme", role=role)
            assert error(resp) == (403, "forbidden"), (role, method, path)
    assert ready.api.call("GET", "/connections").status == 401  # no token at all
    assert ready.owner("GET", f"/connections/{ready.connection_id}").json()["status"] == "enabled"


def test_another_tenant_gets_404_on_every_connection_route(ready: SsoWorld, globex: SsoWorld) -> None:
    for method, path, body in _every_route(ready.connection_id)[2:]:
        resp = globex.owner(method, path, body)
        assert error(resp) == (404, "connection_not_found"), (method, path)
        assert "acme" not in resp.text
    assert [c["id"] for c in globex.owner("GET", "/connections").json()["connections"]] == [globex.connection_id]
    after = ready.owner("GET", f"/connections/{ready.connection_id}").json()
    assert (after["status"], after["binding"], after["idp"]["entity_id"]) == ("enabled", "post", ready.idp_entity_id)


# Importing the IdP ----------------------------------------------------------------------------------


def test_import_from_fields_pem_then_sign_in(draft: SsoWorld) -> None:
    resp = draft.owner("PUT", f"/connections/{draft.connection_id}/idp", fields(draft.keys.cert_pem))
    assert resp.status == 200, resp.text
    idp = resp.json()["idp"]
    assert (idp["entity_id"], idp["sso_url"]) == (ENTRA_ENTITY_ID, ENTRA_SSO_URL)
    assert len(idp["certificates"]) == 1 and idp["certificates"][0]["subject"] == "CN=acme-idp"
    assert resp.json()["warnings"] == []
    assert draft.enable().status == 200
    draft.invite_and_accept("alice@acme.test")
    draft.make_idp()
    assert draft.redeem(code_of(draft.login())).status == 200


def test_import_from_fields_base64_der(draft: SsoWorld) -> None:
    pem = draft.owner("PUT", f"/connections/{draft.connection_id}/idp", fields(draft.keys.cert_pem)).json()
    der = cert_body(draft.keys.cert_pem)
    spaced = " ".join(der[i : i + 64] for i in range(0, len(der), 64))  # as pasted from a console
    resp = draft.owner("PUT", f"/connections/{draft.connection_id}/idp", fields(spaced))
    assert resp.status == 200, resp.text
    assert resp.json()["idp"]["certificates"] == pem["idp"]["certificates"]


def test_import_from_metadata_with_two_signing_certificates(draft: SsoWorld) -> None:
    next_keys = make_keypair("acme-idp-next")
    idp = draft.make_idp()
    resp = draft.owner(
        "PUT", f"/connections/{draft.connection_id}/idp", {"metadata_xml": idp.metadata_xml([next_keys.cert_pem])}
    )
    assert resp.status == 200, resp.text
    body = resp.json()["idp"]
    assert body["entity_id"] == draft.idp_entity_id and body["sso_url"] == draft.idp_sso_url
    assert [c["subject"] for c in body["certificates"]] == ["CN=acme-idp", "CN=acme-idp-next"]
    assert draft.enable().status == 200
    draft.invite_and_accept("alice@acme.test")
    # The IdP rolls over to its next key: responses signed with it are accepted already.
    rolled = RealIdp(draft.idp_entity_id, draft.idp_sso_url, next_keys, draft.sp_metadata())
    assert draft.redeem(code_of(draft.login(idp=rolled))).status == 200
    assert draft.redeem(code_of(draft.login())).status == 200


def test_import_refuses_doctype_in_metadata(draft: SsoWorld) -> None:
    metadata = draft.make_idp().metadata_xml()
    for declaration in ('<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "<!DOCTYPE m>"):
        resp = draft.owner("PUT", f"/connections/{draft.connection_id}/idp", {"metadata_xml": declaration + metadata})
        assert error(resp) == (400, "invalid_idp_metadata")
        assert "DOCTYPE" in resp.json()["error"]["message"]
    garbage = draft.owner("PUT", f"/connections/{draft.connection_id}/idp", {"metadata_xml": "<md:Entity"})
    assert error(garbage) == (400, "invalid_idp_metadata")
    assert draft.owner("GET", f"/connections/{draft.connection_id}").json()["idp"] is None


def test_import_sso_url_must_be_https(draft: SsoWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    path = f"/connections/{draft.connection_id}/idp"
    cert = draft.keys.cert_pem
    for url in ("http://login.example/saml2", "http://127.0.0.1:8080/sso", "ftp://login.example/x", "https://"):
        assert error(draft.owner("PUT", path, fields(cert, sso_url=url))) == (400, "invalid_sso_url"), url
    monkeypatch.setenv("SSO_ALLOW_HTTP_LOOPBACK_IDP", "true")  # the local stack's demo IdP
    get_settings.cache_clear()
    assert draft.owner("PUT", path, fields(cert, sso_url="http://127.0.0.1:8080/sso")).status == 200
    assert error(draft.owner("PUT", path, fields(cert, sso_url="http://localhost:8080/sso"))) == (
        400,
        "invalid_sso_url",
    )


def test_import_certificate_checks(draft: SsoWorld) -> None:
    path = f"/connections/{draft.connection_id}/idp"
    now = datetime.now(UTC)
    weak = make_keypair("weak", bits=1024)
    expired = make_keypair("old", not_before=now - timedelta(days=400), not_after=now - timedelta(days=1))
    for cert in (weak.cert_pem, expired.cert_pem, "not a certificate", cert_body(weak.cert_pem)):
        assert error(draft.owner("PUT", path, fields(cert))) == (400, "invalid_certificate")
    assert "1024" in draft.owner("PUT", path, fields(weak.cert_pem)).json()["error"]["message"]

    expiring = make_keypair("expiring", not_before=now - timedelta(days=300), not_after=now + timedelta(days=10))
    resp = draft.owner("PUT", path, fields(expiring.cert_pem))
    assert resp.status == 200, resp.text
    (warning,) = resp.json()["warnings"]
    assert "expires" in warning


def test_import_metadata_or_fields_not_both(draft: SsoWorld) -> None:
    path = f"/connections/{draft.connection_id}/idp"
    metadata = draft.make_idp().metadata_xml()
    both = {"metadata_xml": metadata, **fields(draft.keys.cert_pem)}
    for body in (both, {"metadata_xml": metadata, "entity_id": "x"}, {}, {"entity_id": "x", "sso_url": ENTRA_SSO_URL}):
        assert error(draft.owner("PUT", path, body)) == (400, "invalid_request"), list(body)


# Settings and status --------------------------------------------------------------------------------


def test_settings(draft: SsoWorld) -> None:
    path = f"/connections/{draft.connection_id}"
    resp = draft.owner("PATCH", path, {"binding": "redirect"})
    assert resp.status == 200 and (resp.json()["binding"], resp.json()["signed_requests"]) == ("redirect", True)
    resp = draft.owner("PATCH", path, {"signed_requests": False})
    assert resp.status == 200 and (resp.json()["binding"], resp.json()["signed_requests"]) == ("redirect", False)
    for body in ({}, {"binding": "soap"}, {"signed_requests": "no"}, {"signed_requests": 0}, {"status": "enabled"}):
        assert error(draft.owner("PATCH", path, body)) == (400, "invalid_request"), body
    shown = draft.owner("GET", path).json()
    assert (shown["binding"], shown["signed_requests"], shown["status"]) == ("redirect", False, "draft")


def test_enabling_needs_a_complete_idp_and_verified_domains(draft: SsoWorld) -> None:
    status = f"/connections/{draft.connection_id}/status"
    assert error(draft.owner("PUT", status, {"enabled": True})) == (409, "idp_incomplete")
    assert draft.import_idp().status == 200
    assert draft.owner("DELETE", f"/domains/{draft.domain}").status in (200, 204)
    assert error(draft.owner("PUT", status, {"enabled": True})) == (409, "domain_not_verified")
    draft.verify_domain()
    resp = draft.owner("PUT", status, {"enabled": True})
    assert resp.status == 200 and resp.json()["status"] == "enabled"
    resp = draft.owner("PUT", status, {"enabled": False})
    assert resp.status == 200 and resp.json() == {**resp.json(), "id": draft.connection_id, "status": "disabled"}
    for body in ({}, {"enabled": "yes"}, {"enabled": True, "x": 1}):
        assert error(draft.owner("PUT", status, body)) == (400, "invalid_request"), body
