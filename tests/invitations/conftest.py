"""Fixtures for invitations and users: SES in moto, the mail it recorded, and admins who invite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from sso_core.config import get_settings
from sso_local.tokens import TokenAuthority
from tests.support.admins import Admin
from tests.support.api import Api
from tests.support.mail import ACCEPT_URL, SENDER


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


@pytest.fixture
def ses(aws: None) -> None:
    """The sender's domain verified in moto's SES (moto refuses unverified senders, as SES does)."""
    boto3.client("sesv2", region_name="us-east-1").create_email_identity(EmailIdentity="mail.sso.test")


@pytest.fixture
def server_ses(server_table: Any, moto_server: str) -> None:
    boto3.client("sesv2", region_name="us-east-1", endpoint_url=moto_server).create_email_identity(
        EmailIdentity="mail.sso.test"
    )


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


@pytest.fixture(scope="session")
def session_authority(tmp_path_factory: pytest.TempPathFactory) -> TokenAuthority:
    return TokenAuthority(tmp_path_factory.mktemp("state"))


@pytest.fixture
def authority(session_authority: TokenAuthority) -> TokenAuthority:
    """One signing key for the folder: generating an RSA key per test was most of each test's setup."""
    return session_authority
