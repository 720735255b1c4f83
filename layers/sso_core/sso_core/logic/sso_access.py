"""Support grants and revokes a tenant's access to Enterprise SSO (the operator surface's logic).

- Granting records the plan (``ELIGIBLE_PLANS`` only: never the basic plan) and who granted it; changing the plan
  of a granted tenant is a new grant. Both are audited in the tenant's log, in the same transaction.
- Revoking is a kill switch run by support: in ONE transaction the entitlement becomes revoked, every enabled
  connection of the tenant is switched off (the status every login start, ACS and code redemption reads on each
  request, so logins under way and codes not yet redeemed stop at once) and password login comes back for its
  domains, each change audited. Connections that were not enabled are checked to still be not enabled when it
  commits, and enabling one commits only while access is granted (``kill_switches.py``): the two never interleave
  into an enabled connection without access. Then each owner is told by mail (after the commit: a mail failure
  never undoes the switch-off; it is logged and counted).
"""

from __future__ import annotations

from functools import partial

from sso_core.clock import Clock, utcnow
from sso_core.config import Settings
from sso_core.dal.audit import AuditLog
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.sso_access import EntitlementRepository
from sso_core.dal.table import Table
from sso_core.dal.users import MembershipRepository
from sso_core.gateways.mail import Mailer, mailer_for, sso_access_revoked_mail
from sso_core.logic.kill_switches import KillSwitchService, retried
from sso_core.models.audit import Actor
from sso_core.models.connections import ConnectionStatus
from sso_core.models.errors import InvalidRequest
from sso_core.models.sso_access import ELIGIBLE_PLANS, AccessOut, PlanNotEligible, SsoEntitlement
from sso_core.observability import logger


def support_actor(operator: str) -> Actor:
    return Actor("support", operator, "support")


def _out(
    tenant_id: str,
    entitlement: SsoEntitlement | None,
    message: str = "",
    connections_disabled: list[str] | None = None,
    password_login_restored: list[str] | None = None,
) -> AccessOut:
    out = AccessOut(
        tenant_id=tenant_id,
        access=entitlement.status if entitlement is not None else "none",
        message=message,
        connections_disabled=connections_disabled or [],
        password_login_restored=password_login_restored or [],
    )
    if entitlement is not None:
        out = out.model_copy(
            update=entitlement.model_dump(include={"plan", "granted_by", "granted_at", "revoked_by", "revoked_at"})
        )
    return out


