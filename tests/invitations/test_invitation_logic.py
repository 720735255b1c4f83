"""Invitation logic with the clock and the mailer injected: expiry edges, renewal, mail failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sso_core.config import Settings
from sso_core.dal.table import Table
from sso_core.gateways.mail import OutgoingMail, SesMailer
from sso_core.logic.invitations import InvitationService
from sso_core.logic.memberships import MembershipRefused, member_for_sso_login
from sso_core.models.identity import Caller
from sso_core.models.invitations import CreateInvitationRequest, InvitationUnusable, MailNotSent
from tests.support.aws_env import TABLE
from tests.support.mail import ACCEPT_URL, SENDER, sent_mail

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ADMIN = Caller(tenant_id="acme", email="admin@acme.example", role="admin", accounts=("acct-1",))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class BrokenMailer:
    def __init__(self) -> None:
        self.tried: list[OutgoingMail] = []

    def send(self, mail: OutgoingMail) -> str:
        self.tried.append(mail)
        raise ConnectionError("SES is down")


def make(table: Table, clock: Clock, mailer: object | None = None, hours: int = 168) -> InvitationService:
    settings = Settings(table_name=TABLE, invite_accept_url=ACCEPT_URL, mail_sender=SENDER, invite_expiry_hours=hours)
    return InvitationService(settings, table, mailer or SesMailer(SENDER), clock=clock)  # type: ignore[arg-type]


def invite(service: InvitationService, email: str = "jane@example.com") -> str:
    result = service.create(ADMIN, CreateInvitationRequest(email=email, role="member", accounts=["acct-1"]))
    return result.invitation.id


@pytest.mark.parametrize(("after", "usable"), [(timedelta(days=7, seconds=-1), True), (timedelta(days=7), False)])
def test_a_token_works_until_its_expiry(table: Table, ses: None, after: timedelta, usable: bool) -> None:
    clock = Clock()
    service = make(table, clock)
    invite(service)
    clock.now = T0 + after
    token = sent_mail()[0].token
    if usable:
        assert service.accept(token).email == "jane@example.com"
    else:
        with pytest.raises(InvitationUnusable):
            service.accept(token)
        with pytest.raises(InvitationUnusable):
            service.preview(token)


def test_expiry_hours_come_from_settings(table: Table, ses: None) -> None:
    clock = Clock()
    service = make(table, clock, hours=1)
    invite(service)
    clock.now = T0 + timedelta(hours=1)
    with pytest.raises(InvitationUnusable):
        service.accept(sent_mail()[0].token)


def test_inviting_an_expired_pending_email_renews_the_same_invitation(table: Table, ses: None) -> None:
    clock = Clock()
    service = make(table, clock)
    first = invite(service)
    old = sent_mail()[0].token
    clock.now = T0 + timedelta(days=8)
    assert service.list(ADMIN, "expired").invitations[0].id == first
    with pytest.raises(MembershipRefused) as refused:
        member_for_sso_login(table, "acme", "jane@example.com")
    assert refused.value.reason == "user_not_invited"  # expired pending is not "not accepted"

    result = service.create(ADMIN, CreateInvitationRequest(email="jane@example.com", role="member"))
    assert not result.created and result.invitation.id == first
    assert result.invitation.status == "pending" and result.invitation.expires_at == clock.now + timedelta(days=7)
    mails = sent_mail()
    assert len(mails) == 2
    with pytest.raises(InvitationUnusable):
        service.accept(old)
    assert service.accept(mails[1].token).email == "jane@example.com"


def test_a_failed_mail_leaves_nothing_behind_and_the_retry_mails(table: Table, ses: None) -> None:
    broken = BrokenMailer()
    with pytest.raises(MailNotSent):
        invite(make(table, Clock(), broken))
    assert len(broken.tried) == 1
    working = make(table, Clock())
    assert working.list(ADMIN).invitations == []
    invite(working)
    assert len(sent_mail()) == 1
    assert working.accept(sent_mail()[0].token).email == "jane@example.com"


def test_a_failed_resend_mail_says_so_and_a_second_resend_works(table: Table, ses: None) -> None:
    working = make(table, Clock())
    invitation_id = invite(working)
    old = sent_mail()[0].token
    with pytest.raises(MailNotSent):
        make(table, Clock(), BrokenMailer()).resend(ADMIN, invitation_id)
    with pytest.raises(InvitationUnusable):
        working.accept(old)  # rotated before the mail failed
    working.resend(ADMIN, invitation_id)
    assert working.accept(sent_mail()[-1].token).tenant_id == "acme"
