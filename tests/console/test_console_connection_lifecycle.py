"""The SSO configuration page's newer actions over HTTP: import by metadata URL (and its refresh status), IdP
certificate rollover (add, remove, never the last), deleting a connection that is not switched on, and the login
trace naming the certificate an IdP signed with when the connection does not hold it. Every refusal in words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from sso_core.logic.idp_certificates import LastCertificate
from sso_core.logic.sso_configuration import ConnectionEnabled
from sso_local.saml_idp import IdpKeys
from tests.support.console import ConsoleClient, sso_sign_in, strict_page, verify_domain
from tests.support.keys import make_keypair
from tests.support.metadata_server import Answer, MetadataServer, Published

pytestmark = pytest.mark.integration

ALERT = re.compile(r'<div class="alert error" role="alert"><strong>That did not work.</strong> (.*?)</div>', re.S)
FINGERPRINTS = re.compile(r'name="fingerprint" value="([0-9A-Fa-f:]+)"')


def alert(resp: requests.Response) -> str:
    """The error alert's words, as the reader sees them."""
    found = ALERT.search(resp.text)
    assert found, resp.text
    return unescape(found.group(1))


def managed_connection(client: ConsoleClient, domain: str = "example.com") -> str:
    verify_domain(client, domain)
    managed = client.post(f"/console/domains/{domain}/manage")
    assert managed.status_code == 200, managed.text
    return managed.url.rsplit("/", 1)[-1]


def upload(client: ConsoleClient, path: str, fields: dict[str, str], files: dict[str, Any]) -> requests.Response:
    """A multipart form of the current page (its CSRF token unless ``fields`` names one)."""
    data = {"csrf": client.csrf(), **fields}
    return client.request("POST", path, data=data, files=files)


def import_fields(client: ConsoleClient, cid: str, keys: IdpKeys) -> requests.Response:
    client.get(f"/console/connections/{cid}")
    fields = {"entity_id": "https://idp.example.com/", "sso_url": "https://idp.example.com/sso"}
    return upload(client, f"/console/connections/{cid}/idp", fields, {"certificate": ("idp.pem", keys.cert_pem)})


def fingerprints(html: str) -> list[str]:
    return FINGERPRINTS.findall(html)


def audit_actions(client: ConsoleClient) -> str:
    return client.get("/console/audit").text


@pytest.fixture(scope="module")
def keys() -> tuple[IdpKeys, IdpKeys]:
    return make_keypair("idp-current"), make_keypair("idp-next")


@pytest.fixture
def owner(console: ConsoleClient) -> tuple[ConsoleClient, str]:
    console.sign_in("acme", "owner@acme.test", "owner", ["acct-main"])
    return console, managed_connection(console)


# ---- import by metadata URL --------------------------------------------------------------------------------


def test_import_by_metadata_url_shows_the_url_and_when_it_was_read(owner) -> None:
    console, cid = owner
    page = console.get(f"/console/connections/{cid}")
    assert '<label for="metadata_url">Metadata URL (Entra: App Federation Metadata Url)</label>' in page.text
    assert 'id="metadata_url" name="metadata_url" type="url"' in page.text
    url = f"{console.stack.url}/_local/idp/metadata"
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    done = upload(console, f"/console/connections/{cid}/idp", {"metadata_url": url}, {})
    assert done.status_code == 200 and strict_page(done), done.text
    assert "The identity provider was imported; its metadata is read again every day." in done.text
    status = re.search(r'<dl class="values" id="metadata-url-status">(.*?)</dl>', done.text, re.S)
    assert status and f"<code>{url}</code>" in status.group(1)
    shown = re.search(r"<dt>Last refreshed</dt><dd>(\d{4}-\d\d-\d\d \d\d:\d\d) UTC", status.group(1))
    assert shown and datetime.strptime(shown.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC) >= before
    assert "Last refresh failed" not in done.text
    assert "connection.idp_changed" in audit_actions(console)


