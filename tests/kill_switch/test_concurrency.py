"""Concurrent toggles against a real moto server over HTTP: the end state is always consistent.

Each thread plays one Lambda instance (its own service and client), as in tests/invitations. The world is
set up through the API; the races call the kill switch service directly, since one resolver object shared
by threads is not how Lambda runs handlers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sso_core.config import get_settings
from sso_core.dal.audit import AuditLog
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.domains import DomainRepository
from sso_core.dal.table import Table
from sso_core.logic.kill_switches import KillSwitchService, NoEnabledConnection, PasswordLoginOut, StatusOut
from sso_core.models.connections import ConnectionStatus
from sso_core.models.errors import ConcurrentChange, DomainError
from sso_core.models.identity import Caller
from tests.support.sso_world import SsoWorld

pytestmark = pytest.mark.integration

THREADS = 10
ROUNDS = 3
OWNER = Caller(tenant_id="acme", email="owner@acme.example", role="owner")


def race(n: int, steps: int, action: Callable[[int, int], Any]) -> list[Any]:
    """``action(thread, step)`` in ``n`` threads released together; results or the domain errors raised."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        results = []
        for step in range(steps):
            try:
                results.append(action(i, step))
            except DomainError as exc:
                results.append(exc)
        return results

    with ThreadPoolExecutor(max_workers=n) as pool:
        return [r for rs in pool.map(run, range(n)) for r in rs]


