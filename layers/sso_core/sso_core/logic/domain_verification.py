"""Domain ownership: claims, on-demand checks and the scheduled verification run (docs/decisions.md, "Domains")."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sso_core.clock import Clock, utcnow
from sso_core.config import Settings
from sso_core.dal.audit import AuditLog
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.domains import AlreadyExists, DomainRepository
from sso_core.dal.table import InvalidCursor
from sso_core.gateways.authoritative_dns import AuthoritativePolicy, AuthoritativeTxtResolver
from sso_core.gateways.txt_lookup import CheckResult, TxtLookup, TxtResolver, record_name, record_value
from sso_core.models.audit import Actor
from sso_core.models.connections import ConnectionStatus
from sso_core.models.domain_names import normalise_domain
from sso_core.models.domains import (
    DomainClaim,
    DomainList,
    DomainOut,
    DomainStatus,
    LastCheck,
    ScheduledRunSummary,
    VerificationRecord,
    VerifyOut,
)
from sso_core.models.errors import (
    ConcurrentChange,
    Conflict,
    DomainNotFound,
    DomainTaken,
    InvalidDomain,
    InvalidRequest,
)
from sso_core.models.identity import Caller
from sso_core.observability import logger

# Re-check delays for pending claims, by attempt; the last one repeats until the claim expires.
PENDING_BACKOFF_SECONDS = (60, 120, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600)
INDETERMINATE_RETRY_SECONDS = 300
MISSING_RECHECK_SECONDS = 3600

STATUS_LABELS = {
    DomainStatus.PENDING: "In Review",
    DomainStatus.VERIFIED: "Verified",
    DomainStatus.EXPIRED: "Expired",
}


def pending_delay(attempts: int) -> timedelta:
    return timedelta(seconds=PENDING_BACKOFF_SECONDS[min(attempts, len(PENDING_BACKOFF_SECONDS) - 1)])


def txt_resolver(settings: Settings) -> TxtResolver | AuthoritativeTxtResolver:
    """The authoritative servers first, the configured resolvers as fallback (or only them, when turned off)."""
    resolvers = TxtResolver(settings.dns_nameservers, settings.dns_timeout_seconds)
    if not settings.dns_authoritative:
        return resolvers
    policy = AuthoritativePolicy(
        port=settings.dns_authoritative_port,
        allow_private=settings.dns_authoritative_allow_private,
        total_seconds=settings.dns_authoritative_seconds,
        server_timeout=min(1.0, settings.dns_timeout_seconds),
    )
    return AuthoritativeTxtResolver(resolvers, policy)


class DomainInUse(Conflict):
    code = "domain_in_use"
    default_message = "An enabled SSO connection signs in this domain; disable the connection first."


@dataclass(frozen=True)
class Outcome:
    label: str
    claim: DomainClaim


class DomainService:
    def __init__(
        self,
        settings: Settings,
        repo: DomainRepository,
        resolver: TxtResolver | AuthoritativeTxtResolver | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.repo = repo
        self.resolver = resolver or txt_resolver(settings)
        self.clock = clock
        self.audit = AuditLog(repo.table)

    # ---- presentation ---------------------------------------------------------------------
    def record(self, claim: DomainClaim) -> VerificationRecord:
        return VerificationRecord(
            record_name=record_name(claim.domain, self.settings.dns_record_label),
            record_value=record_value(claim.token, self.settings.dns_record_prefix),
        )

    def to_out(self, claim: DomainClaim) -> DomainOut:
        return DomainOut(
            domain=claim.domain,
            status=claim.status,
            status_label=STATUS_LABELS[claim.status],
            verification=self.record(claim),
            created_at=claim.created_at,
            expires_at=claim.expires_at if claim.status is not DomainStatus.VERIFIED else None,
            verified_at=claim.verified_at,
            next_check_at=claim.next_check_at if claim.status is not DomainStatus.EXPIRED else None,
            record_missing_since=claim.missing_since,
            password_login=claim.password_login,
            last_check=claim.last_check,
        )

    # ---- owner routes ---------------------------------------------------------------------
    def add(self, caller: Caller, raw_domain: object) -> tuple[bool, DomainOut]:
        """Claim a domain. Returns (created, domain). Adding it again returns the same record."""
        domain = normalise_domain(raw_domain)
        owner = self.repo.owner_of(domain)
        if owner is not None and owner != caller.tenant_id:
            raise DomainTaken()
        existing = self.repo.get_claim(domain, caller.tenant_id)
        if existing is not None:
            if existing.status is DomainStatus.EXPIRED:
                existing = self._restart(existing)
            return False, self.to_out(existing)
        now = self.clock()
        claim = DomainClaim(
            domain=domain,
            tenant_id=caller.tenant_id,
            token=secrets.token_urlsafe(24),  # 192 bits
            status=DomainStatus.PENDING,
            created_at=now,
            expires_at=now + timedelta(hours=self.settings.pending_expiry_hours),
            next_check_at=now + pending_delay(0),
        )
        added = self.audit.put_op(caller.tenant_id, caller, "domain.added", domain, None, {"status": "pending"}, now)
        try:
            self.repo.create_claim(claim, [added])
        except AlreadyExists:
            # A concurrent add by the same tenant won; answer with its record.
            current = self.repo.get_claim(domain, caller.tenant_id)
            if current is None:
                raise ConcurrentChange() from None
            return False, self.to_out(current)
        logger.info("domain claimed", extra={"tenant_id": caller.tenant_id, "domain": domain})
        return True, self.to_out(claim)

    def _restart(self, claim: DomainClaim) -> DomainClaim:
        now = self.clock()
        restarted = claim.model_copy(
            update={
                "status": DomainStatus.PENDING,
                "expires_at": now + timedelta(hours=self.settings.pending_expiry_hours),
                "attempts": 0,
                "next_check_at": now + pending_delay(0),
            }
        )
        return self.repo.save_claim(restarted, claim.version)

    def list(self, caller: Caller, limit: int = 50, cursor: str | None = None) -> DomainList:
        """One page of the caller's tenant's domains, in domain order."""
        try:
            claims, next_cursor = self.repo.page_of_claims(caller.tenant_id, limit, cursor)
        except InvalidCursor:
            raise InvalidRequest("The cursor is not valid.") from None
        return DomainList(domains=[self.to_out(c) for c in claims], next_cursor=next_cursor)

    def get_claim(self, caller: Caller, raw_domain: object) -> DomainClaim:
        try:
            domain = normalise_domain(raw_domain)
        except InvalidDomain:
            raise DomainNotFound() from None
        claim = self.repo.get_claim(domain, caller.tenant_id)
        if claim is None:
            raise DomainNotFound()
        return claim

    def get(self, caller: Caller, raw_domain: object) -> DomainOut:
        return self.to_out(self.get_claim(caller, raw_domain))

    def delete(self, caller: Caller, raw_domain: object) -> None:
        claim = self.get_claim(caller, raw_domain)
        conn = ConnectionRepository(self.repo.table).connection_for_domain(claim.domain)
        if conn is not None and conn.tenant_id == caller.tenant_id and conn.status is ConnectionStatus.ENABLED:
            raise DomainInUse()
        deleted = self.audit.put_op(
            caller.tenant_id, caller, "domain.deleted", claim.domain, {"status": claim.status.value}, None
        )
        self.repo.delete_claim(claim, [deleted])
        logger.info("domain deleted", extra={"tenant_id": caller.tenant_id, "domain": claim.domain})

    def verify_now(self, caller: Caller, raw_domain: object) -> VerifyOut:
        claim = self.get_claim(caller, raw_domain)
        lookup = self.resolver.lookup(
            record_name(claim.domain, self.settings.dns_record_label),
            record_value(claim.token, self.settings.dns_record_prefix),
        )
        outcome = self.apply(claim, lookup, on_demand=True, actor=caller)
        logger.info(
            "domain checked",
            extra={"tenant_id": caller.tenant_id, "domain": claim.domain, "outcome": outcome.label},
        )
        if outcome.label == "taken":
            raise DomainTaken()
        assert outcome.claim.last_check is not None
        return VerifyOut(
            domain=outcome.claim.domain,
            status=outcome.claim.status,
            status_label=STATUS_LABELS[outcome.claim.status],
            check=outcome.claim.last_check,
        )

    # ---- state machine --------------------------------------------------------------------
    def apply(self, claim: DomainClaim, lookup: TxtLookup, on_demand: bool = False, actor: object = None) -> Outcome:
        """Move ``claim`` according to one DNS lookup and persist it. Indeterminate never changes state."""
        now = self.clock()
        check = LastCheck(
            result=lookup.result.value,
            found=list(lookup.found),
            expected=record_value(claim.token, self.settings.dns_record_prefix),
            checked_at=now,
            detail=lookup.detail,
            source=lookup.source.value,
            server=lookup.server,
            source_note=lookup.source_note,
        )
        base = claim.model_copy(update={"last_check": check})
        who = actor if actor is not None else Actor.system()
        if claim.status is DomainStatus.VERIFIED:
            return self._apply_verified(base, claim.version, lookup.result, now, who)
        return self._apply_pending(base, claim.version, lookup.result, now, on_demand, who)

    def _apply_pending(
        self, claim: DomainClaim, version: int, result: CheckResult, now: datetime, on_demand: bool, actor: object
    ) -> Outcome:
        if result is CheckResult.VERIFIED:
            verified = claim.model_copy(
                update={
                    "status": DomainStatus.VERIFIED,
                    "verified_at": now,
                    "expires_at": None,
                    "missing_since": None,
                    "attempts": 0,
                    "next_check_at": now + timedelta(hours=self.settings.verified_recheck_hours),
                }
            )
            try:
                audit = self.audit.put_op(
                    claim.tenant_id,
                    actor,
                    "domain.verified",
                    claim.domain,
                    {"status": claim.status.value},
                    {"status": "verified"},
                    now,
                )
                saved = self.repo.verify_claim(verified, version, [audit])
            except DomainTaken:
                detail = "the record matches, but another organisation verified this domain first"
                assert claim.last_check is not None
                lost = claim.model_copy(
                    update={
                        "last_check": claim.last_check.model_copy(update={"detail": detail}),
                        "next_check_at": self._next_pending(claim, now, on_demand),
                    }
                )
                return Outcome("taken", self.repo.save_claim(lost, version))
            logger.info("domain verified", extra={"tenant_id": claim.tenant_id, "domain": claim.domain})
            return Outcome("verified", saved)
        if result is CheckResult.INDETERMINATE:
            retry = (
                None if claim.status is DomainStatus.EXPIRED else now + timedelta(seconds=INDETERMINATE_RETRY_SECONDS)
            )
            return Outcome(
                "indeterminate", self.repo.save_claim(claim.model_copy(update={"next_check_at": retry}), version)
            )
        if claim.status is DomainStatus.PENDING and claim.expires_at is not None and now >= claim.expires_at:
            expired = claim.model_copy(update={"status": DomainStatus.EXPIRED, "next_check_at": None})
            logger.info("domain claim expired", extra={"tenant_id": claim.tenant_id, "domain": claim.domain})
            return Outcome("expired", self.repo.save_claim(expired, version))
        if claim.status is DomainStatus.EXPIRED:
            return Outcome("still_pending", self.repo.save_claim(claim, version))
        attempts = claim.attempts if on_demand else claim.attempts + 1
        pending = claim.model_copy(update={"attempts": attempts})
        pending = pending.model_copy(update={"next_check_at": self._next_pending(pending, now, on_demand)})
        return Outcome("still_pending", self.repo.save_claim(pending, version))

    def _next_pending(self, claim: DomainClaim, now: datetime, on_demand: bool) -> datetime | None:
        if claim.status is DomainStatus.EXPIRED:
            return None
        if on_demand and claim.next_check_at is not None:
            return claim.next_check_at  # an on-demand check does not push the schedule back
        return now + pending_delay(claim.attempts)

    def _apply_verified(
        self, claim: DomainClaim, version: int, result: CheckResult, now: datetime, actor: object
    ) -> Outcome:
        recheck = now + timedelta(hours=self.settings.verified_recheck_hours)
        if result is CheckResult.VERIFIED:
            ok = claim.model_copy(update={"missing_since": None, "next_check_at": recheck})
            return Outcome("reconfirmed", self.repo.save_claim(ok, version))
        if result is CheckResult.INDETERMINATE:
            retry = now + timedelta(seconds=MISSING_RECHECK_SECONDS)
            return Outcome(
                "indeterminate", self.repo.save_claim(claim.model_copy(update={"next_check_at": retry}), version)
            )
        grace = timedelta(hours=self.settings.lost_grace_hours)
        missing_since = claim.missing_since or now
        if now - missing_since >= grace:
            lost = claim.model_copy(
                update={
                    "status": DomainStatus.PENDING,
                    "verified_at": None,
                    "missing_since": None,
                    "attempts": 0,
                    "expires_at": now + timedelta(hours=self.settings.pending_expiry_hours),
                    "next_check_at": now + pending_delay(0),
                }
            )
            logger.warning("domain verification lost", extra={"tenant_id": claim.tenant_id, "domain": claim.domain})
            audit = self.audit.put_op(
                claim.tenant_id,
                actor,
                "domain.lost",
                claim.domain,
                {"status": "verified"},
                {"status": "pending", "record_missing_since": missing_since.isoformat()},
                now,
            )
            return Outcome("lost", self.repo.release_claim(lost, version, [audit]))
        next_check = min(missing_since + grace, now + timedelta(seconds=MISSING_RECHECK_SECONDS))
        if claim.missing_since is None:
            logger.warning("verification record missing", extra={"tenant_id": claim.tenant_id, "domain": claim.domain})
        missing = claim.model_copy(update={"missing_since": missing_since, "next_check_at": next_check})
        return Outcome("record_missing", self.repo.save_claim(missing, version))

    # ---- scheduled run --------------------------------------------------------------------
    def run_scheduled(self, time_left_ms: Callable[[], int] | None = None, page_size: int = 500) -> ScheduledRunSummary:
        """Check every due claim (read through the sparse index only), concurrently.

        Stops taking new pages when less time remains than the worst case of one more page (every check timing out
        on the authoritative path, then on the resolvers), and never later than 20 s before the end; the rest stays
        due.
        """
        started = time.monotonic()
        margin_ms = self._page_margin_ms(page_size)
        summary = ScheduledRunSummary()
        now = self.clock()
        counts: dict[str, int] = {}
        with ThreadPoolExecutor(max_workers=self.settings.dns_concurrency) as pool:
            for page in self.repo.due_pages(now, page_size=page_size):
                summary.due += len(page)
                for label in pool.map(self._check_one, page):
                    counts[label] = counts.get(label, 0) + 1
                if time_left_ms is not None and time_left_ms() < margin_ms:
                    summary.remaining = True
                    break
        for label, n in counts.items():
            if label in ScheduledRunSummary.model_fields:
                setattr(summary, label, n)
        summary.checked = sum(n for label, n in counts.items() if label != "skipped")
        summary.duration_ms = int((time.monotonic() - started) * 1000)
        logger.info("scheduled DNS check finished", extra={"summary": summary.model_dump()})
        return summary

    def _page_margin_ms(self, page_size: int) -> int:
        per_check = self.settings.dns_timeout_seconds
        if self.settings.dns_authoritative:
            per_check += self.settings.dns_authoritative_seconds
        rounds = -(-page_size // self.settings.dns_concurrency)
        return max(20_000, int(rounds * per_check * 1000) + 5_000)

    def _check_one(self, claim: DomainClaim) -> str:
        lookup = self.resolver.lookup(
            record_name(claim.domain, self.settings.dns_record_label),
            record_value(claim.token, self.settings.dns_record_prefix),
        )
        try:
            return self.apply(claim, lookup).label
        except ConcurrentChange:
            return "skipped"  # changed (or deleted) since the index was read; it is picked up next run
        except Exception:  # noqa: BLE001 - one bad claim must not stop the run
            logger.exception("scheduled check failed", extra={"domain": claim.domain})
            return "skipped"
