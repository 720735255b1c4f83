"""Typed configuration, read once from the environment at cold start.

Logic receives a ``Settings`` value; it never reads ``os.environ`` itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

# The application's callback: an absolute https URL without fragment (http only on a loopback host, for the local
# stack). A full match, so a trailing newline is refused too.
_REDIRECT_URL = re.compile(r"(?:https://[A-Za-z0-9.-]+|http://(?:127\.0\.0\.1|localhost))(?::\d{1,5})?(?:/[^\s#]*)?")


class ConfigurationError(RuntimeError):
    """The deployment's configuration cannot work: raised at a function's cold start, before any request."""


class Settings(BaseModel):
    model_config = {"frozen": True}

    table_name: str = Field(min_length=1)
    public_url: str = "http://127.0.0.1:3000"
    # DNS verification
    dns_nameservers: tuple[str, ...] = ()
    dns_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    dns_concurrency: int = Field(default=64, ge=1, le=512)
    dns_record_label: str = "_sso-challenge"
    # Checks ask the domain's authoritative servers first (docs/decisions.md), on this port, within these bounds
    dns_authoritative: bool = True
    dns_authoritative_port: int = Field(default=53, ge=1, le=65535)
    dns_authoritative_allow_private: bool = False
    # at most 10 s: "Check DNS" runs in an API function; with the resolver fallback it must end within its timeout
    dns_authoritative_seconds: float = Field(default=3.0, gt=0, le=10)
    dns_record_prefix: str = "sso-domain-verification="
    pending_expiry_hours: int = Field(default=14 * 24, ge=1)
    verified_recheck_hours: int = Field(default=24, ge=1)
    lost_grace_hours: int = Field(default=72, ge=0)
    # Identity of callers (claims set by the JWT authorizer)
    claim_tenant: str = "tenant_id"
    claim_email: str = "email"
    claim_roles: str = "roles"
    claim_accounts: str = "accounts"
    # Login
    app_redirect_url: str = ""
    client_secret: str = ""
    client_secret_id: str = ""
    sp_key_secret_id: str = ""
    invite_accept_url: str = ""
    invite_expiry_hours: int = Field(default=7 * 24, ge=1)
    mail_sender: str = "no-reply@example.com"
    mail_configuration_set: str = ""
    # Invitation mail per UTC day: per tenant, and per inviter (resends count).
    invite_daily_limit_tenant: int = Field(default=200, ge=1)
    invite_daily_limit_inviter: int = Field(default=50, ge=1)
    local_outbox: str = ""
    allow_http_loopback_idp: bool = False
    # IdP metadata by URL: exact host:port origins let through without the address check (the local stack's demo
    # IdP; empty when deployed), a CA file trusted instead of the system store (tests), the daily refresh's grace.
    metadata_url_allow: tuple[str, ...] = ()
    metadata_url_ca_bundle: str = ""
    metadata_cert_grace_hours: int = Field(default=7 * 24, ge=0, le=90 * 24)
    clock_skew_seconds: int = Field(default=120, ge=0, le=180)
    # Admin console (OpenID Connect client of the company's issuer; sessions in the table)
    console_issuer: str = ""
    console_client_id: str = ""
    console_client_secret: str = ""  # local stack: the value itself; deployed: read from console_client_secret_id
    console_client_secret_id: str = ""
    console_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    console_absolute_hours: int = Field(default=8, ge=1, le=7 * 24)

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        return v.rstrip("/")

    @field_validator("app_redirect_url")
    @classmethod
    def _https_redirect(cls, v: str) -> str:
        if v and not _REDIRECT_URL.fullmatch(v):
            raise ValueError("SSO_APP_REDIRECT_URL must be an absolute https URL without a fragment")
        return v

    @property
    def redirect_url(self) -> str:
        """Where the ACS sends the browser with ?code=; empty when not configured (the ACS will not start)."""
        return self.app_redirect_url

    @property
    def base_path(self) -> str:
        """The path part of ``public_url`` ('' or e.g. '/sso', no trailing slash): an API mapping's base path, which
        every URL, link, redirect and cookie path the service makes carries."""
        return urlsplit(self.public_url).path.rstrip("/")

    def public_path(self, path: str) -> str:
        """``path`` (from the API's root, '/saml/...') as browsers see it, under the base path."""
        return f"{self.base_path}{path}"

    @property
    def accept_url(self) -> str:
        return self.invite_accept_url or f"{self.public_url}/invitations/accept"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def get(name: str) -> str | None:
            value = env.get(name)
            return value if value not in (None, "") else None

        raw: dict[str, object] = {
            "table_name": env.get("SSO_TABLE_NAME", ""),
            "public_url": get("SSO_PUBLIC_URL"),
            "dns_nameservers": tuple(s.strip() for s in (get("SSO_DNS_NAMESERVERS") or "").split(",") if s.strip()),
            "dns_timeout_seconds": get("SSO_DNS_TIMEOUT_SECONDS"),
            "dns_concurrency": get("SSO_DNS_CONCURRENCY"),
            "dns_record_label": get("SSO_DNS_RECORD_LABEL"),
            "dns_authoritative": _flag("SSO_DNS_AUTHORITATIVE", get("SSO_DNS_AUTHORITATIVE"), default=True),
            "dns_authoritative_port": get("SSO_DNS_AUTHORITATIVE_PORT"),
            "dns_authoritative_allow_private": _flag(
                "SSO_DNS_AUTHORITATIVE_ALLOW_PRIVATE", get("SSO_DNS_AUTHORITATIVE_ALLOW_PRIVATE"), default=False
            ),
            "dns_authoritative_seconds": get("SSO_DNS_AUTHORITATIVE_SECONDS"),
            "dns_record_prefix": get("SSO_DNS_RECORD_PREFIX"),
            "pending_expiry_hours": get("SSO_PENDING_EXPIRY_HOURS"),
            "verified_recheck_hours": get("SSO_VERIFIED_RECHECK_HOURS"),
            "lost_grace_hours": get("SSO_LOST_GRACE_HOURS"),
            "claim_tenant": get("SSO_CLAIM_TENANT"),
            "claim_email": get("SSO_CLAIM_EMAIL"),
            "claim_roles": get("SSO_CLAIM_ROLES"),
            "claim_accounts": get("SSO_CLAIM_ACCOUNTS"),
            "app_redirect_url": get("SSO_APP_REDIRECT_URL"),
            "client_secret": get("SSO_CLIENT_SECRET"),
            "client_secret_id": get("SSO_CLIENT_SECRET_ID"),
            "sp_key_secret_id": get("SSO_SP_KEY_SECRET_ID"),
            "invite_accept_url": get("SSO_INVITE_ACCEPT_URL"),
            "invite_expiry_hours": get("SSO_INVITE_EXPIRY_HOURS"),
            "mail_sender": get("SSO_MAIL_SENDER"),
            "mail_configuration_set": get("SSO_MAIL_CONFIGURATION_SET"),
            "invite_daily_limit_tenant": get("SSO_INVITE_DAILY_LIMIT_TENANT"),
            "invite_daily_limit_inviter": get("SSO_INVITE_DAILY_LIMIT_INVITER"),
            "local_outbox": get("SSO_LOCAL_OUTBOX"),
            "allow_http_loopback_idp": get("SSO_ALLOW_HTTP_LOOPBACK_IDP") in ("1", "true", "True"),
            "clock_skew_seconds": get("SSO_CLOCK_SKEW_SECONDS"),
            "metadata_url_allow": tuple(
                s.strip().lower() for s in (get("SSO_METADATA_URL_ALLOW") or "").split(",") if s.strip()
            ),
            "metadata_url_ca_bundle": get("SSO_METADATA_URL_CA_BUNDLE"),
            "metadata_cert_grace_hours": get("SSO_METADATA_CERT_GRACE_HOURS"),
            "console_issuer": get("SSO_CONSOLE_ISSUER"),
            "console_client_id": get("SSO_CONSOLE_CLIENT_ID"),
            "console_client_secret": get("SSO_CONSOLE_CLIENT_SECRET"),
            "console_client_secret_id": get("SSO_CONSOLE_CLIENT_SECRET_ID"),
            "console_idle_minutes": get("SSO_CONSOLE_IDLE_MINUTES"),
            "console_absolute_hours": get("SSO_CONSOLE_ABSOLUTE_HOURS"),
        }
        return cls.model_validate({k: v for k, v in raw.items() if v is not None})


def _flag(name: str, value: str | None, default: bool) -> bool:
    """``true``/``1``/``yes`` or ``false``/``0``/``no`` (any case); unset is the default; anything else fails."""
    if value is None:
        return default
    text = value.strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no"):
        return False
    raise ConfigurationError(f"{name} must be true or false, not {value!r}")


def base_path_from_env(env: Mapping[str, str]) -> str:
    """``Settings.base_path`` without validating the rest: what the resolver strips before routing."""
    return urlsplit(env.get("SSO_PUBLIC_URL") or "").path.rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, validated once (cold start)."""
    return Settings.from_env(os.environ)