def test_concurrent_toggles_never_leave_password_login_off_behind_a_disabled_connection(
    server_world: SsoWorld,
) -> None:
    world = server_world
    name = get_settings().table_name
    services = [KillSwitchService(get_settings(), Table(name)) for _ in range(THREADS)]

    def toggle(thread: int, step: int) -> Any:
        # Half the threads flip SSO, half flip password login; some switch off first, some on first.
        on = (step + thread // 2) % 2 == 1
        if thread % 2:
            return services[thread].set_connection_status(OWNER, world.connection_id, on)
        return services[thread].set_password_login(OWNER, world.domain, on)

    table = Table(name)
    log = AuditLog(table)
    changes = {"status": 0, "password": 0, "restored": 0}
    for _ in range(ROUNDS):
        results = race(THREADS, 4, toggle)
        for r in results:
            if isinstance(r, DomainError):
                # A race lost after every retry, or password off while SSO was just switched off: both fine.
                assert isinstance(r, ConcurrentChange | NoEnabledConnection), repr(r)
            elif isinstance(r, StatusOut):
                changes["status"] += r.message != "No change."
                changes["restored"] += len(r.password_login_restored)
            else:
                assert isinstance(r, PasswordLoginOut)
                changes["password"] += r.message != "No change."

        conn = ConnectionRepository(table).get(world.connection_id)
        claim = DomainRepository(table).get_claim(world.domain, "acme")
        assert conn is not None and claim is not None
        assert conn.status is ConnectionStatus.ENABLED or claim.password_login, "locked out: SSO off, password off"

        # The log was written in the same transactions: it agrees with the state and counts every change.
        entries = log.page("acme", limit=200).entries
        statuses = [e for e in entries if e.action in ("connection.enabled", "connection.disabled")]
        passwords = [e for e in entries if e.action == "domain.password_login_changed"]
        restores = [e for e in passwords if (e.after or {}).get("reason") == "connection_disabled"]
        assert statuses[0].after == {"status": conn.status.value}
        assert passwords == [] or passwords[0].after["password_login"] is claim.password_login
        assert len(statuses) == changes["status"] + 1  # + the setup's enable
        assert len(restores) == changes["restored"]
        assert len(passwords) - len(restores) == changes["password"]

    assert changes["status"] and changes["password"], "the race never changed anything"
    # Whatever the race left, the owner can still put everything back through the API.
    assert world.owner("PUT", f"/connections/{world.connection_id}/status", {"enabled": True}).status == 200
    assert world.owner("PUT", f"/domains/{world.domain}/password-login", {"enabled": False}).status == 200


# ---- the dangerous interleavings, one at a time (in-process moto, no threads) ------------------------


def after_first_call(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, meanwhile: Callable[[], Any]) -> list:
    """``owner.name`` runs ``meanwhile`` once, after its first read and before its caller writes."""
    original = getattr(owner, name)
    fired: list = []

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if not fired:
            fired.append(None)  # before running it: ``meanwhile`` may call this very method
            fired[0] = meanwhile()
        return result

    monkeypatch.setattr(owner, name, wrapper)
    return fired


def service() -> KillSwitchService:
    settings = get_settings()
    return KillSwitchService(settings, Table(settings.table_name))


def state(world: SsoWorld) -> tuple[str, bool]:
    conn = world.owner("GET", f"/connections/{world.connection_id}").json()["status"]
    return conn, world.owner("GET", f"/domains/{world.domain}").json()["password_login"]


def test_password_off_between_the_kill_switchs_read_and_write(
    proven: SsoWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    killer = service()
    fired = after_first_call(
        monkeypatch,
        killer.domain_repo,
        "get_claim",
        lambda: service().set_password_login(OWNER, proven.domain, False),
    )
    out = killer.set_connection_status(OWNER, proven.connection_id, False)
    assert fired and fired[0].password_login is False  # it did switch off in between
    assert out.password_login_restored == [proven.domain]  # the kill switch re-read and restored it
    assert state(proven) == ("disabled", True)


def test_kill_switch_between_the_password_guards_read_and_write(
    proven: SsoWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    switcher = service()
    fired = after_first_call(
        monkeypatch,
        switcher.conn_repo,
        "connection_for_domain",
        lambda: service().set_connection_status(OWNER, proven.connection_id, False),
    )
    with pytest.raises(NoEnabledConnection):
        switcher.set_password_login(OWNER, proven.domain, False)
    assert fired and fired[0].status is ConnectionStatus.DISABLED
    assert state(proven) == ("disabled", True)


def test_break_glass_owner_removed_between_the_password_guards_read_and_write(
    proven: SsoWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sso_core.dal.users import MembershipRepository
    from sso_core.logic.kill_switches import NoBreakGlassOwner
    from sso_core.logic.users import UserService

    boss = next(u for u in proven.owner("GET", "/users").json()["users"] if u["role"] == "owner")["id"]
    table = Table(get_settings().table_name)
    after_first_call(
        monkeypatch, MembershipRepository, "list_for_tenant", lambda: UserService(table).remove(OWNER, boss)
    )
    with pytest.raises(NoBreakGlassOwner):
        service().set_password_login(OWNER, proven.domain, False)
    assert state(proven) == ("enabled", True)


def test_password_off_between_an_owner_removals_read_and_write(
    proven: SsoWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sso_core.logic.users import UserService

    boss = next(u for u in proven.owner("GET", "/users").json()["users"] if u["role"] == "owner")["id"]
    users = UserService(Table(get_settings().table_name))
    after_first_call(
        monkeypatch, DomainRepository, "list_claims", lambda: service().set_password_login(OWNER, proven.domain, False)
    )
    with pytest.raises(ConcurrentChange):
        users.remove(OWNER, boss)
    assert state(proven) == ("enabled", False)
    assert any(u["id"] == boss for u in proven.owner("GET", "/users").json()["users"])  # still there


def test_the_kill_switch_wins_against_a_stream_of_logins(proven: SsoWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each successful login bumps the connection's version; switching off must not wait for a quiet moment."""
    killer = service()
    original = killer.read_connection
    logins = []

    def read_then_a_login_succeeds(caller: Caller, connection_id: str) -> Any:
        conn = original(caller, connection_id)
        logins.append(proven.login())  # a whole SSO login between the kill switch's read and its write
        return conn

    monkeypatch.setattr(killer, "read_connection", read_then_a_login_succeeds)
    out = killer.set_connection_status(OWNER, proven.connection_id, False)
    assert out.status is ConnectionStatus.DISABLED
    assert [r.status for r in logins] == [302]  # one read, one write: no retry was needed
    after = proven.owner("GET", f"/connections/{proven.connection_id}").json()
    assert after["status"] == "disabled" and after["idp"]["entity_id"] == proven.idp_entity_id
