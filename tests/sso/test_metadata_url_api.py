"""Importing the IdP from a metadata URL, the daily refresh of such a connection, and deleting a connection:
through the gateway (moto), with the metadata served by a real https server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from sso_core.clock import utcnow
from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.logic.metadata_refresh import MetadataRefreshService, fingerprint
from sso_local.saml_idp import IdpKeys, RealIdp
from tests.support.clock import FakeClock
from tests.support.keys import make_keypair
from tests.support.metadata_server import Answer, MetadataServer, Published, make_tls_files
from tests.support.sso_world import SsoWorld

pytestmark = pytest.mark.integration

ENTITY = "https://sts.windows.net/acme-tenant-id/"
SSO_URL = "https://login.microsoftonline.example/acme/saml2"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def cert_a() -> IdpKeys:
    return make_keypair("idp-a")


@pytest.fixture(scope="module")
def cert_b() -> IdpKeys:
    return make_keypair("idp-b")


@pytest.fixture
def published(cert_a: IdpKeys) -> Published:
    return Published(ENTITY, SSO_URL, cert_a)


@pytest.fixture
def idp_server(tls, published, monkeypatch: pytest.MonkeyPatch) -> Iterator[MetadataServer]:
    """The https server, its origin allow-listed (it is on loopback) and its CA trusted, as the settings say."""
    _, cert, key = tls
    with MetadataServer({"/federationmetadata.xml": published}, tls=(cert, key)) as server:
        monkeypatch.setenv("SSO_METADATA_URL_ALLOW", f"localhost:{server.port}")
        monkeypatch.setenv("SSO_METADATA_URL_CA_BUNDLE", str(tls[0]))
        get_settings.cache_clear()
        yield server
    get_settings.cache_clear()


@pytest.fixture
def draft(world: SsoWorld) -> SsoWorld:
    world.verify_domain()
    world.create_connection()
    return world


def error(resp: Any) -> tuple[int, str]:
    return resp.status, resp.json()["error"]["code"]


def put_url(world: SsoWorld, url: str) -> Any:
    return world.owner("PUT", f"/connections/{world.connection_id}/idp", {"metadata_url": url})


def shown(world: SsoWorld) -> dict[str, Any]:
    resp = world.owner("GET", f"/connections/{world.connection_id}")
    assert resp.status == 200, resp.text
    return resp.json()


def fingerprints(world: SsoWorld) -> list[str]:
    return [c["sha256_fingerprint"].replace(":", "").lower() for c in shown(world)["idp"]["certificates"]]


def audit_actions(world: SsoWorld) -> list[str]:
    resp = world.owner("GET", "/audit")
    assert resp.status == 200, resp.text
    return [e["action"] for e in resp.json()["entries"]]


# Import by URL -------------------------------------------------------------------------------------------


def test_import_by_url_stores_the_url_and_the_metadata(draft: SsoWorld, idp_server: MetadataServer, cert_a) -> None:
    url = idp_server.url("/federationmetadata.xml")
    resp = put_url(draft, url)
    assert resp.status == 200, resp.text
    idp = resp.json()["idp"]
    assert idp["entity_id"] == ENTITY and idp["sso_url"] == SSO_URL
    assert idp["source"] == "metadata_url" and idp["metadata_url"] == url
    assert idp["refreshed_at"] and idp["refresh_error"] is None
    assert fingerprints(draft) == [fingerprint(cert_a.cert_pem)]
    assert "connection.idp_changed" in audit_actions(draft)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://idp.example/federationmetadata.xml", "metadata_url_not_https"),
        ("https://user@idp.example/federationmetadata.xml", "metadata_url_not_https"),
        ("https://169.254.169.254/latest/meta-data/", "metadata_url_private_address"),
        ("https://10.0.0.1/federationmetadata.xml", "metadata_url_private_address"),
        ("https://127.0.0.1:8443/federationmetadata.xml", "metadata_url_private_address"),
        ("https://[fd00:ec2::254]/latest/meta-data/", "metadata_url_private_address"),
        ("https://no-such-idp.invalid/federationmetadata.xml", "metadata_url_unreachable"),
    ],
)
def test_bad_urls_are_refused_with_their_code_and_change_nothing(draft: SsoWorld, url: str, code: str) -> None:
    resp = put_url(draft, url)
    assert error(resp) == (400, code)
    assert resp.json()["error"]["message"]
    assert shown(draft)["idp"] is None


def test_the_server_answering_badly_is_refused_with_its_code(draft: SsoWorld, idp_server, published) -> None:
    url = idp_server.url("/federationmetadata.xml")
    published.failure = Answer(503, b"busy")
    assert error(put_url(draft, url)) == (400, "metadata_url_bad_status")
    published.failure = Answer(body=b"<html><body>Sign in</body></html>")
    assert error(put_url(draft, url)) == (400, "invalid_idp_metadata")
    published.failure = Answer(body=b"<!DOCTYPE x [<!ENTITY e 'x'>]><x>&e;</x>")
    assert error(put_url(draft, url)) == (400, "invalid_idp_metadata")
    other_host = f"https://127.0.0.1:{idp_server.port}/federationmetadata.xml"
    published.failure = Answer(302, headers=(("location", other_host),))
    assert error(put_url(draft, url)) == (400, "metadata_url_redirect")
    assert shown(draft)["idp"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"metadata_url": "https://idp.example/m", "metadata_xml": "<x/>"},
        {"metadata_url": "https://idp.example/m", "entity_id": "e", "sso_url": "https://e", "certificates": ["x"]},
        {"metadata_url": ""},
        {"metadata_url": "https://idp.example/" + "a" * 2100},
        {"metadata_url": 42},
    ],
)
def test_a_url_with_other_fields_or_of_the_wrong_shape_is_invalid(draft: SsoWorld, body: dict[str, Any]) -> None:
    assert error(draft.owner("PUT", f"/connections/{draft.connection_id}/idp", body)) == (400, "invalid_request")


def test_only_an_owner_may_import_by_url(draft: SsoWorld) -> None:
    resp = draft.api.call(
        "PUT",
        f"/connections/{draft.connection_id}/idp",
        {"metadata_url": "https://idp.example/m"},
        tenant=draft.tenant,
        role="admin",
    )
    assert resp.status == 403


# Daily refresh --------------------------------------------------------------------------------------------


@pytest.fixture
def refreshing(draft: SsoWorld, idp_server: MetadataServer) -> SsoWorld:
    draft.invite_and_accept("boss@acme.example", role="owner")
    assert put_url(draft, idp_server.url("/federationmetadata.xml")).status == 200
    return draft


@pytest.fixture
def run(refreshing: SsoWorld) -> Callable[..., dict[str, Any]]:
    clock = FakeClock(utcnow())

    def run_after(**elapsed: float) -> dict[str, Any]:
        clock.advance(**elapsed)
        service = MetadataRefreshService(get_settings(), Table(get_settings().table_name), clock)
        return service.run().model_dump()

    return run_after


def mails_about_metadata(outbox: Path) -> list[str]:
    found = []
    for path in sorted(outbox.glob("*.eml")):
        msg = message_from_bytes(path.read_bytes())
        if "metadata changed" in str(msg["Subject"]):
            found.append(str(msg["To"]))
    return found


def test_refresh_adds_a_new_certificate_and_retires_a_vanished_one_after_the_grace(
    refreshing: SsoWorld, run, published: Published, cert_a: IdpKeys, cert_b: IdpKeys
) -> None:
    fa, fb = fingerprint(cert_a.cert_pem), fingerprint(cert_b.cert_pem)
    assert run(hours=1)["due"] == 0  # not due yet: a day between reads
    published.keys = [cert_a, cert_b]  # the IdP publishes its next certificate
    summary = run(hours=23)
    assert summary["due"] == 1 and summary["changed"] == 1 and summary["certificates_added"] == 1
    assert fingerprints(refreshing) == [fa, fb]
    assert "connection.idp_refreshed" in audit_actions(refreshing)
    assert mails_about_metadata(refreshing.outbox) == ["boss@acme.example"]

    published.keys = [cert_b]  # rolled over: the old one is gone from the metadata
    assert run(days=1)["changed"] == 1  # noted as missing; still trusted during the grace
    assert fingerprints(refreshing) == [fb, fa]
    assert run(days=6)["certificates_retired"] == 0  # day 6 of 7
    assert fingerprints(refreshing) == [fb, fa]
    summary = run(days=1)
    assert summary["certificates_retired"] == 1
    assert fingerprints(refreshing) == [fb]
    assert len(mails_about_metadata(refreshing.outbox)) == 3  # added, missing, retired


def test_a_certificate_back_within_the_grace_stays(refreshing: SsoWorld, run, published, cert_a, cert_b) -> None:
    published.keys = [cert_b]
    run(days=1)
    published.keys = [cert_a, cert_b]
    run(days=3)
    summary = run(days=10)
    assert summary["certificates_retired"] == 0
    assert set(fingerprints(refreshing)) == {fingerprint(cert_a.cert_pem), fingerprint(cert_b.cert_pem)}


def test_refresh_applies_a_changed_entity_id(refreshing: SsoWorld, run, published: Published) -> None:
    published.entity_id = "https://sts.windows.net/new-tenant-id/"
    assert run(days=1)["changed"] == 1
    assert shown(refreshing)["idp"]["entity_id"] == "https://sts.windows.net/new-tenant-id/"


@pytest.mark.parametrize(
    "failure",
    [Answer(500, b"oops"), Answer(body=b"<not-metadata/>"), Answer(body=b"<x", delay=0), Answer(404, b"")],
)
def test_a_failed_refresh_keeps_the_configuration_and_says_so(
    refreshing: SsoWorld, run, published: Published, failure: Answer
) -> None:
    before = shown(refreshing)["idp"]
    published.failure = failure
    summary = run(days=1)
    assert summary["failed"] == 1 and summary["changed"] == 0
    after = shown(refreshing)
    kept = ("entity_id", "sso_url", "certificates", "imported_at", "metadata_url", "refreshed_at")
    assert {k: after["idp"][k] for k in kept} == {k: before[k] for k in kept}
    assert after["idp"]["refresh_error"] and after["idp"]["refresh_failed_at"]
    assert any("refresh" in w for w in after["warnings"])
    # Tried again the next day, not at once; a good read clears the warning.
    assert run(hours=1)["due"] == 0
    published.failure = None
    assert run(days=1)["failed"] == 0
    assert shown(refreshing)["idp"]["refresh_error"] is None and shown(refreshing)["warnings"] == []


def test_a_connection_re_imported_from_xml_leaves_the_refresh(refreshing: SsoWorld, run, cert_a) -> None:
    xml = RealIdp(ENTITY, SSO_URL, cert_a).metadata_xml()
    resp = refreshing.owner("PUT", f"/connections/{refreshing.connection_id}/idp", {"metadata_xml": xml})
    assert resp.status == 200 and resp.json()["idp"]["source"] == "metadata"
    assert run(days=2)["due"] == 0


# Delete ---------------------------------------------------------------------------------------------------


def test_delete_is_refused_while_enabled_and_frees_the_domain_after_disable(ready: SsoWorld) -> None:
    cid = ready.connection_id
    assert error(ready.owner("DELETE", f"/connections/{cid}")) == (409, "connection_enabled")
    assert ready.owner("GET", f"/connections/{cid}").status == 200
    assert ready.owner("PUT", f"/connections/{cid}/status", {"enabled": False}).status == 200
    deleted = ready.owner("DELETE", f"/connections/{cid}")
    assert deleted.status == 204 and deleted.body in (b"", "")
    assert error(ready.owner("GET", f"/connections/{cid}")) == (404, "connection_not_found")
    assert error(ready.owner("DELETE", f"/connections/{cid}")) == (404, "connection_not_found")
    assert "connection.deleted" in audit_actions(ready)
    discovered = ready.api.call("POST", "/login/discover", {"email": "alice@acme.test"})
    assert discovered.status == 200 and discovered.json()["method"] == "password"
    again = ready.owner("POST", "/connections", {"domains": [ready.domain]})
    assert again.status == 201, again.text


def test_delete_of_a_draft_and_who_may_delete(draft: SsoWorld, globex: SsoWorld) -> None:
    cid = draft.connection_id
    assert draft.api.call("DELETE", f"/connections/{cid}", tenant=draft.tenant, role="admin").status == 403
    other = globex.owner("DELETE", f"/connections/{cid}")  # another tenant's owner: as if it did not exist
    assert error(other) == (404, "connection_not_found")
    assert error(draft.owner("DELETE", "/connections/not-a-connection")) == (404, "connection_not_found")
    assert draft.owner("DELETE", f"/connections/{cid}").status == 204
    assert draft.owner("GET", "/connections").json()["connections"] == []


def test_deleting_a_url_imported_connection_ends_its_refresh(refreshing: SsoWorld, run) -> None:
    assert refreshing.owner("DELETE", f"/connections/{refreshing.connection_id}").status == 204
    assert run(days=2)["due"] == 0


def test_refresh_due_window_uses_the_index_not_a_scan(refreshing: SsoWorld) -> None:
    table = Table(get_settings().table_name)
    from sso_core.dal.connections import ConnectionRepository

    later = utcnow() + timedelta(days=1)
    assert [ids for ids in ConnectionRepository(table).due_for_refresh(later)] == [[refreshing.connection_id]]
    assert list(ConnectionRepository(table).due_for_refresh(utcnow())) == []


def test_an_admin_edit_during_a_refresh_is_not_overwritten(
    refreshing: SsoWorld, idp_server: MetadataServer, published: Published, cert_a: IdpKeys, cert_b: IdpKeys
) -> None:
    """The refresh read the connection, then the admin re-imported from XML while the fetch ran: the refresh's
    write fails on the version, it reads again, sees the URL is no longer configured, and leaves the admin's."""
    published.keys = [cert_a, cert_b]
    real_fetch = MetadataRefreshService(get_settings(), Table(get_settings().table_name)).fetch
    admin_xml = RealIdp("https://idp.other.example/", SSO_URL, cert_b).metadata_xml()

    def fetch_while_the_admin_edits(url: str) -> str:
        body = real_fetch(url)
        path = f"/connections/{refreshing.connection_id}/idp"
        assert refreshing.owner("PUT", path, {"metadata_xml": admin_xml}).status == 200
        return body

    clock = FakeClock(utcnow() + timedelta(days=1))
    service = MetadataRefreshService(
        get_settings(), Table(get_settings().table_name), clock, fetch=fetch_while_the_admin_edits
    )
    summary = service.run()
    assert summary.skipped == 1 and summary.changed == 0
    idp = shown(refreshing)["idp"]
    assert idp["entity_id"] == "https://idp.other.example/" and idp["source"] == "metadata"
    assert fingerprints(refreshing) == [fingerprint(cert_b.cert_pem)]


