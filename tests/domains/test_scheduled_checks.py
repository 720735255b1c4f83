"""The scheduled DNS check: reads only what is due, moves claims along, never flips on indeterminate answers."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from sso_core.dal.domains import DomainRepository
from sso_core.dal.table import Table
from sso_core.logic.domain_verification import PENDING_BACKOFF_SECONDS, DomainService
from sso_core.models.domains import DomainClaim, DomainStatus
from sso_core.models.errors import DomainTaken
from sso_core.models.identity import Caller
from tests.support.clock import FakeClock
from tests.support.requests import RequestCounter

pytestmark = pytest.mark.integration

OWNER_A = Caller("tenant-a", "owner@a.example", "owner")
OWNER_B = Caller("tenant-b", "owner@b.example", "owner")


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def service(table, settings, clock):
    return DomainService(settings, DomainRepository(table), clock=clock)


def publish(dns, service, caller, domain):
    out = service.get(caller, domain)
    dns.store.add(out.verification.record_name, "TXT", out.verification.record_value)


def test_reads_and_checks_only_what_is_due(table, settings, dns, clock):
    # This test counts reads and writes, not time: 3 s for each DNS answer, as the 0.5 s of ``settings`` made
    # one of the ten lookups come back indeterminate now and then on a loaded machine (coverage tracing on).
    service = DomainService(
        settings.model_copy(update={"dns_timeout_seconds": 3.0}), DomainRepository(table), clock=clock
    )
    repo = DomainRepository(table)
    now = clock()
    for i in range(1010):
        due = i < 10
        repo.create_claim(
            DomainClaim(
                domain=f"d{i}.example.com",
                tenant_id="tenant-a",
                token=f"tok{i}",
                status=DomainStatus.PENDING,
                created_at=now,
                expires_at=now + timedelta(days=14),
                next_check_at=now - timedelta(seconds=1) if due else now + timedelta(hours=1),
            )
        )
    counter = RequestCounter(table.client)
    queries_before = dns.store.queries
    summary = service.run_scheduled()
    assert summary.due == 10
    assert summary.checked == 10
    assert summary.still_pending == 10
    # Four DNS queries per due claim, none for the others: this resolver-only server has no NS records and no SOA
    # on its negative answers, so the authoritative walk asks NS of _sso-challenge.dN.example.com, dN.example.com
    # and example.com, finds no zone cut and the resolvers answer the TXT question (tests/domains/
    # test_authoritative_checks.py counts the authoritative path itself).
    assert dns.store.queries - queries_before == 10 * 4
    assert counter.items_returned == 10
    assert counter.calls["Query"] == 1
    assert counter.calls["Scan"] == 0
    assert counter.calls["PutItem"] == 10  # one write per checked claim
    assert counter.total == 11


def test_pending_claim_backs_off_then_verifies(service, dns, clock):
    service.add(OWNER_A, "example.com")
    schedule = []
    for _ in range(4):
        claim = service.get_claim(OWNER_A, "example.com")
        clock.now = claim.next_check_at
        summary = service.run_scheduled()
        assert summary.still_pending == 1
        schedule.append((service.get_claim(OWNER_A, "example.com").next_check_at - clock.now).total_seconds())
    assert schedule == [float(s) for s in PENDING_BACKOFF_SECONDS[1:5]]
    # Not due yet: a run now checks nothing.
    assert service.run_scheduled().due == 0
    publish(dns, service, OWNER_A, "example.com")
    clock.now = service.get_claim(OWNER_A, "example.com").next_check_at
    assert service.run_scheduled().verified == 1
    assert service.get_claim(OWNER_A, "example.com").status is DomainStatus.VERIFIED


def test_pending_claim_expires_and_can_be_restarted(service, dns, clock, settings):
    service.add(OWNER_A, "example.com")
    clock.advance(hours=settings.pending_expiry_hours + 1)
    assert service.run_scheduled().expired == 1
    claim = service.get_claim(OWNER_A, "example.com")
    assert claim.status is DomainStatus.EXPIRED
    clock.advance(days=30)
    assert service.run_scheduled().due == 0  # expired claims leave the schedule
    created, out = service.add(OWNER_A, "example.com")  # the owner restarts it
    assert created is False
    assert out.status is DomainStatus.PENDING
    assert out.verification.record_value.endswith(claim.token)
    assert out.expires_at == clock.now + timedelta(hours=settings.pending_expiry_hours)


def test_indeterminate_neither_verifies_nor_expires(service, dns, clock, settings):
    service.add(OWNER_A, "example.com")
    dns.store.behave("_sso-challenge.example.com", "timeout")
    clock.advance(hours=settings.pending_expiry_hours + 1)
    summary = service.run_scheduled()
    assert summary.indeterminate == 1
    assert service.get_claim(OWNER_A, "example.com").status is DomainStatus.PENDING


def verified(service, dns, clock, caller=OWNER_A, domain="example.com"):
    service.add(caller, domain)
    publish(dns, service, caller, domain)
    assert service.verify_now(caller, domain).status is DomainStatus.VERIFIED


def test_verified_domain_is_rechecked_on_a_slower_schedule(service, dns, clock, settings):
    verified(service, dns, clock)
    claim = service.get_claim(OWNER_A, "example.com")
    assert claim.next_check_at == clock.now + timedelta(hours=settings.verified_recheck_hours)
    clock.now = claim.next_check_at
    assert service.run_scheduled().reconfirmed == 1


def test_record_gone_is_reported_then_lost_after_grace(service, dns, clock, settings, table):
    verified(service, dns, clock)
    dns.store.clear()
    clock.now = service.get_claim(OWNER_A, "example.com").next_check_at
    assert service.run_scheduled().record_missing == 1
    claim = service.get_claim(OWNER_A, "example.com")
    assert claim.status is DomainStatus.VERIFIED
    assert claim.missing_since == clock.now
    assert service.get(OWNER_A, "example.com").record_missing_since == clock.now
    # The record comes back within the grace period: nothing is lost.
    publish(dns, service, OWNER_A, "example.com")
    clock.now = claim.next_check_at
    assert service.run_scheduled().reconfirmed == 1
    assert service.get_claim(OWNER_A, "example.com").missing_since is None
    # Gone for good.
    dns.store.clear()
    first_missing = None
    while True:
        clock.now = service.get_claim(OWNER_A, "example.com").next_check_at
        summary = service.run_scheduled()
        first_missing = first_missing or clock.now
        if summary.lost:
            break
        assert summary.record_missing == 1
    assert clock.now - first_missing >= timedelta(hours=settings.lost_grace_hours)
    assert clock.now - first_missing <= timedelta(hours=settings.lost_grace_hours, seconds=1)
    assert service.get_claim(OWNER_A, "example.com").status is DomainStatus.PENDING
    assert DomainRepository(table).owner_of("example.com") is None
    service.add(OWNER_B, "example.com")  # free again


def test_indeterminate_never_unverifies(service, dns, clock, settings):
    verified(service, dns, clock)
    dns.store.behave("_sso-challenge.example.com", "servfail")
    for _ in range(10):
        clock.advance(hours=settings.lost_grace_hours)
        service.run_scheduled()
    assert service.get_claim(OWNER_A, "example.com").status is DomainStatus.VERIFIED


def test_scheduled_run_respects_an_existing_owner(service, dns, clock, table):
    service.add(OWNER_B, "example.com")
    verified(service, dns, clock)
    publish(dns, service, OWNER_B, "example.com")
    clock.now = service.get_claim(OWNER_B, "example.com").next_check_at
    assert service.run_scheduled().taken == 1
    assert service.get_claim(OWNER_B, "example.com").status is DomainStatus.PENDING
    assert DomainRepository(table).owner_of("example.com") == "tenant-a"


def test_two_tenants_verifying_at_once_end_with_one_owner(server_table, settings, dns):
    """Threads against a moto server: every round, exactly one of the racing tenants wins."""
    service = DomainService(
        settings.model_copy(update={"table_name": server_table.name}), DomainRepository(server_table)
    )
    callers = [Caller(f"tenant-{i}", f"o@{i}.example", "owner") for i in range(6)]
    for round_ in range(5):
        domain = f"race{round_}.example.com"
        for caller in callers:
            service.add(caller, domain)
            publish(dns, service, caller, domain)

        def attempt(caller, domain=domain):
            try:
                return service.verify_now(caller, domain).status
            except DomainTaken:
                return "taken"

        with ThreadPoolExecutor(max_workers=len(callers)) as pool:
            results = list(pool.map(attempt, callers))
        assert results.count(DomainStatus.VERIFIED) == 1, results
        assert results.count("taken") == len(callers) - 1
        owner = DomainRepository(server_table).owner_of(domain)
        winner = callers[results.index(DomainStatus.VERIFIED)]
        assert owner == winner.tenant_id
        statuses = [service.get_claim(c, domain).status for c in callers]
        assert statuses.count(DomainStatus.VERIFIED) == 1


def test_table_fixture_is_from_template(table: Table):
    desc = table.client.describe_table(TableName=table.name)["Table"]
    assert {i["IndexName"] for i in desc["GlobalSecondaryIndexes"]} == {"by-tenant", "due-checks"}
