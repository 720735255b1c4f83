"""Automatic provisioning, the owner's side: the SCIM token (created, rotated, revoked), the group mappings, the
activity log; and the SCIM side's authentication (a bearer token looked up by its hash with one key read).

Turning provisioning on is creating a token: the response is the only time it is shown; the table keeps its
SHA-256, so a leaked table does not leak a usable token. A new token replaces the old in the same transaction, so at
most one works at a time. Every change is audited in its own transaction.
"""

from __future__ import annotations

import hashlib
import secrets

from scim2_models import UnauthorizedException

from sso_core.clock import Clock, utcnow
from sso_core.config import Settings
from sso_core.dal.audit import AuditLog
from sso_core.dal.provisioning import ProvisioningRepository
from sso_core.dal.table import Table
from sso_core.logic.memberships import check_accounts
from sso_core.logic.scim import name_key
from sso_core.models.identity import Caller
from sso_core.models.provisioning import (
    ActivityPage,
    InvalidMapping,
    ProvisioningConfig,
    ProvisioningSettings,
    ProvisioningSettingsOut,
    ScimTokenNotFound,
    ScimTokenOut,
)
from sso_core.observability import logger

TOKEN_PREFIX = "scim_"
PROVISIONED_ROLES = ("member", "admin")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def scim_base_url(settings: Settings) -> str:
    return f"{settings.public_url}/scim/v2"


def authenticate(table: Table, authorization: str | None) -> str:
    """The tenant whose SCIM token is presented as ``Authorization: Bearer <token>``, else 401."""
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    token = credentials.strip() if scheme.lower() == "bearer" else ""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        raise UnauthorizedException(detail="A valid SCIM bearer token is required.")
    # Looked up by its hash: the table never holds the token, and there is no stored secret to compare against.
    tenant_id = ProvisioningRepository(table).tenant_for_token(hash_token(token))
    if tenant_id is None:
        raise UnauthorizedException(detail="A valid SCIM bearer token is required.")
    return tenant_id


class ProvisioningAdmin:
    def __init__(self, table: Table, settings: Settings, clock: Clock = utcnow) -> None:
        self.table = table
        self.settings = settings
        self.clock = clock
        self.repo = ProvisioningRepository(table)
        self.audit = AuditLog(table)

    def _config(self, caller: Caller) -> ProvisioningConfig | None:
        return self.repo.config(caller.tenant_id)

    def create_token(self, caller: Caller) -> ScimTokenOut:
        """Turn provisioning on, or rotate: a new token, the previous one (if any) stops working at once."""
        current = self._config(caller)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        base = current or ProvisioningConfig(tenant_id=caller.tenant_id)
        saved = base.model_copy(
            update={"token_hash": hash_token(token), "token_created_at": now, "token_created_by": caller.email}
        )
        action = "provisioning.token_rotated" if current and current.enabled else "provisioning.token_created"
        audit = self.audit.put_op(
            caller.tenant_id, caller, action, "scim-token", _token_state(current), _token_state(saved), now
        )
        self.repo.save_config(current, saved, [audit])
        logger.info("scim token created", extra={"tenant_id": caller.tenant_id, "action": action})
        return ScimTokenOut(base_url=scim_base_url(self.settings), token=token)

    def revoke_token(self, caller: Caller) -> None:
        current = self._config(caller)
        if current is None or not current.enabled:
            raise ScimTokenNotFound()
        saved = current.model_copy(update={"token_hash": None, "token_created_at": None, "token_created_by": ""})
        audit = self.audit.put_op(
            caller.tenant_id, caller, "provisioning.token_revoked", "scim-token", _token_state(current), None
        )
        self.repo.save_config(current, saved, [audit])
        logger.info("scim token revoked", extra={"tenant_id": caller.tenant_id})

    def read_settings(self, caller: Caller) -> ProvisioningSettingsOut:
        return self._out(self._config(caller) or ProvisioningConfig(tenant_id=caller.tenant_id))

    def save_settings(self, caller: Caller, request: ProvisioningSettings) -> ProvisioningSettingsOut:
        """Mappings apply to each member's next group change (and to every user created from now on)."""
        seen: set[str] = set()
        for mapping in request.group_mappings:
            if mapping.role not in PROVISIONED_ROLES or name_key(mapping.group) in seen:
                raise InvalidMapping()
            seen.add(name_key(mapping.group))
            check_accounts(caller, mapping.accounts)
        if request.default_role not in PROVISIONED_ROLES:
            raise InvalidMapping("The default role must be member or admin.")
        check_accounts(caller, request.default_accounts)
        current = self._config(caller)
        base = current or ProvisioningConfig(tenant_id=caller.tenant_id)
        saved = base.model_copy(update={"settings": request})
        audit = self.audit.put_op(
            caller.tenant_id,
            caller,
            "provisioning.settings_changed",
            "scim-settings",
            base.settings if current else None,
            request,
        )
        saved = self.repo.save_config(current, saved, [audit])
        return self._out(saved)

    def activity(self, caller: Caller, limit: int, cursor: str | None) -> ActivityPage:
        return self.repo.activity_page(caller.tenant_id, limit, cursor)

    def _out(self, config: ProvisioningConfig) -> ProvisioningSettingsOut:
        return ProvisioningSettingsOut(
            **config.settings.model_dump(),
            enabled=config.enabled,
            base_url=scim_base_url(self.settings),
            token_created_at=config.token_created_at,
        )


def _token_state(config: ProvisioningConfig | None) -> dict[str, object] | None:
    if config is None or not config.enabled:
        return None
    return {"created_at": config.token_created_at.isoformat() if config.token_created_at else None}
