"""The daily certificate watch: owners get one notice per threshold (30, 7, 1 days) per certificate, whatever
the number of runs, overlapping runs included; a removed certificate gets none. Through the public API, the
scheduled function as Lambda runs it, and the local outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from sso_core.config import get_settings
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.table import Table
from sso_core.gateways.mail import Mailer, OutboxMailer, OutgoingMail
from sso_core.logic.certificate_watch import CertificateWatch
from sso_local.lambda_runtime import invoke, load_handler_module
from sso_local.template import functions
from tests.support.clock import FakeClock
from tests.support.keys import make_keypair
from tests.support.sso_world import SsoWorld

pytestmark = pytest.mark.integration

OWNER = "olivia@acme.test"
MEMBER = "mike@acme.test"


def notices(outbox: Path, to: str | None = None) -> list[str]:
    """Subjects of the certificate notices in the outbox (to ``to`` only, if given)."""
    found = []
    for path in sorted(outbox.glob("*.eml")):
        msg = message_from_bytes(path.read_bytes())
        if "SSO certificate" in str(msg["Subject"]) and (to is None or to in str(msg["To"])):
            found.append(str(msg["Subject"]))
    return found


@pytest.fixture
def expiring(world: SsoWorld) -> tuple[SsoWorld, datetime]:
    """acme's connection holds a certificate that expires in 40 days; acme has an owner and a member."""
    world.verify_domain()
    world.create_connection()
    now = datetime.now(UTC).replace(microsecond=0)
    not_after = now + timedelta(days=40)
    keys = make_keypair("acme-idp-2026", not_before=now - timedelta(days=300), not_after=not_after)
    fields = {"entity_id": world.idp_entity_id, "sso_url": world.idp_sso_url, "certificates": [keys.cert_pem]}
    assert world.owner("PUT", f"/connections/{world.connection_id}/idp", fields).status == 200
    world.invite_and_accept(OWNER, role="owner")
    world.invite_and_accept(MEMBER)
    return world, not_after


