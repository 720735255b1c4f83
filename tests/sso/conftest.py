"""Fixtures for the HTTP-level SSO tests: the SSO world on in-process moto, or on the moto server."""

from __future__ import annotations

import pytest

from sso_core import sp_keys
from sso_core.config import get_settings
from tests.support.sso_world import CLIENT_SECRET, SsoWorld


@pytest.fixture(autouse=True)
def sso_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("SSO_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("SSO_SP_KEY_SECRET_ID", "test/sp-signing-key")
    monkeypatch.setenv("SSO_LOCAL_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setenv("SSO_APP_REDIRECT_URL", "https://app.test/sso/callback")
    monkeypatch.setenv("SSO_INVITE_ACCEPT_URL", "https://sso.test/invitations/accept")
    get_settings.cache_clear()
    sp_keys.clear_cache()


@pytest.fixture
def world(api, dns, tmp_path) -> SsoWorld:
    return SsoWorld(api, dns, tmp_path / "outbox")


@pytest.fixture
def ready(world: SsoWorld) -> SsoWorld:
    return world.setup()