def test_a_metadata_url_on_a_private_address_is_refused_in_words(owner) -> None:
    """127.0.0.1 on a port that is not allow-listed: the fetch refuses it before connecting."""
    console, cid = owner
    console.get(f"/console/connections/{cid}")
    url = "https://127.0.0.1:1/federationmetadata.xml"
    refused = upload(console, f"/console/connections/{cid}/idp", {"metadata_url": url}, {})
    assert refused.status_code == 400 and strict_page(refused)
    assert alert(refused) == (
        "The metadata URL was not imported: The metadata URL's host resolves to a private or reserved address; "
        "use the IdP's public URL."
    )
    assert f'value="{url}"' in refused.text  # what was typed stays in the field
    assert "Not imported yet." in refused.text


def test_a_plain_http_metadata_url_is_refused_in_words(owner) -> None:
    console, cid = owner
    console.get(f"/console/connections/{cid}")
    refused = upload(console, f"/console/connections/{cid}/idp", {"metadata_url": "http://idp.example.com/m"}, {})
    assert refused.status_code == 400 and "The metadata URL must use https." in alert(refused)


def test_two_ways_at_once_are_refused(owner, keys) -> None:
    console, cid = owner
    console.get(f"/console/connections/{cid}")
    both = upload(
        console,
        f"/console/connections/{cid}/idp",
        {"metadata_url": "https://idp.example.com/federationmetadata.xml"},
        {"certificate": ("idp.pem", keys[0].cert_pem)},
    )
    assert both.status_code == 400 and alert(both).startswith("Use one way at a time")
    assert "Not imported yet." in both.text


@pytest.fixture
def idp_server(
    keys: tuple[IdpKeys, IdpKeys], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[MetadataServer, Published]]:
    """An IdP's metadata URL on loopback, allow-listed for the stack (requested before the stack starts)."""
    published = Published("https://sts.windows.net/console-test/", "https://login.example/saml2", keys[0])
    with MetadataServer({"/federationmetadata.xml": published}) as server:
        monkeypatch.setenv("SSO_METADATA_URL_ALLOW", f"127.0.0.1:{server.port}")
        yield server, published


def test_a_failed_refresh_is_shown_with_its_time_and_error(idp_server, console) -> None:
    server, published = idp_server
    console.sign_in("acme", "owner@acme.test", "owner", ["acct-main"])
    cid = managed_connection(console)
    console.get(f"/console/connections/{cid}")
    url = server.url("/federationmetadata.xml", host="127.0.0.1")
    assert upload(console, f"/console/connections/{cid}/idp", {"metadata_url": url}, {}).status_code == 200
    published.failure = Answer(500, b"down")
    later = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ran = requests.post(f"{console.stack.url}/_local/run/metadata-refresh", json={"time": later}, timeout=30)
    assert ran.status_code == 200 and ran.json()["failed"] == 1, ran.text

    page = console.get(f"/console/connections/{cid}").text
    failed = re.search(r"<dt>Last refresh failed</dt><dd>(.*?)</dd>", page, re.S)
    assert failed, page
    assert f"Failed {later[:10]}" in failed.group(1) and "200 OK" in failed.group(1)
    assert "The configuration in use is the one last read successfully." in failed.group(1)
    assert "The metadata URL answered HTTP 500, not 200 OK." in failed.group(1)
    assert page.count("answered HTTP 500") == 1  # not repeated by the warnings below


# ---- certificate rollover ----------------------------------------------------------------------------------


