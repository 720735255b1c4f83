"""Races, against a real moto server over HTTP from threads (each thread plays one Lambda instance)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from sso_core.config import Settings
from sso_core.dal.invitations import InvitationRepository
from sso_core.dal.table import Table
from sso_core.dal.users import MembershipRepository
from sso_core.gateways.mail import SesMailer
from sso_core.logic.invitations import InvitationService, hash_token
from sso_core.models.errors import DomainError
from sso_core.models.identity import Caller
from sso_core.models.invitations import CreateInvitationRequest, InvitationStatus, InvitationUnusable
from sso_local.lambda_runtime import FakeLambdaContext
from tests.support.mail import ACCEPT_URL, SENDER, sent_mail

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("server_ses")]
T = TypeVar("T")
THREADS = 8


def race(n: int, action: Callable[[int], T]) -> list[T | DomainError]:
    """Run ``action`` in ``n`` threads released together; its results or the domain errors it raised."""
    barrier = threading.Barrier(n)

    def run(i: int) -> T | DomainError:
        barrier.wait()
        try:
            return action(i)
        except DomainError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


@pytest.fixture
def make_service(server_table: Table) -> Callable[[], InvitationService]:
    settings = Settings(table_name=server_table.name, invite_accept_url=ACCEPT_URL, mail_sender=SENDER)

    def make() -> InvitationService:
        service = InvitationService(settings, Table(server_table.name), SesMailer(SENDER))
        service.bind_lambda_context(FakeLambdaContext())
        return service

    return make


def caller(tenant: str) -> Caller:
    return Caller(tenant_id=tenant, email=f"admin@{tenant}.example", role="admin", accounts=("acct-1",))


def fresh() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:10]
    return f"t-{tag}", f"user-{tag}@example.com"


def test_the_same_token_accepted_at_once_succeeds_exactly_once(
    make_service: Callable[[], InvitationService], server_table: Table
) -> None:
    tenant, email = fresh()
    make_service().create(caller(tenant), CreateInvitationRequest(email=email, role="member"))
    token = sent_mail(email)[0].token
    services = [make_service() for _ in range(THREADS)]
    results = race(THREADS, lambda i: services[i].accept(token))
    winners = [r for r in results if not isinstance(r, DomainError)]
    assert len(winners) == 1, results
    assert all(isinstance(r, InvitationUnusable) for r in results if isinstance(r, DomainError))
    members = MembershipRepository(server_table).list_for_tenant(tenant)
    assert [m.user_id for m in members] == [winners[0].user_id]
    invitation = InvitationRepository(server_table).list_for_tenant(tenant)[0]
    assert invitation.status is InvitationStatus.ACCEPTED and invitation.user_id == winners[0].user_id


def test_concurrent_resends_leave_exactly_one_working_link(
    make_service: Callable[[], InvitationService], server_table: Table
) -> None:
    tenant, email = fresh()
    created = make_service().create(caller(tenant), CreateInvitationRequest(email=email, role="member"))
    services = [make_service() for _ in range(THREADS)]
    results = race(THREADS, lambda i: services[i].resend(caller(tenant), created.invitation.id))
    succeeded = [r for r in results if not isinstance(r, DomainError)]
    assert succeeded, results
    assert all(r.code == "concurrent_change" for r in results if isinstance(r, DomainError))
    mails = sent_mail(email)
    assert len(mails) == 1 + len(succeeded)  # the first mail plus one per successful resend, no more
    stored = InvitationRepository(server_table).get(tenant, created.invitation.id)
    assert stored is not None and stored.sent_count == 1 + len(succeeded)
    live = [m.token for m in mails if hash_token(m.token) == stored.token_hash]
    assert len(live) == 1
    pointers = server_table.client.scan(
        TableName=server_table.name,
        FilterExpression="begins_with(pk, :p) AND invitation_id = :i",
        ExpressionAttributeValues={":p": {"S": "INVTOKEN#"}, ":i": {"S": created.invitation.id}},
    )["Items"]
    assert [p["pk"]["S"] for p in pointers] == [f"INVTOKEN#{stored.token_hash}"]  # no dangling token
    service = make_service()
    for mail in mails:
        if mail.token != live[0]:
            with pytest.raises(InvitationUnusable):
                service.accept(mail.token)
    assert service.accept(live[0]).email == email


def test_resend_racing_accept_of_the_old_link_never_leaves_both(
    make_service: Callable[[], InvitationService], server_table: Table
) -> None:
    for _ in range(3):
        tenant, email = fresh()
        created = make_service().create(caller(tenant), CreateInvitationRequest(email=email, role="member"))
        token = sent_mail(email)[0].token
        accepter, resender = make_service(), make_service()

        def act(i: int) -> Any:
            if i == 0:
                return accepter.accept(token)
            return resender.resend(caller(tenant), created.invitation.id)

        accepted, resent = race(2, act)
        stored = InvitationRepository(server_table).get(tenant, created.invitation.id)
        assert stored is not None
        members = MembershipRepository(server_table).list_for_tenant(tenant)
        if isinstance(accepted, DomainError):
            # The resend won: the old link died, the invitation is pending with a new link.
            assert isinstance(accepted, InvitationUnusable) and not isinstance(resent, DomainError)
            assert stored.status is InvitationStatus.PENDING and members == []
        else:
            assert stored.status is InvitationStatus.ACCEPTED and len(members) == 1
            if not isinstance(resent, DomainError):
                pytest.fail("a resend succeeded after the invitation was accepted")


def test_concurrent_invites_of_one_email_make_one_invitation_and_one_mail(
    make_service: Callable[[], InvitationService], server_table: Table
) -> None:
    tenant, email = fresh()
    services = [make_service() for _ in range(THREADS)]
    request = CreateInvitationRequest(email=email, role="member")
    results = race(THREADS, lambda i: services[i].create(caller(tenant), request))
    assert not any(isinstance(r, DomainError) for r in results), results
    ids = {r.invitation.id for r in results if not isinstance(r, DomainError)}
    assert len(ids) == 1
    assert sum(1 for r in results if not isinstance(r, DomainError) and r.created) == 1
    assert len(sent_mail(email)) == 1
    assert len(InvitationRepository(server_table).list_for_tenant(tenant)) == 1


def test_concurrent_retries_with_one_idempotency_key_send_one_mail(
    make_service: Callable[[], InvitationService], server_table: Table
) -> None:
    tenant, email = fresh()
    services = [make_service() for _ in range(THREADS)]
    request = CreateInvitationRequest(email=email, role="member")
    results = race(THREADS, lambda i: services[i].create(caller(tenant), request, idempotency_key="retry-1"))
    answered = [r for r in results if not isinstance(r, DomainError)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert all(r.code == "request_in_progress" for r in refused), refused
    assert answered and all(r.created and r.invitation.id == answered[0].invitation.id for r in answered)
    assert len(sent_mail(email)) == 1
