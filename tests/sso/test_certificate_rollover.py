"""An IdP's key change end to end through the gateway: add the new certificate, the IdP switches keys, logins go
on, the old certificate is removed, and a response still signed with the old key is refused with the certificate
it named in the trace. And an expired certificate that still verifies: the login works, the trace warns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from sso_core.config import get_settings
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.table import Table
from sso_local.saml_idp import RealIdp
from tests.support.keys import make_keypair
from tests.support.sso_world import SsoWorld, code_of, reference_of

pytestmark = pytest.mark.integration


def fingerprint(cert_pem: str) -> str:
    return x509.load_pem_x509_certificate(cert_pem.encode()).fingerprint(hashes.SHA256()).hex(":").upper()


def test_rollover_keeps_logins_working_and_names_the_removed_certificate(ready: SsoWorld) -> None:
    old_idp = ready.idp
    assert old_idp is not None
    key2 = make_keypair("acme-idp-2027")
    new_idp = RealIdp(ready.idp_entity_id, ready.idp_sso_url, key2, ready.sp_metadata())
    base = f"/connections/{ready.connection_id}/idp/certificates"

    added = ready.owner("POST", base, {"certificate": key2.cert_pem})
    assert added.status == 201, added.text
    # Both keys work while the IdP switches.
    assert ready.redeem(code_of(ready.login(idp=new_idp))).status == 200
    assert ready.redeem(code_of(ready.login(idp=old_idp))).status == 200

    old = fingerprint(ready.keys.cert_pem)
    assert ready.owner("DELETE", f"{base}/{old}").status == 200
    assert ready.redeem(code_of(ready.login(idp=new_idp))).status == 200

    refused = ready.login(idp=old_idp)
    assert refused.status == 400
    reference = reference_of(refused)
    found = ready.owner("GET", f"/connections/{ready.connection_id}/logins", query=f"reference={reference}")
    [entry] = found.json()["logins"]
    assert entry["reason"] == "unknown_certificate"
    assert entry["certificate"]["sha256_fingerprint"] == old
    assert entry["certificate"]["subject"] == "CN=acme-idp"
    assert set(entry["certificate"]) == {"sha256_fingerprint", "subject", "not_before", "not_after"}
    # The list shows it too (the counter of this hour's unknown-certificate refusals keeps the last one seen).
    listed = [e for e in ready.trace() if e["reason"] == "unknown_certificate"]
    assert listed and listed[0]["certificate"]["sha256_fingerprint"] == old


def test_a_login_signed_by_an_expired_certificate_works_and_is_warned(ready: SsoWorld) -> None:
    now = datetime.now(UTC)
    expired = make_keypair("acme-idp-old", not_before=now - timedelta(days=400), not_after=now - timedelta(days=1))
    # The certificate expired while the connection held it (an import refuses an expired one): stored directly.
    repo = ConnectionRepository(Table(get_settings().table_name))
    conn = repo.get(ready.connection_id)
    assert conn is not None and conn.idp is not None
    repo.save(
        conn.model_copy(update={"idp": conn.idp.model_copy(update={"certificates": [expired.cert_pem]})}), conn.version
    )
    idp = RealIdp(ready.idp_entity_id, ready.idp_sso_url, expired, ready.sp_metadata())

    assert ready.redeem(code_of(ready.login(idp=idp))).status == 200
    [entry] = [e for e in ready.trace() if e["result"] == "success"]
    assert [w["code"] for w in entry["warnings"]] == ["signed_by_expired_certificate"]
    assert "expiry" in entry["warnings"][0]["explanation"]
    assert entry["certificate"]["sha256_fingerprint"] == fingerprint(expired.cert_pem)

    body = ready.owner("GET", f"/connections/{ready.connection_id}").json()
    [cert] = body["idp"]["certificates"]
    assert (cert["state"], cert["expires_in_days"]) == ("expired", -1)
    assert any("CN=acme-idp-old" in w and "expired on" in w for w in body["warnings"]), body["warnings"]


def test_a_current_certificate_leaves_no_warning(ready: SsoWorld) -> None:
    assert ready.redeem(code_of(ready.login())).status == 200
    [entry] = [e for e in ready.trace() if e["result"] == "success"]
    assert entry["warnings"] == [] and entry["certificate"] is None