def test_rollover_adds_a_certificate_then_removes_the_old_one_and_never_the_last(owner, keys) -> None:
    console, cid = owner
    current, upcoming = keys
    assert import_fields(console, cid, current).status_code == 200
    page = console.get(f"/console/connections/{cid}").text
    assert "Add the IdP's new certificate before it switches; remove the old one after." in unescape(page)
    old = fingerprints(page)
    assert len(old) == 1 and f"<code>{old[0]}</code>" in page

    # A .cer file in DER, as Windows exports it.
    der = x509.load_pem_x509_certificate(upcoming.cert_pem.encode()).public_bytes(Encoding.DER)
    added = upload(console, f"/console/connections/{cid}/certificates", {}, {"new_certificate": ("next.cer", der)})
    assert added.status_code == 200 and strict_page(added), added.text
    assert "The certificate was added." in added.text
    both = fingerprints(added.text)
    assert len(both) == 2 and both[0] == old[0]

    again = upload(console, f"/console/connections/{cid}/certificates", {}, {"new_certificate": ("n.cer", der)})
    assert again.status_code == 409 and alert(again) == "The connection already holds this certificate."

    removed = console.post(f"/console/connections/{cid}/certificates/remove", {"fingerprint": old[0]})
    assert removed.status_code == 200 and f"The certificate {old[0][:23]}... was removed." in removed.text
    assert fingerprints(removed.text) == [both[1]]

    last = console.post(f"/console/connections/{cid}/certificates/remove", {"fingerprint": both[1]})
    assert last.status_code == 409 and alert(last) == LastCertificate.default_message
    assert fingerprints(last.text) == [both[1]]
    audit = audit_actions(console)
    assert "connection.certificate_added" in audit and "connection.certificate_removed" in audit


def test_adding_without_a_file_or_with_a_bad_one_is_refused_in_words(owner, keys) -> None:
    console, cid = owner
    import_fields(console, cid, keys[0])
    console.get(f"/console/connections/{cid}")
    empty = upload(console, f"/console/connections/{cid}/certificates", {}, {"new_certificate": ("x.pem", b"")})
    assert empty.status_code == 400 and alert(empty) == "Choose the IdP's new certificate file (PEM or CER)."
    junk = upload(
        console, f"/console/connections/{cid}/certificates", {}, {"new_certificate": ("x.pem", b"not a cert")}
    )
    assert junk.status_code == 400 and 'role="alert"' in junk.text
    unknown = console.post(f"/console/connections/{cid}/certificates/remove", {"fingerprint": "AB" * 32})
    assert unknown.status_code == 404 and "no certificate with this SHA-256 fingerprint" in alert(unknown)
    assert len(fingerprints(unknown.text)) == 1
    # A PEM file saved with a byte-order mark (Notepad) is still a PEM file.
    bom = b"\xef\xbb\xbf" + keys[1].cert_pem.encode()
    added = upload(console, f"/console/connections/{cid}/certificates", {}, {"new_certificate": ("n.pem", bom)})
    assert added.status_code == 200 and len(fingerprints(added.text)) == 2, added.text


def test_the_rollover_forms_need_the_form_token(owner, keys) -> None:
    console, cid = owner
    import_fields(console, cid, keys[0])
    page = console.get(f"/console/connections/{cid}")
    [held] = fingerprints(page.text)
    no_token = console.post(f"/console/connections/{cid}/certificates/remove", {"fingerprint": held}, csrf=False)
    assert no_token.status_code == 403 and "This form has expired" in no_token.text
    console.get(f"/console/connections/{cid}")
    forged = upload(
        console,
        f"/console/connections/{cid}/certificates",
        {"csrf": "forged"},
        {"new_certificate": ("next.pem", keys[1].cert_pem)},
    )
    assert forged.status_code == 403 and "This form has expired" in forged.text
    no_url = console.post(f"/console/connections/{cid}/idp", {"metadata_url": "https://idp.example/m"}, csrf=False)
    assert no_url.status_code == 403
    assert fingerprints(console.get(f"/console/connections/{cid}").text) == [held]


def test_an_admin_may_not_change_certificates(console, other_console, keys) -> None:
    console.sign_in("acme", "owner@acme.test", "owner", ["acct-main"])
    cid = managed_connection(console)
    import_fields(console, cid, keys[0])
    other_console.sign_in("acme", "admin@acme.test", "admin", ["acct-main"])
    other_console.get("/console/users")
    refused = other_console.post(f"/console/connections/{cid}/certificates/remove", {"fingerprint": "AB" * 32})
    assert refused.status_code == 403 and "This page needs the owner role" in refused.text


# ---- delete ------------------------------------------------------------------------------------------------


