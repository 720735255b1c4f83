"""The discovery policy: one decision function, every row of its table (sso_core.logic.login_policy)."""

from __future__ import annotations

import itertools

import pytest

from sso_core.logic.login_policy import PASSWORD_RESET_NOTICE, Decision, decide
from sso_core.models.connections import ConnectionStatus

DRAFT, ENABLED, DISABLED = ConnectionStatus.DRAFT, ConnectionStatus.ENABLED, ConnectionStatus.DISABLED
PASSWORD = Decision("password", True)
SSO_OFF = Decision("password", True, PASSWORD_RESET_NOTICE)

# (domain verified, connection status, password login on) -> decision; every combination, one row each.
TABLE = [
    pytest.param(False, None, True, PASSWORD, id="unverified-none-pw_on"),
    pytest.param(False, None, False, PASSWORD, id="unverified-none-pw_off"),
    pytest.param(False, DRAFT, True, PASSWORD, id="unverified-draft-pw_on"),
    pytest.param(False, DRAFT, False, PASSWORD, id="unverified-draft-pw_off"),
    pytest.param(False, ENABLED, True, PASSWORD, id="unverified-enabled-pw_on"),
    pytest.param(False, ENABLED, False, PASSWORD, id="unverified-enabled-pw_off"),
    pytest.param(False, DISABLED, True, PASSWORD, id="unverified-disabled-pw_on"),
    pytest.param(False, DISABLED, False, PASSWORD, id="unverified-disabled-pw_off"),
    pytest.param(True, None, True, PASSWORD, id="verified-none-pw_on"),
    pytest.param(True, None, False, PASSWORD, id="verified-none-pw_off"),
    pytest.param(True, DRAFT, True, PASSWORD, id="verified-draft-pw_on"),
    pytest.param(True, DRAFT, False, PASSWORD, id="verified-draft-pw_off"),
    pytest.param(True, ENABLED, True, Decision("sso", True), id="verified-enabled-pw_on: sso, password possible"),
    pytest.param(True, ENABLED, False, Decision("sso", False), id="verified-enabled-pw_off: sso only"),
    pytest.param(True, DISABLED, True, SSO_OFF, id="verified-disabled-pw_on: password, reset notice"),
    pytest.param(True, DISABLED, False, SSO_OFF, id="verified-disabled-pw_off: password anyway, reset notice"),
]


@pytest.mark.parametrize(("verified", "connection", "password_login", "expected"), TABLE)
def test_decide(verified: bool, connection: ConnectionStatus | None, password_login: bool, expected: Decision) -> None:
    assert decide(verified, connection, password_login) == expected


def test_the_table_has_every_combination_once() -> None:
    rows = [tuple(p.values[:3]) for p in TABLE]
    every = list(itertools.product((False, True), (None, *ConnectionStatus), (True, False)))
    assert sorted(rows, key=repr) == sorted(every, key=repr)


def test_the_notice_tells_users_without_a_password_to_create_one() -> None:
    assert "Forgot password" in PASSWORD_RESET_NOTICE
