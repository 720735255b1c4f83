"""Redeeming the one-time login code, server to server, with the application's client secret."""

from __future__ import annotations

import hmac
import time
from typing import Any

from sso_core.clock import Clock, utcnow
from sso_core.config import Settings
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.logins import LoginStateRepository
from sso_core.dal.table import Table
from sso_core.dal.users import MembershipRepository
from sso_core.gateways.sp_keys import secrets_client
from sso_core.models.connections import ConnectionStatus
from sso_core.models.errors import DomainError, Unauthorized


class InvalidCode(DomainError):
    status = 400
    code = "invalid_code"
    default_message = "The code is unknown, expired or already used."


class InvalidClient(Unauthorized):
    code = "invalid_client"
    default_message = "A valid client secret is required (Authorization: Bearer <secret>)."


_secret_cache: dict[str, tuple[float, str]] = {}


def client_secret(settings: Settings) -> str:
    """The configured secret, or the one in Secrets Manager (cached five minutes)."""
    if settings.client_secret:
        return settings.client_secret
    if not settings.client_secret_id:
        return ""
    hit = _secret_cache.get(settings.client_secret_id)
    if hit and time.monotonic() - hit[0] < 300:
        return hit[1]
    value = str(secrets_client().get_secret_value(SecretId=settings.client_secret_id)["SecretString"])
    _secret_cache[settings.client_secret_id] = (time.monotonic(), value)
    return value


def check_client(settings: Settings, authorization: str | None) -> None:
    expected = client_secret(settings)
    # "Bearer <secret>", the scheme in any case (RFC 9110 11.1); a bare secret or another scheme is refused.
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    given = credentials.strip() if scheme.lower() == "bearer" else ""
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise InvalidClient()


def redeem(
    settings: Settings, table: Table, authorization: str | None, code: str, clock: Clock = utcnow
) -> dict[str, Any]:
    check_client(settings, authorization)
    if not code or len(code) > 256:
        raise InvalidCode()
    redeemed = LoginStateRepository(table).redeem_code(code, clock())
    if redeemed is None:
        raise InvalidCode()
    # The kill switch also stops codes issued just before it: a code is only good while SSO is on, and in the
    # enable period it was issued in (switching off and on again within the code's lifetime starts a new one).
    conn = ConnectionRepository(table).get(str(redeemed.payload.get("connection_id", "")))
    if conn is None or conn.status is not ConnectionStatus.ENABLED or conn.enable_count != redeemed.enable_count:
        raise InvalidCode()
    # So does removing or deactivating the member (an admin, or SCIM provisioning) between login and redemption.
    user = redeemed.payload.get("user") or {}
    member = MembershipRepository(table).get(str(user.get("tenant_id", "")), str(user.get("user_id", "")))
    if member is None or member.status != "active":
        raise InvalidCode()
    return redeemed.payload
