"""Fixtures for invitations and users: SES in moto, the mail it recorded, and helpers to invite and accept."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from sso_core.config import get_settings
from sso_local.tokens import TokenAuthority
from tests.support.api import Api

SENDER = "invitations@mail.sso.test"
ACCEPT_URL = "https://app.sso.test/invitations/accept"
TOKEN_IN_LINK = re.compile(re.escape(ACCEPT_URL) + r"\?token=([A-Za-z0-9_\-%]+)")


@pytest.fixture(autouse=True)
def mail_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSO_MAIL_SENDER", SENDER)
    monkeypatch.setenv("SSO_INVITE_ACCEPT_URL", ACCEPT_URL)
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def metrics_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Powertools Metrics reads its namespace from the environment once, when sso_core.observability is first
    imported; test collection may import it before the environment is set, and flushing a metric without a
    namespace raises. Lambda sets the variable before any import, so give the object what Lambda would."""
    from sso_core.observability import metrics

    if not metrics.namespace:
        monkeypatch.setattr(metrics, "namespace", "EnterpriseSSO")


@dataclass(frozen=True)
class SentMail:
    to: list[str]
    source: str
    subject: str
    body: str

    @property
    def token(self) -> str:
        match = TOKEN_IN_LINK.search(self.body)
        assert match, "the mail holds no accept link"
        return unquote(match.group(1))


def sent_mail(to: str | None = None) -> list[SentMail]:
    """Mail that moto's SES recorded (in-process mock or the in-process moto server alike)."""
    backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    found = [
        SentMail(list(m.destinations.get("ToAddresses", [])), m.source, m.subject, m.body)
        for m in backend.sent_messages
        if hasattr(m, "destinations")
    ]
    return [m for m in found if to is None or to in m.to]


@pytest.fixture
def ses(aws: None) -> None:
    """The sender's domain verified in moto's SES (moto refuses unverified senders, as SES does)."""
    boto3.client("sesv2", region_name="us-east-1").create_email_identity(EmailIdentity="mail.sso.test")


@pytest.fixture
def server_ses(server_table: Any, moto_server: str) -> None:
    boto3.client("sesv2", region_name="us-east-1", endpoint_url=moto_server).create_email_identity(
        EmailIdentity="mail.sso.test"
    )


class Admin:
    """One tenant's admin calling the API, with helpers for the common steps."""

    def __init__(self, api: Api, tenant: str, role: str = "admin", accounts: list[str] | None = None, **claims: Any):
        self.api = api
        self.tenant = tenant
        self.role = role
        self.email = f"{role}@{tenant}.example"
        self.token = api.authority.issue(
            tenant, self.email, role, accounts if accounts is not None else ["acct-1", "acct-2"], **claims
        )

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.api.call(method, path, body, token=self.token, **kwargs)

    def invite(self, email: str, role: str = "member", accounts: list[str] | None = None, **kwargs: Any) -> Any:
        return self.call("POST", "/invitations", {"email": email, "role": role, "accounts": accounts or []}, **kwargs)


@pytest.fixture
def admin(api: Api, ses: None) -> Admin:
    return Admin(api, "acme")


@pytest.fixture
def owner(api: Api, ses: None) -> Admin:
    return Admin(api, "acme", role="owner")


@pytest.fixture
def make_admin(api: Api, ses: None) -> Callable[..., Admin]:
    def make(tenant: str = "acme", role: str = "admin", **kwargs: Any) -> Admin:
        return Admin(api, tenant, role, **kwargs)

    return make


def accept(api: Api, token: str) -> Any:
    return api.call("POST", "/invitations/accept", {"token": token})


@pytest.fixture(scope="session")
def session_authority(tmp_path_factory: pytest.TempPathFactory) -> TokenAuthority:
    return TokenAuthority(tmp_path_factory.mktemp("state"))


@pytest.fixture
def authority(session_authority: TokenAuthority) -> TokenAuthority:
    """One signing key for the folder: generating an RSA key per test was most of each test's setup."""
    return session_authority
