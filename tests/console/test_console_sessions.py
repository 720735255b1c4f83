"""Console sessions in the table (moto): the id is stored hashed, expiry is idle and absolute, sign-in state is
single-use, and ``next`` never leaves the console."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sso_core.config import get_settings
from sso_core.dal.console_sessions import ConsoleSessionStore, PendingSignIn
from sso_core.dal.table import Table
from sso_core.logic.console_sessions import ConsoleSessions, safe_next
from sso_core.models.identity import Caller
from tests.support.clock import FakeClock

OWNER = Caller(tenant_id="acme", email="owner@acme.test", role="owner", accounts=("acct-main",))


@pytest.fixture
def table(aws) -> Table:
    return Table(get_settings().table_name)


def test_the_session_id_is_stored_only_as_its_hash(table):
    sessions = ConsoleSessions(get_settings(), ConsoleSessionStore(table), FakeClock())
    session_id = sessions.open(OWNER)
    items = table.client.scan(TableName=table.name)["Items"]
    assert len(items) == 1
    assert session_id not in str(items)
    assert items[0]["pk"]["S"].startswith("CONSOLESESSION#") and "ttl" in items[0]


def test_idle_and_absolute_expiry(table):
    clock = FakeClock()
    sessions = ConsoleSessions(get_settings(), ConsoleSessionStore(table), clock)
    session_id = sessions.open(OWNER)
    found = sessions.current(session_id)
    assert found is not None and found.role == "owner" and found.accounts == ("acct-main",)
    clock.advance(minutes=30)
    assert sessions.current(session_id) is None  # idle 30 minutes: gone, and deleted
    assert table.client.scan(TableName=table.name)["Items"] == []

    session_id = sessions.open(OWNER)
    for _ in range(19):
        clock.advance(minutes=25)
        assert sessions.current(session_id) is not None
    clock.advance(minutes=25)  # 8 h 20 min after sign-in
    assert sessions.current(session_id) is None


def test_unknown_and_ended_sessions_are_none(table):
    sessions = ConsoleSessions(get_settings(), ConsoleSessionStore(table), FakeClock())
    assert sessions.current(None) is None and sessions.current("nope") is None
    session_id = sessions.open(OWNER)
    sessions.end(session_id)
    assert sessions.current(session_id) is None


def test_sign_in_state_is_used_once(table):
    clock = FakeClock()
    store = ConsoleSessionStore(table)
    store.put_sign_in("state-1", PendingSignIn("verifier", "nonce", "/console/audit", clock() + timedelta(minutes=10)))
    taken = store.take_sign_in("state-1")
    assert taken is not None and taken.code_verifier == "verifier" and taken.next_path == "/console/audit"
    assert store.take_sign_in("state-1") is None


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/console/audit", "/console/audit"),
        ("/console/connections/c1/trace?reference=SSO-1", "/console/connections/c1/trace?reference=SSO-1"),
        ("//evil.example/console/", "/console/"),
        ("https://evil.example/console/", "/console/"),
        ("/domains", "/console/"),
        ("/console/\\evil", "/console/"),
        (None, "/console/"),
    ],
)
def test_next_stays_in_the_console(given, kept):
    assert safe_next(given) == kept
