"""Fixtures for the SP key rotation tests: the SSO environment, and a deployment whose SP key exists."""

from __future__ import annotations

import pytest

from sso_core.dal.table import Table
from tests.support.sso_fixtures import store_sp_key


@pytest.fixture(autouse=True)
def _sso_env(sso_env: None) -> None:
    """The SSO environment (tests/support/sso_fixtures.py) for every test of this folder."""


@pytest.fixture
def keyed(table: Table, sp_keypair: tuple[str, str]) -> Table:
    """The table, with the SP key stored in Secrets Manager (moto), as after the first connection."""
    store_sp_key(*sp_keypair)
    return table


@pytest.fixture
def world(api, dns, tmp_path, acme_idp_keys, sp_keypair):  # type: ignore[no-untyped-def]
    """Tenant acme over the API: verified domain, IdP imported, connection enabled (signed requests), alice a
    member and olga an owner by invitation."""
    from tests.support.sso_fixtures import make_world

    ready = make_world(api, dns, tmp_path / "outbox", acme_idp_keys, sp_keypair).setup()
    ready.invite_and_accept("olga@acme.test", role="owner")
    return ready


@pytest.fixture
def stack(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """The local stack in this process, over real HTTP on 127.0.0.1 (as `make run` serves it)."""
    from sso_local.stack import LocalStack

    monkeypatch.delenv("SSO_DNS_NAMESERVERS", raising=False)
    monkeypatch.setenv("SSO_LOCAL_OUTBOX", str(tmp_path / "outbox"))
    with LocalStack(port=0, state_dir=tmp_path / "state", dns_check_interval=0, quiet=True) as running:
        yield running