class SsoAccessService:
    def __init__(self, settings: Settings, table: Table, clock: Clock = utcnow, mailer: Mailer | None = None) -> None:
        self.settings = settings
        self.table = table
        self.clock = clock
        self.mailer = mailer
        self.entitlements = EntitlementRepository(table)
        self.connections = ConnectionRepository(table)
        self.audit = AuditLog(table)

    def show(self, tenant_id: str) -> AccessOut:
        return _out(tenant_id, self.entitlements.get(tenant_id))

    def grant(self, tenant_id: str, plan: str | None, operator: str) -> AccessOut:
        if not plan:
            raise InvalidRequest(f"Name the plan access is granted under: one of {', '.join(ELIGIBLE_PLANS)}.")
        if plan not in ELIGIBLE_PLANS:
            raise PlanNotEligible()
        return retried(lambda: self._grant(tenant_id, plan, operator))

    def revoke(self, tenant_id: str, operator: str, reason: str = "") -> AccessOut:
        out = retried(lambda: self._revoke(tenant_id, operator, reason))
        if out.message == "No change.":
            return out
        # The tenant's list of connections is an index, updated a moment after a write: a connection enabled
        # just before the revocation may have been missing from it. Switch off any that shows up now.
        late = self._disable_leftovers(tenant_id, operator)
        out.connections_disabled += late
        out.owners_notified = self._tell_owners(tenant_id, operator, out)
        return out

    def _grant(self, tenant_id: str, plan: str, operator: str) -> AccessOut:
        current = self.entitlements.get(tenant_id)
        if current is not None and current.granted and current.plan == plan:
            return _out(tenant_id, current, message="No change.")
        now = self.clock()
        granted = SsoEntitlement(tenant_id=tenant_id, status="granted", plan=plan, granted_by=operator, granted_at=now)
        before = {"status": current.status, "plan": current.plan} if current is not None else None
        self.entitlements.transact(
            [
                self.entitlements.put_op(granted, current.version if current is not None else None),
                self.audit.put_op(
                    tenant_id,
                    support_actor(operator),
                    "sso_access.granted",
                    tenant_id,
                    before,
                    {"status": "granted", "plan": plan},
                    now,
                ),
            ]
        )
        logger.info("SSO access granted", extra={"tenant_id": tenant_id, "plan": plan})
        return _out(tenant_id, granted, message="Enterprise SSO is available to the organisation's owners.")

    def _revoke(self, tenant_id: str, operator: str, reason: str) -> AccessOut:
        current = self.entitlements.get(tenant_id)
        if current is None or not current.granted:
            return _out(tenant_id, current, message="No change.")
        now = self.clock()
        actor = support_actor(operator)
        revoked = current.model_copy(update={"status": "revoked", "revoked_by": operator, "revoked_at": now})
        ops = [self.entitlements.put_op(revoked, current.version)]
        kill_switch = KillSwitchService(self.settings, self.table, self.clock)
        disabled: list[str] = []
        restored: list[str] = []
        for conn in self.connections.list_for_tenant(tenant_id):
            if conn.status is ConnectionStatus.ENABLED:
                conn_ops, domains = kill_switch.disable_ops(actor, conn, now, reason="sso_access_revoked")
                ops.extend(conn_ops)
                disabled.append(conn.id)
                restored.extend(domains)
            else:
                ops.append(self.entitlements.not_enabled_check(conn.id))
        ops.append(
            self.audit.put_op(
                tenant_id,
                actor,
                "sso_access.revoked",
                tenant_id,
                {"status": "granted", "plan": current.plan},
                {"status": "revoked", "reason": reason, "connections_disabled": disabled},
                now,
            )
        )
        self.entitlements.transact(ops)
        logger.info("SSO access revoked", extra={"tenant_id": tenant_id, "connections_disabled": len(disabled)})
        message = "Enterprise SSO is no longer available to the organisation."
        if disabled:
            message += " Its connections were switched off and password login is back for all its domains."
        return _out(
            tenant_id, revoked, connections_disabled=disabled, password_login_restored=restored, message=message
        )

    def _disable_leftovers(self, tenant_id: str, operator: str) -> list[str]:
        late = [c.id for c in self.connections.list_for_tenant(tenant_id) if c.status is ConnectionStatus.ENABLED]
        switched: list[str] = []
        for conn_id in late:
            if retried(partial(self._disable_one, conn_id, operator)):
                switched.append(conn_id)
        return switched

    def _disable_one(self, connection_id: str, operator: str) -> bool:
        conn = self.connections.get(connection_id)
        if conn is None or conn.status is not ConnectionStatus.ENABLED:
            return False
        kill_switch = KillSwitchService(self.settings, self.table, self.clock)
        ops, _ = kill_switch.disable_ops(support_actor(operator), conn, self.clock(), "sso_access_revoked")
        self.entitlements.transact(ops)
        return True

    def _tell_owners(self, tenant_id: str, operator: str, out: AccessOut) -> int:
        owners = [
            m
            for m in MembershipRepository(self.table).list_for_tenant(tenant_id)
            if m.role == "owner" and m.status == "active"
        ]
        mailer = self.mailer or mailer_for(self.settings)
        sent = 0
        for owner in owners:
            mail = sso_access_revoked_mail(
                to=owner.email,
                tenant_name=tenant_id,
                operator=operator,
                connections=out.connections_disabled,
                domains=out.password_login_restored,
            )
            try:
                mailer.send(mail)
                sent += 1
            except Exception as exc:  # noqa: BLE001 - SSO is off already; a lost mail must not hide that
                logger.error("owner notice not sent", extra={"tenant_id": tenant_id, "error_type": type(exc).__name__})
        return sent
