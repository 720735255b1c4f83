"""Who is calling: a signed-in person of one tenant, with one role and the accounts they hold.

Identity and roles belong to the domain model, not to the HTTP edge: the JSON API, HTML pages, SCIM and scheduled
jobs all hand the logic a ``Caller``. How a caller is read from a request (JWT claims, a session) is the edge's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["member", "admin", "owner"]
ROLE_RANK: dict[str, int] = {"member": 0, "admin": 1, "owner": 2}


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    email: str
    role: str
    accounts: tuple[str, ...] = ()

    def at_least(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]
