"""The two dangerous interleavings of support's revocation and an owner's enabling, forced deterministically.

Each side reads, then commits a transaction whose conditions must catch what changed in between; without them a
tenant could end with SSO on and no access.
"""

from __future__ import annotations

from typing import Any

import pytest

from sso_core.config import get_settings
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.sso_access import EntitlementRepository
from sso_core.dal.table import Table
from sso_core.logic import kill_switches
from sso_core.logic.kill_switches import KillSwitchService
from sso_core.logic.sso_access import SsoAccessService
from sso_core.models.connections import ConnectionStatus
from sso_core.models.errors import ConcurrentChange
from sso_core.models.identity import Caller
from tests.support.sso_world import SsoWorld

pytestmark = pytest.mark.integration

OWNER = Caller(tenant_id="acme", email="owner@acme.example", role="owner")


@pytest.fixture
def ready_off(proven: SsoWorld) -> SsoWorld:
    """Access granted, connection switched off by its owner (IdP imported, can be enabled)."""
    assert proven.owner("PUT", f"/connections/{proven.connection_id}/status", {"enabled": False}).status == 200
    return proven


def test_enabling_that_read_access_before_the_revocation_cannot_commit_after_it(
    ready_off: SsoWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = Table(get_settings().table_name)
    # The owner's request read "granted" just before support revoked: replay that by skipping the read.
    monkeypatch.setattr(kill_switches, "require_sso_access", lambda *_: None)
    SsoAccessService(get_settings(), table).revoke("acme", "support@vendor.example")
    with pytest.raises(ConcurrentChange):
        KillSwitchService(get_settings(), table)._set_connection_status(OWNER, ready_off.connection_id, True)
    conn = ConnectionRepository(table).get(ready_off.connection_id)
    assert conn is not None and conn.status is ConnectionStatus.DISABLED


def test_revocation_that_read_a_connection_off_cannot_commit_once_it_is_on(
    ready_off: SsoWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = Table(get_settings().table_name)
    stale = ConnectionRepository(table).list_for_tenant("acme")  # read while the connection was off ...
    assert ready_off.enable().status == 200  # ... and the owner switched it on before the revocation commits

    def stale_list(self: Any, tenant_id: str) -> Any:
        return stale

    monkeypatch.setattr(ConnectionRepository, "list_for_tenant", stale_list)
    with pytest.raises(ConcurrentChange):
        SsoAccessService(get_settings(), table).revoke("acme", "support@vendor.example")
    entitlement = EntitlementRepository(table).get("acme")
    assert entitlement is not None and entitlement.granted  # nothing half-written
    monkeypatch.undo()
    # With fresh reads the revocation goes through and switches the connection off.
    out = SsoAccessService(get_settings(), table).revoke("acme", "support@vendor.example")
    assert out.connections_disabled == [ready_off.connection_id]
