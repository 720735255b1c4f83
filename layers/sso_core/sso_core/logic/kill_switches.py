"""Kill switches (owner): Enterprise SSO on/off per connection, password login on/off per domain.

Rules:
- Enabling a connection needs a complete IdP and every domain verified by the tenant (409 otherwise).
- Disabling a connection takes effect at the next request (discovery, login start and ACS all read the
  connection's status from the table on every request: there is no cache to wait for). If password login
  was off for any of its domains, it is switched back on in the same transaction, and the answer says so.
- Switching password login off is refused unless an enabled connection covers the domain
  (``no_enabled_connection``), a login or a connection test through it has succeeded (``sso_not_proven``;
  ``first_success_at`` or ``test_success_at``), and a break-glass
  owner exists (``no_break_glass_owner``): an active owner *membership* whose email is outside the domain
  and outside every other domain of the tenant with password login off (``break_glass.py``). The caller's
  token alone does not count (see ``break_glass.py`` for why).
- Neither switch can leave password login off behind a disabled connection, even when both run at once:
  switching password login off commits only if the connection is still enabled and the break-glass owner
  still an owner (condition checks in its transaction), and disabling commits only if every claim it did not
  restore still has password login on. A transaction that loses such a race is re-read and retried.
- The status change is conditioned on the status read, not on the connection's version, which every
  successful login bumps: switching SSO off never loses to a stream of logins.
Every change is audited in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from sso_core.clock import Clock, utcnow
from sso_core.config import Settings
from sso_core.dal.audit import AuditLog
from sso_core.dal.connections import ConnectionRepository, DomainHasConnection
from sso_core.dal.domains import DomainRepository
from sso_core.dal.sso_access import EntitlementRepository
from sso_core.dal.table import Table, TxItem
from sso_core.dal.users import MembershipRepository, still_owner_check
from sso_core.logic.break_glass import break_glass_owners
from sso_core.logic.domain_verification import DomainService
from sso_core.logic.sso_gate import require_sso_access
from sso_core.logic.tenant_scope import tenant_connection, verified_domains
from sso_core.models.connections import Connection, ConnectionStatus
from sso_core.models.domains import DomainClaim, DomainStatus
from sso_core.models.errors import ConcurrentChange, Conflict
from sso_core.models.identity import Caller
from sso_core.models.users import Membership
from sso_core.observability import logger


class IdpIncomplete(Conflict):
    code = "idp_incomplete"
    default_message = "Import the IdP (entity ID, SSO URL and certificate) before enabling the connection."


class NoEnabledConnection(Conflict):
    code = "no_enabled_connection"
    default_message = "Password login can only be switched off for a domain that an enabled SSO connection covers."


class SsoNotProven(Conflict):
    code = "sso_not_proven"
    default_message = (
        "Complete at least one successful SSO sign-in, or a successful connection test, through the connection first."
    )


class NoBreakGlassOwner(Conflict):
    code = "no_break_glass_owner"
    default_message = (
        "Keep at least one owner whose email is outside this domain (they keep signing in with a password) "
        "before switching password login off."
    )


ATTEMPTS = 4  # tries, re-reading each time, when a concurrent change made the transaction fail
T = TypeVar("T")


def retried(action: Callable[[], T]) -> T:
    """``action`` again, re-reading, while a concurrent change makes its transaction fail (``ATTEMPTS`` tries)."""
    for _ in range(ATTEMPTS - 1):
        try:
            return action()
        except ConcurrentChange:
            continue
    return action()


class StatusOut(BaseModel):
    id: str
    status: ConnectionStatus
    password_login_restored: list[str] = Field(default_factory=list)
    message: str = ""


class PasswordLoginOut(BaseModel):
    domain: str
    password_login: bool
    message: str = ""


class KillSwitchService:
    def __init__(self, settings: Settings, table: Table, clock: Clock = utcnow) -> None:
        self.settings = settings
        self.table = table
        self.clock = clock
        self.conn_repo = ConnectionRepository(table)
        self.domain_repo = DomainRepository(table)
        self.audit = AuditLog(table)

    def read_connection(self, caller: Caller, connection_id: str) -> Connection:
        return tenant_connection(self.conn_repo, caller, connection_id)

    def set_connection_status(self, caller: Caller, connection_id: str, enabled: bool) -> StatusOut:
        return retried(lambda: self._set_connection_status(caller, connection_id, enabled))

    def set_password_login(self, caller: Caller, raw_domain: str, enabled: bool) -> PasswordLoginOut:
        return retried(lambda: self._set_password_login(caller, raw_domain, enabled))

    def _set_connection_status(self, caller: Caller, connection_id: str, enabled: bool) -> StatusOut:
        if enabled:
            # Switching SSO off stays open without access (it only makes things safer); switching it on does not.
            require_sso_access(self.table, caller.tenant_id)
        conn = self.read_connection(caller, connection_id)
        now = self.clock()
        if enabled:
            if conn.idp is None:
                raise IdpIncomplete()
            verified_domains(self.domain_repo, caller.tenant_id, conn.domains)
            target = ConnectionStatus.ENABLED
        else:
            target = ConnectionStatus.DISABLED
        if conn.status is target:
            return StatusOut(id=conn.id, status=conn.status, message="No change.")
        if enabled:
            ops: list[TxItem] = [
                self.conn_repo.status_change_op(conn, target, now),
                # Support revoking access at this moment wins: enabling commits only while access is granted.
                EntitlementRepository(self.table).granted_check(caller.tenant_id),
                *self._routing_ops(conn),
                self.audit.put_op(
                    caller.tenant_id,
                    caller,
                    "connection.enabled",
                    conn.id,
                    {"status": conn.status.value},
                    {"status": target.value},
                    now,
                ),
            ]
            restored: list[str] = []
        else:
            ops, restored = self.disable_ops(caller, conn, now)
        action = "connection.enabled" if enabled else "connection.disabled"
        self.domain_repo.transact_checked(ops)
        logger.info(action, extra={"tenant_id": caller.tenant_id, "connection_id": conn.id})
        message = ""
        if restored:
            message = (
                "Password login was switched back on for " + ", ".join(restored) + " so that nobody is locked out."
            )
        return StatusOut(id=conn.id, status=target, password_login_restored=restored, message=message)

    def disable_ops(
        self, actor: Any, conn: Connection, now: datetime, reason: str = "connection_disabled"
    ) -> tuple[list[TxItem], list[str]]:
        """Transaction ops that switch ``conn`` off, switch password login back on for its domains where it was
        off, and audit both as ``actor``; and the domains restored. Shared by the owner's kill switch and by
        support revoking the tenant's access (``sso_access.py``)."""
        tenant_id = conn.tenant_id
        ops: list[TxItem] = [self.conn_repo.status_change_op(conn, ConnectionStatus.DISABLED, now)]
        restored: list[str] = []
        for domain in conn.domains:
            claim = self.domain_repo.get_claim(domain, tenant_id)
            if claim is None:
                continue
            if claim.password_login:
                # Switching password login off at this moment would leave it off behind a disabled
                # connection: this transaction then fails and is retried, and restores it.
                ops.append(DomainRepository.password_still_on_check(domain, tenant_id))
                continue
            restored_claim = claim.model_copy(update={"password_login": True})
            ops.append(self.domain_repo.put_claim_op(restored_claim, claim.version))
            ops.append(
                self.audit.put_op(
                    tenant_id,
                    actor,
                    "domain.password_login_changed",
                    domain,
                    {"password_login": False},
                    {"password_login": True, "reason": reason},
                    now,
                )
            )
            restored.append(domain)
        after: dict[str, str] = {"status": ConnectionStatus.DISABLED.value}
        if reason != "connection_disabled":
            after["reason"] = reason
        ops.append(
            self.audit.put_op(
                tenant_id, actor, "connection.disabled", conn.id, {"status": conn.status.value}, after, now
            )
        )
        return ops, restored

    def _set_password_login(self, caller: Caller, raw_domain: str, enabled: bool) -> PasswordLoginOut:
        claim = DomainService(self.settings, self.domain_repo, clock=self.clock).get_claim(caller, raw_domain)
        if claim.password_login is enabled:
            return PasswordLoginOut(domain=claim.domain, password_login=enabled, message="No change.")
        now = self.clock()
        updated = claim.model_copy(update={"password_login": enabled})
        audit = self.audit.put_op(
            caller.tenant_id,
            caller,
            "domain.password_login_changed",
            claim.domain,
            {"password_login": claim.password_login},
            {"password_login": enabled},
            now,
        )
        ops = [self.domain_repo.put_claim_op(updated, claim.version), audit]
        if not enabled:
            # Password login back on is always allowed; off is part of the SSO feature.
            require_sso_access(self.table, caller.tenant_id)
            conn, owner = self._guard_password_off(caller, claim)
            # What the guard saw must still hold when this commits (a concurrent kill switch or removal wins).
            ops.append(ConnectionRepository.still_enabled_check(conn))
            ops.append(still_owner_check(owner))
        self.domain_repo.transact_checked(ops)
        logger.info("password login changed", extra={"tenant_id": caller.tenant_id, "domain": claim.domain})
        return PasswordLoginOut(domain=claim.domain, password_login=enabled)

    def _guard_password_off(self, caller: Caller, claim: DomainClaim) -> tuple[Connection, Membership]:
        """The enabled, proven connection of the domain and a break-glass owner, or the refusal."""
        conn = self.conn_repo.connection_for_domain(claim.domain)
        if (
            claim.status is not DomainStatus.VERIFIED
            or conn is None
            or conn.tenant_id != caller.tenant_id
            or conn.status is not ConnectionStatus.ENABLED
        ):
            raise NoEnabledConnection()
        if conn.first_success_at is None and conn.test_success_at is None:
            raise SsoNotProven()
        password_off = {c.domain for c in self.domain_repo.list_claims(caller.tenant_id) if not c.password_login}
        members = MembershipRepository(self.table).list_for_tenant(caller.tenant_id)
        owners = break_glass_owners(members, password_off, claim.domain)
        if not owners:
            raise NoBreakGlassOwner()
        return conn, owners[0]

    def _routing_ops(self, conn: Connection) -> list[TxItem]:
        """Switching on (re)writes the routing of each of the connection's domains: deleting a domain drops its
        pointer, and re-verifying it must route it again. A domain the tenant has since connected to another of
        its connections stays there (409 domain_has_connection); the write is conditioned on that, so a
        concurrent create makes this transaction fail and be retried."""
        for domain in conn.domains:
            owner = self.conn_repo.routing_owner(domain)
            if owner is not None and owner[0] == conn.tenant_id and owner[1] != conn.id:
                raise DomainHasConnection()
        return [self.conn_repo.routing_op(domain, conn) for domain in conn.domains]