def test_delete_is_refused_while_enabled_then_done_after_disable(owner, keys) -> None:
    console, cid = owner
    import_fields(console, cid, keys[0])
    enabled = console.post(f"/console/connections/{cid}/status", {"enabled": "true"})
    assert enabled.status_code == 200 and "Enterprise SSO is on." in enabled.text
    assert "disable Enterprise SSO first, then the connection can be deleted" in enabled.text
    assert f'action="/console/connections/{cid}/delete"' not in enabled.text

    anyway = console.post(f"/console/connections/{cid}/delete", {"confirm": "on"})
    assert anyway.status_code == 409 and alert(anyway) == ConnectionEnabled.default_message

    disabled = console.post(f"/console/connections/{cid}/status", {"enabled": "false"})
    assert '<label for="confirm">I understand that the configuration is removed</label>' in disabled.text
    unconfirmed = console.post(f"/console/connections/{cid}/delete", {})
    assert unconfirmed.status_code == 400 and "I understand that the configuration is removed" in alert(unconfirmed)
    assert console.get(f"/console/connections/{cid}").status_code == 200  # still there

    console.get(f"/console/connections/{cid}")
    deleted = console.post(f"/console/connections/{cid}/delete", {"confirm": "on"}, follow=False)
    assert deleted.status_code == 303 and deleted.headers["location"] == "/console/domains?notice=connection-deleted"
    domains = console.get(deleted.headers["location"])
    assert domains.status_code == 200 and "The SSO connection was deleted." in domains.text
    assert console.get(f"/console/connections/{cid}").status_code == 404
    assert "connection.deleted" in audit_actions(console)


def test_a_draft_is_deleted_and_the_notice_takes_no_text_from_the_query(owner) -> None:
    console, cid = owner
    console.get(f"/console/connections/{cid}")
    assert console.post(f"/console/connections/{cid}/delete", {"confirm": "on"}).status_code == 200
    forged = console.get("/console/domains?notice=%3Cb%3EYou%20were%20hacked")
    assert forged.status_code == 200 and "hacked" not in forged.text and 'role="status"' not in forged.text


def test_delete_needs_the_form_token(owner) -> None:
    console, cid = owner
    console.get(f"/console/connections/{cid}")
    refused = console.post(f"/console/connections/{cid}/delete", {"confirm": "on", "csrf": "stale"})
    assert refused.status_code == 403 and "This form has expired" in refused.text
    assert console.get(f"/console/connections/{cid}").status_code == 200


# ---- the login trace names the certificate ---------------------------------------------------------------


def test_the_trace_names_a_certificate_the_connection_does_not_hold(owner, keys) -> None:
    """The demo IdP signs with its own key while the connection holds only another certificate."""
    console, cid = owner
    url = f"{console.stack.url}/_local/idp/metadata"
    console.get(f"/console/connections/{cid}")
    assert upload(console, f"/console/connections/{cid}/idp", {"metadata_url": url}, {}).status_code == 200
    [demo] = fingerprints(console.last.text)  # type: ignore[union-attr]
    added = upload(
        console, f"/console/connections/{cid}/certificates", {}, {"new_certificate": ("o.pem", keys[1].cert_pem)}
    )
    assert added.status_code == 200
    assert console.post(f"/console/connections/{cid}/certificates/remove", {"fingerprint": demo}).status_code == 200
    assert console.post(f"/console/connections/{cid}/status", {"enabled": "true"}).status_code == 200

    refused = sso_sign_in(console.stack, "bob@example.com", "bob-demo")
    assert refused.status_code in (400, 403), refused.text

    trace = console.get(f"/console/connections/{cid}/trace")
    assert trace.status_code == 200 and strict_page(trace)
    assert (
        "The IdP signed with this certificate, which the connection does not hold: import it if it is your IdP's "
        "new certificate."
    ) in unescape(trace.text)
    signer = re.search(r'<div class="signer">(.*?)</div>', trace.text, re.S)
    assert signer, trace.text
    assert demo.replace(":", "").lower() in signer.group(1).replace(":", "").lower()
    assert "<dt>Valid from</dt>" in signer.group(1) and "<dt>Valid until</dt>" in signer.group(1)
    assert '<a href="/console/troubleshooting">Troubleshooting</a>' in trace.text
