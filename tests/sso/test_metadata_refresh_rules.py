"""The refresh's rules on their own: which certificates a refreshed IdP keeps, within the limit of five."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sso_core.logic.metadata_refresh import MAX_CERTIFICATES, merge
from sso_core.models.connections import IdpConfig
from sso_local.lambda_runtime import load_handler_module
from sso_local.template import functions
from tests.support.keys import make_keypair

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
GRACE = timedelta(days=7)


@pytest.fixture(scope="module")
def certs() -> list[str]:
    return [make_keypair(f"idp-{i}").cert_pem for i in range(7)]


def idp(certificates: list[str], **changes: object) -> IdpConfig:
    base = IdpConfig(
        entity_id="https://idp.example/",
        sso_url="https://idp.example/sso",
        sso_urls={"post": "https://idp.example/sso", "redirect": None},
        certificates=certificates,
        imported_at=NOW - timedelta(days=30),
        source="metadata_url",
        metadata_url="https://idp.example/metadata",
    )
    return base.model_copy(update=changes)


def test_published_certificates_win_and_the_newest_grace_ones_fill_the_rest(certs: list[str]) -> None:
    from sso_core.logic.metadata_refresh import fingerprint

    stored = idp(certs[:4], missing_since={fingerprint(certs[0]): NOW - timedelta(days=3)})
    # certs[0] missing 3 days already, certs[1] missing from now on; certs[4..6] newly published with certs[2..3].
    fresh = idp([certs[2], certs[3], certs[4], certs[5]])
    merged, changes = merge(stored, fresh, NOW, GRACE)
    assert len(merged.certificates) == MAX_CERTIFICATES
    assert merged.certificates[:4] == [certs[2], certs[3], certs[4], certs[5]]
    assert merged.certificates[4] == certs[1]  # missing since now: more recently published than certs[0]
    assert changes.retired == [fingerprint(certs[0])]  # no room: retired before its grace ends
    assert changes.missing == [fingerprint(certs[1])]
    assert merged.missing_since == {fingerprint(certs[1]): NOW}
    assert changes.added == [fingerprint(certs[4]), fingerprint(certs[5])]


def test_more_than_five_published_keeps_the_first_five(certs: list[str]) -> None:
    merged, _ = merge(idp(certs[:1]), idp(certs[:7]), NOW, GRACE)
    assert merged.certificates == certs[:5]


def test_nothing_changed_is_no_change_but_a_new_read(certs: list[str]) -> None:
    stored = idp(certs[:2], refresh_error="was down", refresh_failed_at=NOW - timedelta(days=1))
    merged, changes = merge(stored, idp(certs[:2]), NOW, GRACE)
    assert not changes.any
    assert merged.refreshed_at == NOW and merged.refresh_error is None and merged.refresh_failed_at is None


def test_a_changed_sso_url_is_a_change(certs: list[str]) -> None:
    fresh = idp(certs[:1], sso_url="https://idp.example/new", sso_urls={"post": "https://idp.example/new"})
    merged, changes = merge(idp(certs[:1]), fresh, NOW, GRACE)
    assert changes.sso_url == ("https://idp.example/sso", "https://idp.example/new")
    assert merged.sso_url == "https://idp.example/new"


@pytest.mark.parametrize(
    ("event_time", "later"),
    [("2999-01-01T00:00:00Z", True), ("2000-01-01T00:00:00Z", False), ("not a time", False), ("", False)],
)
def test_the_run_time_is_now_or_a_later_scheduled_time(event_time: str, later: bool) -> None:
    module = load_handler_module(functions()["MetadataRefreshFunction"])
    when = module.run_time({"time": event_time})
    assert (when.year == 2999) is later