def test_a_url_publishing_more_than_five_certificates_keeps_the_first_five(
    draft: SsoWorld, idp_server: MetadataServer, published: Published
) -> None:
    published.keys = [make_keypair(f"many-{i}") for i in range(6)]
    resp = put_url(draft, idp_server.url("/federationmetadata.xml"))
    assert resp.status == 200, resp.text
    assert fingerprints(draft) == [fingerprint(k.cert_pem) for k in published.keys[:5]]
    assert any("first 5" in w for w in resp.json()["warnings"])


def test_a_delete_decided_on_a_stale_read_fails_when_the_connection_was_switched_on(ready: SsoWorld) -> None:
    """The transaction itself refuses: the read said disabled, but it is enabled when the delete commits."""
    from sso_core.dal.connections import ConnectionRepository
    from sso_core.dal.table import TransactionCancelled
    from sso_core.models.connections import ConnectionStatus

    table = Table(get_settings().table_name)
    repo = ConnectionRepository(table)
    conn = repo.get(ready.connection_id)
    assert conn is not None and conn.status is ConnectionStatus.ENABLED
    stale = conn.model_copy(update={"status": ConnectionStatus.DISABLED})
    with pytest.raises(TransactionCancelled) as caught:
        table.transact(repo.delete_ops(stale))
    assert caught.value.failed_on("connection")
    assert repo.get(ready.connection_id) is not None
    assert repo.routing_owner(ready.domain) == (ready.tenant, ready.connection_id)