@pytest.fixture
def scheduled_run() -> Callable[[datetime], dict[str, Any]]:
    """Runs the scheduled function as the scheduler does, its clock set to the given time."""
    code_dir = functions()["CertificateWatchFunction"]
    module = load_handler_module(code_dir)
    module.service.cache_clear()  # this test's settings (outbox) and table

    def run(when: datetime) -> dict[str, Any]:
        module.service().clock = FakeClock(when)
        return dict(invoke(code_dir, {"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {}}))

    yield run
    module.service.cache_clear()


def test_one_notice_per_threshold_across_repeated_runs(
    expiring: tuple[SsoWorld, datetime], scheduled_run: Callable[[datetime], dict[str, Any]]
) -> None:
    world, not_after = expiring
    before = len(list(world.outbox.glob("*.eml")))  # the invitations
    assert scheduled_run(not_after - timedelta(days=31))["notices"] == 0
    assert notices(world.outbox) == []
    for hours in (0, 1, 20):  # repeated runs within the 30-day window
        scheduled_run(not_after - timedelta(days=30) + timedelta(hours=hours))
    assert notices(world.outbox, OWNER) == ["An SSO certificate of acme expires in 30 days"]
    for hours in (0, 5):
        scheduled_run(not_after - timedelta(days=7) + timedelta(hours=hours))
    for hours in (0, 5, 23):
        scheduled_run(not_after - timedelta(days=1) + timedelta(hours=hours))
    scheduled_run(not_after + timedelta(hours=1))  # expired: no more mail
    assert notices(world.outbox, OWNER) == [
        "An SSO certificate of acme expires in 30 days",
        "An SSO certificate of acme expires in 7 days",
        "An SSO certificate of acme expires in 1 day",
    ]
    assert notices(world.outbox, MEMBER) == []  # owners only
    assert len(list(world.outbox.glob("*.eml"))) == before + 3
    [path] = [p for p in sorted(world.outbox.glob("*.eml")) if "30 days" in str(message_from_bytes(p.read_bytes()))]
    body = message_from_bytes(path.read_bytes(), policy=policy.default).get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "CN=acme-idp-2026" in text and world.connection_id in text and "BEGIN CERTIFICATE" not in text


def test_a_certificate_first_seen_late_gets_only_the_most_urgent_notice(
    expiring: tuple[SsoWorld, datetime], scheduled_run: Callable[[datetime], dict[str, Any]]
) -> None:
    world, not_after = expiring
    summary = scheduled_run(not_after - timedelta(days=5))
    assert (summary["notices"], summary["mails"]) == (1, 1)
    scheduled_run(not_after - timedelta(days=4))
    assert notices(world.outbox, OWNER) == ["An SSO certificate of acme expires in 5 days"]


def test_a_removed_certificate_gets_no_notice(
    expiring: tuple[SsoWorld, datetime], scheduled_run: Callable[[datetime], dict[str, Any]]
) -> None:
    world, not_after = expiring
    body = world.owner(
        "POST", f"/connections/{world.connection_id}/idp/certificates", {"certificate": world.keys.cert_pem}
    ).json()
    old = body["idp"]["certificates"][0]["sha256_fingerprint"]
    assert world.owner("DELETE", f"/connections/{world.connection_id}/idp/certificates/{old}").status == 200
    assert scheduled_run(not_after - timedelta(days=3))["notices"] == 0
    assert notices(world.outbox) == []


def test_an_import_that_replaces_the_certificate_drops_its_notices(
    expiring: tuple[SsoWorld, datetime], scheduled_run: Callable[[datetime], dict[str, Any]]
) -> None:
    world, not_after = expiring
    assert world.import_idp().status == 200  # the IdP's metadata, with its current (3-year) certificate
    assert scheduled_run(not_after - timedelta(days=3))["notices"] == 0
    assert notices(world.outbox) == []


class _RunsAnotherWatchFirst:
    """A mailer whose first send lets a second, overlapping run go all the way through."""

    def __init__(self, inner: Mailer, other: Callable[[], object]) -> None:
        self.inner, self.other, self.overlapped = inner, other, False

    def send(self, mail: OutgoingMail) -> str:
        if not self.overlapped:
            self.overlapped = True
            self.other()
        return self.inner.send(mail)


def test_overlapping_runs_send_one_notice(expiring: tuple[SsoWorld, datetime]) -> None:
    world, not_after = expiring
    settings = get_settings()
    table = Table(settings.table_name)
    when = FakeClock(not_after - timedelta(days=6))
    outbox = OutboxMailer(settings.mail_sender, world.outbox)
    second = CertificateWatch(settings, table, when, outbox)
    first = CertificateWatch(settings, table, when, _RunsAnotherWatchFirst(outbox, second.run))
    summary = first.run()
    assert summary.notices == 1
    assert notices(world.outbox, OWNER) == ["An SSO certificate of acme expires in 6 days"]


class _Failing:
    def send(self, mail: OutgoingMail) -> str:
        raise ConnectionError("SES unreachable")


def test_a_notice_that_reached_nobody_is_sent_by_the_next_run(expiring: tuple[SsoWorld, datetime]) -> None:
    world, not_after = expiring
    settings = get_settings()
    table = Table(settings.table_name)
    when = FakeClock(not_after - timedelta(days=6))
    assert CertificateWatch(settings, table, when, _Failing()).run().notices == 0
    assert notices(world.outbox) == []
    retry = CertificateWatch(settings, table, when, OutboxMailer(settings.mail_sender, world.outbox))
    assert retry.run().notices == 1
    assert notices(world.outbox, OWNER) == ["An SSO certificate of acme expires in 6 days"]


def test_an_index_item_left_by_an_unaware_writer_is_dropped(
    expiring: tuple[SsoWorld, datetime], scheduled_run: Callable[[datetime], dict[str, Any]]
) -> None:
    world, not_after = expiring
    repo = ConnectionRepository(Table(get_settings().table_name))
    conn = repo.get(world.connection_id)
    assert conn is not None and conn.idp is not None
    # A writer that does not know the index replaces the certificate (the index still names the old one).
    replaced = conn.idp.model_copy(update={"certificates": [world.keys.cert_pem]})
    repo.save(conn.model_copy(update={"idp": replaced}), conn.version)
    summary = scheduled_run(not_after - timedelta(days=3))
    assert (summary["stale"], summary["notices"]) == (1, 0)
    assert scheduled_run(not_after - timedelta(days=2))["stale"] == 0  # gone from the index
    assert notices(world.outbox) == []
