"""Kill switches (owner): Enterprise SSO on/off per connection, password login on/off per domain.

Rules:
- Enabling a connection needs a complete IdP and every domain verified by the tenant (409 otherwise).
- Disabling a connection takes effect at the next request (discovery, login start and ACS all read the
  connection's status from the table on every request: there is no cache to wait for). If password login
  was off for any of its domains, it is switched back on in the same transaction, and the answer says so.
- Switching password login off is refused unless an enabled connection covers the domain
  (``no_enabled_connection``), a login through it has succeeded (``sso_not_proven``), and an active owner of
  the tenant has an email outside the domain, who keeps signing in with a password (``no_break_glass_owner``).
Every change is audited in the same transaction.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from .api import Caller
from .audit import AuditLog
from .clock import Clock, utcnow
from .config import Settings
from .connections import ConnectionService
from .dal.connections import ConnectionRepository
from .dal.domains import DomainRepository
from .dal.table import Table
from .dal.users import MembershipRepository
from .domain_names import email_domain
from .domains import DomainService
from .errors import Conflict, InvalidDomain
from .models.connections import ConnectionStatus
from .models.domains import DomainClaim, DomainStatus
from .observability import logger


class IdpIncomplete(Conflict):
    code = "idp_incomplete"
    default_message = "Import the IdP (entity ID, SSO URL and certificate) before enabling the connection."


class NoEnabledConnection(Conflict):
    code = "no_enabled_connection"
    default_message = "Password login can only be switched off for a domain that an enabled SSO connection covers."


class SsoNotProven(Conflict):
    code = "sso_not_proven"
    default_message = "Complete at least one successful SSO sign-in through the connection first."


class NoBreakGlassOwner(Conflict):
    code = "no_break_glass_owner"
    default_message = (
        "Keep at least one owner whose email is outside this domain (they keep signing in with a password) "
        "before switching password login off."
    )


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
        self.connections = ConnectionService(settings, table, clock)
        self.conn_repo = ConnectionRepository(table)
        self.domain_repo = DomainRepository(table)
        self.audit = AuditLog(table)

    def set_connection_status(self, caller: Caller, connection_id: str, enabled: bool) -> StatusOut:
        conn = self.connections.get_connection(caller, connection_id)
        now = self.clock()
        if enabled:
            if conn.idp is None:
                raise IdpIncomplete()
            self.connections.verified_domains(caller.tenant_id, conn.domains)
            target = ConnectionStatus.ENABLED
        else:
            target = ConnectionStatus.DISABLED
        if conn.status is target:
            return StatusOut(id=conn.id, status=conn.status, message="No change.")
        updated = conn.model_copy(update={"status": target, "updated_at": now})
        ops: list[dict[str, Any]] = []
        restored: list[str] = []
        if not enabled:
            for domain in conn.domains:
                claim = self.domain_repo.get_claim(domain, caller.tenant_id)
                if claim is not None and not claim.password_login:
                    ops.append(self._claim_op(claim.model_copy(update={"password_login": True}), claim.version))
                    ops.append(
                        self.audit.put_op(
                            caller.tenant_id,
                            caller,
                            "domain.password_login_changed",
                            domain,
                            {"password_login": False},
                            {"password_login": True},
                            now,
                        )
                    )
                    restored.append(domain)
        action = "connection.enabled" if enabled else "connection.disabled"
        ops.append(
            self.audit.put_op(
                caller.tenant_id, caller, action, conn.id, {"status": conn.status.value}, {"status": target.value}, now
            )
        )
        self.conn_repo.save(updated, conn.version, ops)
        logger.info(action, extra={"tenant_id": caller.tenant_id, "connection_id": conn.id})
        message = ""
        if restored:
            message = (
                "Password login was switched back on for " + ", ".join(restored) + " so that nobody is locked out."
            )
        return StatusOut(id=conn.id, status=target, password_login_restored=restored, message=message)

    def set_password_login(self, caller: Caller, raw_domain: str, enabled: bool) -> PasswordLoginOut:
        claim = DomainService(self.settings, self.domain_repo, clock=self.clock).get_claim(caller, raw_domain)
        if claim.password_login is enabled:
            return PasswordLoginOut(domain=claim.domain, password_login=enabled, message="No change.")
        if not enabled:
            self._guard_password_off(caller, claim)
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
        ops = [self._claim_op(updated, claim.version), audit]
        if not enabled:
            # The connection must still be enabled when this commits (a concurrent kill switch wins).
            conn = self.conn_repo.connection_for_domain(claim.domain)
            assert conn is not None
            ops.append(
                {
                    "ConditionCheck": {
                        "TableName": self.table.name,
                        "Key": {"pk": {"S": f"CONN#{conn.id}"}, "sk": {"S": "CONN"}},
                        "ConditionExpression": "#s = :enabled",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":enabled": {"S": ConnectionStatus.ENABLED.value}},
                    }
                }
            )
        self.domain_repo.transact_checked(ops)
        logger.info("password login changed", extra={"tenant_id": caller.tenant_id, "domain": claim.domain})
        return PasswordLoginOut(domain=claim.domain, password_login=enabled)

    def _guard_password_off(self, caller: Caller, claim: DomainClaim) -> None:
        conn = self.conn_repo.connection_for_domain(claim.domain)
        if (
            claim.status is not DomainStatus.VERIFIED
            or conn is None
            or conn.tenant_id != caller.tenant_id
            or conn.status is not ConnectionStatus.ENABLED
        ):
            raise NoEnabledConnection()
        if conn.first_success_at is None:
            raise SsoNotProven()
        for member in MembershipRepository(self.table).list_for_tenant(caller.tenant_id):
            if member.role != "owner" or member.status != "active":
                continue
            try:
                if email_domain(member.email) != claim.domain:
                    return
            except InvalidDomain:
                continue
        raise NoBreakGlassOwner()

    def _claim_op(self, claim: DomainClaim, version: int) -> dict[str, Any]:
        op = self.domain_repo.put_claim_op(claim, version)
        op["Put"]["TableName"] = self.table.name
        return op
