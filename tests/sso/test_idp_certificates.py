"""IdP certificate rollover through the gateway: add the next certificate, remove an old one, the refusals, who
may, the audit entries, and the expiry shown with each certificate."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sso_core.config import get_settings
from sso_core.dal.certificate_expiries import CertificateExpiryRepository
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.table import Table
from sso_core.logic.idp_certificates import IdpCertificates
from sso_core.logic.sso_configuration import ConnectionService
from sso_core.models.connections import AddCertificateRequest
from sso_core.models.errors import ConcurrentChange
from sso_core.models.identity import Caller
from tests.support.audit import audit
from tests.support.keys import make_keypair
from tests.support.sso_world import SsoWorld
from tests.support.tampering import cert_body

pytestmark = pytest.mark.integration


def error(resp: Any) -> tuple[int, str]:
    return resp.status, resp.json()["error"]["code"]


def certs_path(world: SsoWorld, fingerprint: str | None = None) -> str:
    base = f"/connections/{world.connection_id}/idp/certificates"
    return base if fingerprint is None else f"{base}/{fingerprint}"


@pytest.fixture
def imported(world: SsoWorld) -> SsoWorld:
    world.verify_domain()
    world.create_connection()
    assert world.import_idp().status == 200
    return world


def fingerprints(world: SsoWorld) -> list[str]:
    body = world.owner("GET", f"/connections/{world.connection_id}").json()
    return [c["sha256_fingerprint"] for c in body["idp"]["certificates"]]


def test_add_then_remove_a_certificate(imported: SsoWorld) -> None:
    [first] = fingerprints(imported)
    nxt = make_keypair("acme-idp-next")
    resp = imported.owner("POST", certs_path(imported), {"certificate": nxt.cert_pem})
    assert resp.status == 201, resp.text
    shown = resp.json()["idp"]["certificates"]
    assert [c["subject"] for c in shown] == ["CN=acme-idp", "CN=acme-idp-next"]
    second = shown[1]["sha256_fingerprint"]
    assert set(shown[1]) == {"subject", "sha256_fingerprint", "not_before", "not_after", "expires_in_days", "state"}
    assert shown[1]["state"] == "valid" and shown[1]["expires_in_days"] > 1000
    # The fingerprint as typed: lower case, without colons, is the same certificate.
    removed = imported.owner("DELETE", certs_path(imported, first.replace(":", "").lower()))
    assert removed.status == 200, removed.text
    assert fingerprints(imported) == [second]
    entries = [e for e in audit(imported) if e["action"].startswith("connection.certificate_")]
    assert [e["action"] for e in entries] == ["connection.certificate_removed", "connection.certificate_added"]
    assert entries[1]["after"] == {
        "sha256_fingerprint": second,
        "subject": "CN=acme-idp-next",
        "not_after": shown[1]["not_after"],
    }
    assert entries[0]["before"]["sha256_fingerprint"] == first and entries[0]["after"] is None
    assert "BEGIN CERTIFICATE" not in json.dumps(entries) and cert_body(nxt.cert_pem)[:40] not in json.dumps(entries)


def test_add_base64_der(imported: SsoWorld) -> None:
    nxt = make_keypair("acme-idp-der")
    resp = imported.owner("POST", certs_path(imported), {"certificate": cert_body(nxt.cert_pem)})
    assert resp.status == 201, resp.text
    assert len(fingerprints(imported)) == 2


def test_add_refusals(imported: SsoWorld) -> None:
    assert error(imported.owner("POST", certs_path(imported), {"certificate": imported.keys.cert_pem})) == (
        409,
        "certificate_exists",
    )
    assert error(imported.owner("POST", certs_path(imported), {"certificate": "not a certificate"})) == (
        400,
        "invalid_certificate",
    )
    expired = make_keypair("old", not_before=datetime.now(UTC) - timedelta(days=30), not_after=datetime.now(UTC))
    assert error(imported.owner("POST", certs_path(imported), {"certificate": expired.cert_pem})) == (
        400,
        "invalid_certificate",
    )
    weak = make_keypair("weak", bits=1024)
    assert error(imported.owner("POST", certs_path(imported), {"certificate": weak.cert_pem})) == (
        400,
        "invalid_certificate",
    )
    for body in ({}, {"certificate": 5}, {"certificate": "x", "extra": 1}, {"certificate": ""}):
        assert error(imported.owner("POST", certs_path(imported), body)) == (400, "invalid_request"), body
    for i in range(4):
        resp = imported.owner("POST", certs_path(imported), {"certificate": make_keypair(f"n{i}").cert_pem})
        assert resp.status == 201, resp.text
    sixth = imported.owner("POST", certs_path(imported), {"certificate": make_keypair("sixth").cert_pem})
    assert error(sixth) == (409, "too_many_certificates")
    assert len(fingerprints(imported)) == 5


def test_add_before_the_idp_is_imported(world: SsoWorld) -> None:
    world.verify_domain()
    world.create_connection()
    resp = world.owner("POST", certs_path(world), {"certificate": world.keys.cert_pem})
    assert error(resp) == (409, "idp_not_configured")
    assert error(world.owner("DELETE", certs_path(world, "ab" * 32))) == (404, "certificate_not_found")


def test_remove_refusals(imported: SsoWorld) -> None:
    [only] = fingerprints(imported)
    assert error(imported.owner("DELETE", certs_path(imported, only))) == (409, "last_certificate")
    assert error(imported.owner("DELETE", certs_path(imported, "ab" * 32))) == (404, "certificate_not_found")
    for bad in ("abc", "zz" * 32, "ab" * 33):
        assert error(imported.owner("DELETE", certs_path(imported, bad))) == (400, "invalid_request"), bad
    assert fingerprints(imported) == [only]


def test_only_the_owner_of_the_tenant(imported: SsoWorld, globex: SsoWorld) -> None:
    [only] = fingerprints(imported)
    nxt = make_keypair("acme-idp-next").cert_pem
    for role in ("admin", "member"):
        resp = imported.api.call("POST", certs_path(imported), {"certificate": nxt}, tenant="acme", role=role)
        assert error(resp) == (403, "forbidden"), role
        resp = imported.api.call("DELETE", certs_path(imported, only), tenant="acme", role=role)
        assert error(resp) == (403, "forbidden"), role
    other = globex.owner("POST", certs_path(imported), {"certificate": nxt})
    assert error(other) == (404, "connection_not_found")
    assert error(globex.owner("DELETE", certs_path(imported, only))) == (404, "connection_not_found")
    assert fingerprints(imported) == [only]


def test_expiring_and_expired_certificates_are_warned(world: SsoWorld) -> None:
    world.verify_domain()
    world.create_connection()
    now = datetime.now(UTC)
    soon = make_keypair("acme-soon", not_before=now - timedelta(days=300), not_after=now + timedelta(days=10, hours=1))
    fields = {"entity_id": world.idp_entity_id, "sso_url": world.idp_sso_url, "certificates": [soon.cert_pem]}
    assert world.owner("PUT", f"/connections/{world.connection_id}/idp", fields).status == 200
    body = world.owner("GET", f"/connections/{world.connection_id}").json()
    [cert] = body["idp"]["certificates"]
    assert (cert["state"], cert["expires_in_days"]) == ("expiring", 10)
    assert any("CN=acme-soon" in w and "in 10 days" in w for w in body["warnings"]), body["warnings"]
    resp = world.owner("POST", certs_path(world), {"certificate": world.keys.cert_pem})
    assert resp.status == 201
    assert [c["state"] for c in resp.json()["idp"]["certificates"]] == ["expiring", "valid"]
    assert any("CN=acme-soon" in w for w in resp.json()["warnings"])


def test_a_change_in_between_is_a_conflict_and_writes_nothing(
    imported: SsoWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = Table(get_settings().table_name)
    service = ConnectionService(get_settings(), table)
    caller = Caller(tenant_id="acme", email="owner@acme.test", role="owner")
    stale = service.get_connection(caller, imported.connection_id)
    ConnectionRepository(table).record_success(imported.connection_id, datetime.now(UTC))  # bumps the version
    monkeypatch.setattr(service, "get_connection", lambda _caller, _id: stale)
    nxt = make_keypair("acme-idp-next", not_after=datetime.now(UTC) + timedelta(days=20))
    with pytest.raises(ConcurrentChange):
        IdpCertificates(service).add(caller, imported.connection_id, AddCertificateRequest(certificate=nxt.cert_pem))
    assert len(fingerprints(imported)) == 1
    day = (datetime.now(UTC) + timedelta(days=20)).date()
    assert CertificateExpiryRepository(table).expiring_on(day) == []  # the index did not move either
    assert not [e for e in audit(imported) if e["action"] == "connection.certificate_added"]
