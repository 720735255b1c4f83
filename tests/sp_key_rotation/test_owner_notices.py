"""Owners told at stage: one notice per active owner of every tenant whose connections sign their requests, none for
tenants without, none twice (a retried stage, a later ``notify``), and a failed mail tried again by ``notify``."""

from __future__ import annotations

from pathlib import Path

import pytest

from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.gateways.mail import OutgoingMail
from sso_core.logic.sp_key_rotation import SpKeyRotation
from sso_core.models.sp_keys import NoNextKey
from tests.support.clock import FakeClock
from tests.support.sp_key_rotation import OPERATOR, outbox_recipients, outbox_texts, seed_tenant


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"  # SSO_LOCAL_OUTBOX of sso_env


@pytest.fixture
def tenants(keyed: Table) -> dict[str, str]:
    """acme signs requests (two owners), globex signs them on one of two connections, initech does not."""
    found = {
        "acme": seed_tenant(keyed, "acme", ["olga@acme.test", "omar@acme.test"], signed_requests=True),
        "globex": seed_tenant(keyed, "globex", ["gus@globex.test"], signed_requests=True),
        "initech": seed_tenant(keyed, "initech", ["ivy@initech.test"], signed_requests=False),
    }
    seed_connection_only = seed_tenant(keyed, "globex-2", [], signed_requests=False, members=0)
    assert seed_connection_only
    return found


def test_stage_tells_each_owner_of_a_tenant_with_signed_requests_once(
    keyed: Table, tenants: dict[str, str], outbox: Path
) -> None:
    clock = FakeClock()
    out = SpKeyRotation(get_settings(), keyed, clock).stage(OPERATOR, "req-notice-1", days=30)
    assert out.owners_notified == 3
    assert outbox_recipients(outbox) == ["gus@globex.test", "olga@acme.test", "omar@acme.test"]
    assert out.next is not None
    for text in outbox_texts(outbox):
        assert out.next.fingerprint in text
        assert "before 27 December 2026, 12:00 UTC" in text  # the switch date, 30 days on
        assert "/certificate?which=next" in text and "PRIVATE KEY" not in text
    acme_text = next(t for t in outbox_texts(outbox) if "acme" in t)
    assert f"https://sso.test/saml/{tenants['acme']}/certificate?which=next" in acme_text


def test_a_retried_stage_and_a_later_notify_tell_nobody_twice(
    keyed: Table, tenants: dict[str, str], outbox: Path
) -> None:
    rotation = SpKeyRotation(get_settings(), keyed, FakeClock())
    rotation.stage(OPERATOR, "req-notice-2")
    again = rotation.stage(OPERATOR, "req-notice-2")
    assert again.owners_notified == 0 and again.owners_already_notified == 3
    later = rotation.notify()
    assert later.owners_notified == 0 and later.owners_already_notified == 3
    assert len(outbox_recipients(outbox)) == 3


class FailingFor:
    """A mailer that loses the mail of one address (SES refusing it) and sends the others to the outbox."""

    def __init__(self, address: str, outbox: Path) -> None:
        from sso_core.gateways.mail import OutboxMailer

        self.address = address
        self.inner = OutboxMailer("noreply@sso.test", outbox)

    def send(self, mail: OutgoingMail) -> str:
        if mail.to == self.address:
            raise RuntimeError("SES refused")
        return self.inner.send(mail)


def test_a_lost_notice_is_sent_by_a_later_notify(keyed: Table, tenants: dict[str, str], outbox: Path) -> None:
    failing = SpKeyRotation(get_settings(), keyed, FakeClock(), mailer=FailingFor("omar@acme.test", outbox))
    assert failing.stage(OPERATOR, "req-notice-3").owners_notified == 2
    assert "omar@acme.test" not in outbox_recipients(outbox)
    later = SpKeyRotation(get_settings(), keyed, FakeClock()).notify()
    assert later.owners_notified == 1 and later.owners_already_notified == 2
    assert outbox_recipients(outbox) == ["gus@globex.test", "olga@acme.test", "omar@acme.test"]


def test_notify_without_a_staged_key_is_refused(keyed: Table) -> None:
    with pytest.raises(NoNextKey):
        SpKeyRotation(get_settings(), keyed, FakeClock()).notify()


def test_the_scan_pages_through_many_connections(keyed: Table, outbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a page of 2 items the read takes several pages and still finds every tenant that signs."""
    from sso_core.dal import sp_keys as records

    monkeypatch.setattr(records, "SCAN_PAGE", 2)
    for i in range(5):
        seed_tenant(keyed, f"t{i}", [f"owner@t{i}.test"], signed_requests=i % 2 == 0, members=0)
    out = SpKeyRotation(get_settings(), keyed, FakeClock()).stage(OPERATOR, "req-notice-pages")
    assert out.owners_notified == 3
    assert outbox_recipients(outbox) == ["owner@t0.test", "owner@t2.test", "owner@t4.test"]
