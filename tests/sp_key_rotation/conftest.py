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
