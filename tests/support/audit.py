"""Reading a tenant's audit log through the API, every page of it."""

from __future__ import annotations

from typing import Any

from tests.support.sso_world import SsoWorld


def audit(world: SsoWorld, **query: Any) -> list[dict[str, Any]]:
    """Every audit entry of the world's tenant, newest first (all pages)."""
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = "limit=200" + (f"&cursor={cursor}" if cursor else "")
        resp = world.owner("GET", "/audit", query=params)
        assert resp.status == 200, resp.text
        body = resp.json()
        entries.extend(body["entries"])
        cursor = body["next_cursor"]
        if not cursor:
            return entries
